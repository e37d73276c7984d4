#!/usr/bin/env python3
"""Lp pooling as a drop-in for max/average pooling in gradient-based training.

A small 1-D CNN learns to tell tone bursts from noise bursts (synthetic
audio, generated here). It is trained twice from the same seed and data:
once with PyTorch's torch.nn.LPPool1d (on |x|, since ours always takes |x|)
and once with lppool.LPPool1d. Prints both loss curves, the wall time the
pooling layers spent in forward+backward in each run, and saves a PNG.

    PYTHONPATH=build/python /usr/bin/python3 examples/train_audio_classifier.py \
        [--steps 200] [--out train_audio_classifier.png] [--check] [--bfloat16]

--check (used by the test) exits non-zero unless the two runs' losses agree
to 1e-3 relative at every step (5e-2 with --bfloat16) and the loss went down.
--bfloat16 trains both runs under torch.autocast("cpu", dtype=torch.bfloat16):
the convolutions then run in bfloat16, and so do the pooling layers.
"""
import argparse
import math
import time

import torch

import lppool

RATE = 8000
LENGTH = 2048  # samples per example (0.256 s)


def make_batch(n, generator):
    """Half tone bursts (class 0), half noise bursts (class 1), same envelope."""
    t = torch.arange(LENGTH, dtype=torch.float32) / RATE
    labels = torch.arange(n) % 2
    start = torch.randint(0, LENGTH // 2, (n,), generator=generator)
    width = torch.randint(LENGTH // 8, LENGTH // 2, (n,), generator=generator)
    idx = torch.arange(LENGTH)
    envelope = ((idx[None, :] >= start[:, None]) & (idx[None, :] < (start + width)[:, None])).float()
    freq = 200 + 1800 * torch.rand(n, 1, generator=generator)
    tone = torch.sin(2 * math.pi * freq * t[None, :])
    noise = torch.randn(n, LENGTH, generator=generator)
    burst = torch.where(labels[:, None] == 0, tone, noise * 0.7)
    background = 0.05 * torch.randn(n, LENGTH, generator=generator)
    return (envelope * burst + background)[:, None, :], labels


class TorchLpPoolOnAbs(torch.nn.Module):
    """PyTorch's LPPool1d on |x| (the semantics ours has built in)."""

    def __init__(self, p, k, s):
        super().__init__()
        self.pool = torch.nn.LPPool1d(p, k, s)

    def forward(self, x):
        return self.pool(x.abs())


class Timed(torch.nn.Module):
    """Accumulates the wall time of a module's forward and of its backward."""

    def __init__(self, inner, clock):
        super().__init__()
        self.inner, self.clock = inner, clock

    def forward(self, x):
        clock = self.clock

        class Mark(torch.autograd.Function):
            @staticmethod
            def forward(ctx, t):
                return t.view_as(t)

            @staticmethod
            def backward(ctx, g):  # runs after the pooling's own backward
                clock["seconds"] += time.perf_counter() - clock.pop("backward_start")
                return g

        class Start(torch.autograd.Function):
            @staticmethod
            def forward(ctx, t):
                return t.view_as(t)

            @staticmethod
            def backward(ctx, g):  # runs before the pooling's own backward
                clock["backward_start"] = time.perf_counter()
                return g

        start = time.perf_counter()
        y = self.inner(Mark.apply(x))
        clock["seconds"] += time.perf_counter() - start
        return Start.apply(y)


def make_model(pool_factory, clock):
    return torch.nn.Sequential(
        torch.nn.Conv1d(1, 16, 31, stride=2, padding=15),
        Timed(pool_factory(2.0, 4, 4), clock),
        torch.nn.Conv1d(16, 32, 15, padding=7),
        Timed(pool_factory(2.0, 8, 4), clock),
        torch.nn.Conv1d(32, 32, 7, padding=3),
        torch.nn.AdaptiveAvgPool1d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(32, 2),
    )


def train(pool_factory, steps, seed, bfloat16=False):
    torch.manual_seed(seed)
    clock = {"seconds": 0.0}
    model = make_model(pool_factory, clock)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    data = torch.Generator().manual_seed(seed + 1)
    losses = []
    for _ in range(steps):
        x, labels = make_batch(32, data)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
            loss = torch.nn.functional.cross_entropy(model(x), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, clock["seconds"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="train_audio_classifier.png")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--bfloat16", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)

    theirs, their_seconds = train(TorchLpPoolOnAbs, args.steps, args.seed, args.bfloat16)
    ours, our_seconds = train(lppool.LPPool1d, args.steps, args.seed, args.bfloat16)
    if args.bfloat16:
        print("under torch.autocast(\"cpu\", dtype=torch.bfloat16)")
    print("step  torch.nn.LPPool1d(|x|)  lppool.LPPool1d")
    for i in range(0, args.steps, max(1, args.steps // 10)):
        print(f"{i:4d}  {theirs[i]:22.6f}  {ours[i]:15.6f}")
    print(f"final {theirs[-1]:22.6f}  {ours[-1]:15.6f}")
    print(f"pooling layers, forward+backward over {args.steps} steps: torch {their_seconds * 1e3:.1f} ms, "
          f"lppool {our_seconds * 1e3:.1f} ms ({their_seconds / our_seconds:.1f}x)")

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.plot(theirs, label="torch.nn.LPPool1d on |x|")
        ax.plot(ours, "--", label="lppool.LPPool1d")
        ax.set_xlabel("step")
        ax.set_ylabel("cross-entropy loss")
        ax.set_title("tone vs noise bursts, same seed")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.out, dpi=100)
        print(f"plot: {args.out}")
    except ImportError:
        print("matplotlib not installed: no plot")

    if args.check:
        worst = max(abs(a - b) / max(abs(a), 1e-12) for a, b in zip(theirs, ours))
        print(f"largest relative loss difference: {worst:.2e}")
        if worst > (5e-2 if args.bfloat16 else 1e-3):
            raise SystemExit("FAILED: the two runs' losses differ")
        if not ours[-1] < ours[0]:
            raise SystemExit("FAILED: the loss did not go down")


if __name__ == "__main__":
    main()
