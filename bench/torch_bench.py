"""PyTorch peer timings for the benchmark cases: torch.nn.functional.lp_pool1d
on |x| (PyTorch does not take |x| itself), forward and forward+backward, at
1 and 2 threads, min and median of 10 repetitions after a warm-up.

Writes JSON: {"<case>/threads:<t>": {"forward": {"min_ms", "median_ms"},
"forward_backward": {...}}}. Channels-last case (g) is passed as a strided
(N, C, L) view of NLC memory, as PyTorch users would.
"""
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F

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


def main(out_path):
    results = {}
    for name, c in CASES.items():
        dtype = c.get("dtype", torch.float32)
        if c.get("channels_last"):
            x = torch.rand(c["N"], c["L"], c["C"], dtype=dtype).mul_(4).sub_(2).abs_().transpose(1, 2)
        else:
            x = torch.rand(c["N"], c["C"], c["L"], dtype=dtype).mul_(4).sub_(2).abs_()
        x_grad = x.detach().clone().requires_grad_(True)
        for threads in (1, 2):
            torch.set_num_threads(threads)

            def forward():
                with torch.no_grad():
                    F.lp_pool1d(x, c["p"], c["K"], c["S"])

            def forward_backward():
                y = F.lp_pool1d(x_grad, c["p"], c["K"], c["S"])
                y.backward(torch.ones_like(y))
                x_grad.grad = None

            results[f"{name}/threads:{threads}"] = {"forward": timed(forward),
                                                    "forward_backward": timed(forward_backward)}
            print(name, threads, results[f"{name}/threads:{threads}"], flush=True)
    with open(out_path, "w") as f:
        json.dump({"torch_version": torch.__version__, "results": results}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
