#!/usr/bin/env python3
"""Summarizes an A/B run of lppool_bench (bench/check_tuned.sh).

Usage: ab_report.py NAME_A NAME_B DIR

DIR holds <name>_<round>.json from Google Benchmark, one process each, the
two builds' processes alternating. Per case and build it prints the min of
the processes' minima, the median of their medians and the range of their
medians: one process of either build can land in a slow mode (case (k) ran
7.1 ms in most processes and 10-11 ms in some, whichever build), so a single
pair of processes cannot tell two builds apart.
"""
import glob
import json
import os
import statistics
import sys


def load(directory, name):
    """{case: [(min, median) per process]} in ms."""
    per_case = {}
    for path in sorted(glob.glob(os.path.join(directory, f"{name}_*.json"))):
        with open(path) as f:
            runs = json.load(f)["benchmarks"]
        stats = {}
        for r in runs:
            if r.get("run_type") != "aggregate":
                continue
            scale = {"ms": 1.0, "us": 1e-3, "ns": 1e-6}[r["time_unit"]]
            stats.setdefault(r["run_name"], {})[r["aggregate_name"]] = r["real_time"] * scale
        for case, s in stats.items():
            per_case.setdefault(case, []).append((s["min"], s["median"]))
    return per_case


def fmt(ms):
    return f"{ms * 1e3:.2f} us" if ms < 0.1 else f"{ms:.3f}"


def main():
    name_a, name_b, directory = sys.argv[1:4]
    a, b = load(directory, name_a), load(directory, name_b)
    print(f"| case | {name_a} min | {name_a} median (range) | {name_b} min | "
          f"{name_b} median (range) | {name_b}/{name_a} |")
    print("|---|---|---|---|---|---|")
    for case in sorted(set(a) & set(b)):
        cells = []
        medians = []
        for runs in (a[case], b[case]):
            med = statistics.median(m for _, m in runs)
            lo, hi = min(m for _, m in runs), max(m for _, m in runs)
            cells += [fmt(min(mn for mn, _ in runs)), f"{fmt(med)} ({fmt(lo)}-{fmt(hi)})"]
            medians.append(med)
        label = case.split("/")[1]
        print(f"| {label} | {' | '.join(cells)} | {medians[1] / medians[0]:.3f} |")
    n = min(len(next(iter(a.values()), [])), len(next(iter(b.values()), [])))
    print(f"\n{n} processes per build, alternating; ms unless marked; each process: "
          "10 repetitions after a warm-up.")


if __name__ == "__main__":
    main()
