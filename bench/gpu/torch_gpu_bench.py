"""PyTorch's lp_pool1d on the GPU for the benchmark cases, as the peer of
lppool_gpu_bench (same cases, inputs already in device memory, min and median
of 10 after a warm-up, each repetition synchronized so the time is the
kernel's, not the launch's). Prints a markdown table; bench/gpu/run.sh calls
it after our benchmark on the same machine.
"""
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from torch_bench import CASES, forward_and_backward  # noqa: E402

REPS = 10


def timed(fn):
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(REPS):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1e3)
    return min(times), statistics.median(times)


def device_input(c):
    dtype = c.get("dtype", torch.float32)
    shape = (c["N"], c["L"], c["C"]) if c.get("channels_last") else (c["N"], c["C"], c["L"])
    x = torch.rand(*shape, dtype=dtype, device="cuda").mul_(4).sub_(2).abs_()
    return x.transpose(1, 2) if c.get("channels_last") else x


def main():
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name()}")
    print("| case | forward min ms | forward median ms | fwd+bwd min ms | fwd+bwd median ms |")
    print("|---|---|---|---|---|")
    for name, c in CASES.items():
        x = device_input(c)
        x_grad = x.detach().clone().requires_grad_(True)
        pool = lambda t: F.lp_pool1d(t, c["p"], c["K"], c["S"])  # noqa: E731

        def forward():
            with torch.no_grad():
                pool(x)

        f_min, f_med = timed(forward)
        b_min, b_med = timed(forward_and_backward(pool, x_grad))
        print(f"| {name} | {f_min:.4f} | {f_med:.4f} | {b_min:.4f} | {b_med:.4f} |", flush=True)


if __name__ == "__main__":
    main()
