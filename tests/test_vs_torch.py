"""Forward matches PyTorch's lp_pool1d on |x| (non-ceil cases) to float32 tolerance.

PyTorch does not take |x| itself, so it is given |x|. Cases where PyTorch's
own result overflows (large p) are counted and reported, not compared: there
we are right and it is not (see test_numerics.cpp).
"""
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F


def run_tool(tool, x, p, k, s, ceil_mode):
    n, c, length = x.shape
    out = subprocess.run(
        [tool, repr(float(p)), str(k), str(s), str(int(ceil_mode)), str(n), str(c), str(length)],
        input=np.ascontiguousarray(x, dtype=np.float32).tobytes(),
        capture_output=True, check=True)
    y = np.frombuffer(out.stdout, dtype=np.float32)
    return y.reshape(n, c, -1)


def main(tool):
    rng = np.random.default_rng(2024)
    compared = skipped = 0
    for p in (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 7.0):
        for k in (1, 2, 3, 4, 7, 16):
            for s in (1, 2, k, k + 3):
                for length in (k, k + 1, k + s, 3 * k + 2 * s + 1, 257):
                    x = rng.uniform(-2, 2, size=(2, 3, length)).astype(np.float32)
                    ours = run_tool(tool, x, p, k, s, False)
                    theirs = F.lp_pool1d(torch.from_numpy(np.abs(x)).double(), p, k, s).numpy()
                    if not np.all(np.isfinite(theirs)):
                        skipped += 1
                        continue
                    if ours.shape != theirs.shape:
                        print(f"FAIL shape p={p} k={k} s={s} L={length}: {ours.shape} vs {theirs.shape}")
                        return 1
                    err = np.max(np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1e-30))
                    if err > 1e-5:
                        print(f"FAIL p={p} k={k} s={s} L={length}: max rel err {err:.3g}")
                        return 1
                    compared += 1
    print(f"{compared} passed, 0 failed (PyTorch overflowed in {skipped} cases, not compared)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
