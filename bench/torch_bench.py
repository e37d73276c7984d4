"""PyTorch peer timings for the benchmark cases: torch.nn.functional.lp_pool1d
on |x| (PyTorch does not take |x| itself), forward and forward+backward, at
1 and 2 threads, min and median of 10 repetitions after a warm-up; and the
same calls through our Python module (lppool.lp_pool1d, when importable),
so the binding's overhead shows next to the C++ numbers.

Writes JSON: {"<case>/threads:<t>": {"forward": {"min_ms", "median_ms"},
"forward_backward": {...}, "python_forward": ..., "python_forward_backward":
...}}. Channels-last case (g) is passed as a strided (N, C, L) view of NLC
memory, as PyTorch users would. Thread counts run in increasing order:
Halide's pool cannot shrink once started.
"""
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F

try:
    import lppool
except ImportError:  # the extension was not built
    lppool = None

CASES = {
    "a": dict(N=32, C=64, L=16384, K=4, S=4, p=2.0),
    "b": dict(N=32, C=64, L=16384, K=4, S=4, p=1.0),
    "c": dict(N=32, C=64, L=16384, K=4, S=4, p=3.0),
    "d": dict(N=32, C=64, L=16384, K=4, S=4, p=2.5),
    "e": dict(N=32, C=64, L=16384, K=16, S=1, p=2.0),
    "f": dict(N=1, C=1, L=1 << 24, K=8, S=8, p=2.0),
    "g": dict(N=1, C=2, L=48000 * 60, K=1024, S=512, p=2.0, channels_last=True),
    "i": dict(N=32, C=64, L=16384, K=4, S=4, p=2.0, dtype=torch.float64),
    "j": dict(N=1, C=8, L=256, K=4, S=4, p=2.0),
    "k": dict(N=32, C=64, L=16384, K=4, S=4, p=2.0, channels_last=True),
    "a_f16": dict(N=32, C=64, L=16384, K=4, S=4, p=2.0, dtype=torch.float16),
    "a_bf16": dict(N=32, C=64, L=16384, K=4, S=4, p=2.0, dtype=torch.bfloat16),
    "nn": dict(N=32, C=64, L=256, K=4, S=4, p=2.0),
    "nn_s2": dict(N=32, C=64, L=256, K=4, S=2, p=2.0),
    "tiny": dict(N=1, C=1, L=8, K=2, S=2, p=2.0),
}
REPS = 10


def timed(fn):
    fn()
    times = []
    for _ in range(REPS):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return {"min_ms": min(times), "median_ms": statistics.median(times)}


def make_input(c):
    dtype = c.get("dtype", torch.float32)
    if c.get("channels_last"):
        return torch.rand(c["N"], c["L"], c["C"], dtype=dtype).mul_(4).sub_(2).abs_().transpose(1, 2)
    return torch.rand(c["N"], c["C"], c["L"], dtype=dtype).mul_(4).sub_(2).abs_()


def forward_and_backward(pool_fn, x_grad):
    def run():
        y = pool_fn(x_grad)
        y.backward(torch.ones_like(y))
        x_grad.grad = None
    return run


def main(out_path):
    results = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        if lppool is not None:
            lppool.set_num_threads(threads)
        for name, c in CASES.items():
            x = make_input(c)
            x_grad = x.detach().clone().requires_grad_(True)
            theirs = lambda t: F.lp_pool1d(t, c["p"], c["K"], c["S"])  # noqa: E731

            def forward():
                with torch.no_grad():
                    theirs(x)

            try:
                entry = {"forward": timed(forward),
                         "forward_backward": timed(forward_and_backward(theirs, x_grad))}
            except RuntimeError as e:  # a dtype PyTorch's CPU pooling lacks (float16 in 1.13)
                print(name, threads, "PyTorch cannot run it:", e, flush=True)
                entry = {}
            if lppool is not None:
                ours = lambda t: lppool.lp_pool1d(t, c["p"], c["K"], c["S"])  # noqa: E731

                def python_forward():
                    with torch.no_grad():
                        ours(x)

                entry["python_forward"] = timed(python_forward)
                entry["python_forward_backward"] = timed(forward_and_backward(ours, x_grad))
            results[f"{name}/threads:{threads}"] = entry
            print(name, threads, entry, flush=True)
    with open(out_path, "w") as f:
        json.dump({"torch_version": torch.__version__, "results": results}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
