"""Joins Google Benchmark's JSON (lppool_bench) with PyTorch's timings
(torch_bench.py) into bench/RESULTS.md and the plots.

Roofline: the best read bandwidth of a vectorized parallel read-only
reduction over a 256 MiB buffer (larger than the last-level cache), probed
beside every case in the same run, applied to the bytes the case moves.
"% roof" = roofline time / our time; "/copy" = our time / the time a plain
copy at the best copy bandwidth takes for the same bytes; "/floor" = our
time / the case's own bytes moved by a hand-written copy without the
arithmetic (bench/plain_loops.h).

    report.py BENCH_JSON[,BENCH_JSON...] TORCH_JSON OUT_DIR COMMIT
"""
import datetime
import json
import platform
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

CASE_TEXT = {
    "a": "N=32 C=64 L=16384 K=4 S=4 p=2",
    "b": "(a) with p=1",
    "c": "(a) with p=3",
    "d": "(a) with p=2.5",
    "e": "N=32 C=64 L=16384 K=16 S=1 p=2",
    "f": "N=1 C=1 L=2^24 K=8 p=2",
    "g": "stereo NLC 1x2x2.88M K=1024 S=512 p=2",
    "h_a": "backward of (a)",
    "h_d": "backward of (d)",
    "h_e": "backward of (e)",
    "i": "(a) in float64",
    "j": "N=1 C=8 L=256 K=4 p=2",
    "k": "(a) channels-last (NLC memory)",
    "a_f16": "(a) in float16 (half the bytes)",
    "a_bf16": "(a) in bfloat16 (half the bytes)",
    "h_a_bf16": "backward of (a) in bfloat16",
    "nn": "N=32 C=64 L=256 K=4 p=2 (a network's activations)",
    "nn_s2": "(nn) with S=2: overlapping windows, 127 per row",
    "tiny": "N=1 C=1 L=8 K=2 p=2 (per-call overhead)",
}
THREADS = (1, 2)


def load_bench(paths):
    """{(kind, case, threads): {"min": ms, "median": ms, counters...}} from
    comma-separated Google Benchmark JSON files."""
    out = {}
    context = {}
    benchmarks = []
    for path in paths.split(","):
        with open(path) as f:
            data = json.load(f)
        context = data.get("context", context)
        benchmarks += data["benchmarks"]
    for b in benchmarks:
        name = b["run_name"] if "run_name" in b else b["name"]
        parts = name.split("/")
        if b.get("run_type") != "aggregate" or len(parts) < 2:
            continue
        kind, case = parts[0], parts[1]
        threads = next((int(p.split(":")[1]) for p in parts if p.startswith("threads:")), 1)
        entry = out.setdefault((kind, case, threads), {})
        value = b["real_time"]
        if b["time_unit"] == "ns":
            value /= 1e6
        elif b["time_unit"] == "us":
            value /= 1e3
        entry[b["aggregate_name"]] = value
        for key in ("bytes", "probe_bytes", "elements"):
            if key in b:
                entry[key] = b[key]
    return context, out


def fmt_gbs(v):
    return "—" if v is None else f"{v:.1f}"


def fmt_ms(v):
    return "—" if v is None else (f"{v:.3f}" if v < 10 else f"{v:.1f}")


def main(bench_json, torch_json, out_dir, commit):
    context, bench = load_bench(bench_json)
    with open(torch_json) as f:
        torch_data = json.load(f)
    torch_results = torch_data["results"]

    def get(kind, case, threads):
        return bench.get((kind, case, threads))

    def best_gbs(kind, threads):
        """min / median / max GB/s of the probes of one kind at one thread count."""
        values = sorted(v["probe_bytes"] / (v["min"] / 1e3) / 1e9
                        for (k, case, t), v in bench.items() if k == kind and t == threads)
        return (values[0], values[len(values) // 2], values[-1]) if values else None

    roof = {t: best_gbs("roofline_read", t) for t in THREADS}
    copy_bw = {t: best_gbs("copy", t) for t in THREADS}

    rows = []
    for case in CASE_TEXT:
        for threads in THREADS:
            ours = get("ours", case, threads)
            if not ours or not roof[threads]:
                continue
            read_gbs = roof[threads][2]
            roof_ms = ours["bytes"] / (read_gbs * 1e9) * 1e3
            copy_ms = ours["bytes"] / (copy_bw[threads][2] * 1e9) * 1e3 if copy_bw[threads] else None
            plain = get("plain", case, threads)
            floor = get("floor", case, threads)
            adams = get("adams2019", case, threads)
            torch_key = f"{case.replace('h_', '')}/threads:{threads}"
            torch_entry = torch_results.get(torch_key)
            # For (h), our backward alone against PyTorch's forward+backward.
            torch_ms = None
            torch_kind = "forward_backward" if case.startswith("h_") else "forward"
            if torch_entry and torch_kind in torch_entry:  # absent: PyTorch cannot run the dtype
                torch_ms = torch_entry[torch_kind]["min_ms"]
            rows.append(dict(case=case, threads=threads, ours=ours, roof_ms=roof_ms, copy_ms=copy_ms,
                             floor=floor, plain=plain, adams=adams, torch_ms=torch_ms))

    lines = []
    lines.append("# LPPool1d benchmark results\n")
    lines.append(f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
    lines.append(f"- Commit: {commit}")
    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                         capture_output=True, text=True).stdout.strip()
    lines.append(f"- Machine: {cpu}, {context.get('num_cpus', '?')} CPUs, {platform.platform()}")
    lines.append(f"- PyTorch {torch_data['torch_version']} (Debian python3-torch), lp_pool1d on |x|; "
                 "Halide 14 Adams2019 with its built-in baseline weights")
    lines.append("- Times in ms: min of 10 repetitions after a warm-up (median in the column "
                 "`ours med`). Roofline = bytes moved / the best read bandwidth of the probes "
                 "(a vectorized parallel read-only reduction over 256 MiB, run beside every case).")
    for t in THREADS:
        if roof[t] and copy_bw[t]:
            lines.append(f"- {t} thread(s): read probe {roof[t][2]:.1f} GB/s best "
                         f"(median {roof[t][1]:.1f}, worst {roof[t][0]:.1f}); copy probe "
                         f"{copy_bw[t][2]:.1f} GB/s best (median {copy_bw[t][1]:.1f}, worst {copy_bw[t][0]:.1f}).")
    lines.append("- Speed-ups are peer time / our time at the same thread count. `plain C++` is the "
                 "loop a performance-minded user writes (OpenMP over rows, `omp simd`, -O3 "
                 "-march=native, p = 1 and 2 written out, std::pow otherwise; no overflow rescue). "
                 "`/copy`: our time over a copy of the same bytes at the copy probe's bandwidth; "
                 "`/floor`: our time over a hand-written copy of this case's own bytes without the "
                 "arithmetic (forward y[j] = |x[jS]|, backward dx[i] = x[i] dy[i/S]). For (h) the "
                 "PyTorch column is forward+backward.\n")
    lines.append("| case | what | thr | ours min | ours med | GB/s | % roof | /copy | floor | /floor "
                 "| PyTorch | ×PyTorch | plain C++ | ×plain | Adams2019 | ×Adams |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        o = r["ours"]
        gbs = o["bytes"] / (o["min"] / 1e3) / 1e9
        plain_ms = r["plain"]["min"] if r["plain"] else None
        floor_ms = r["floor"]["min"] if r["floor"] else None
        adams_ms = r["adams"]["min"] if r["adams"] else None
        ratio = lambda peer: "—" if peer is None else f"{peer / o['min']:.1f}×"  # noqa: E731
        over = lambda base: "—" if base is None else f"{o['min'] / base:.2f}"  # noqa: E731
        lines.append(
            f"| {r['case']} | {CASE_TEXT[r['case']]} | {r['threads']} | {fmt_ms(o['min'])} | "
            f"{fmt_ms(o['median'])} | {gbs:.1f} | {100 * r['roof_ms'] / o['min']:.0f}% | "
            f"{over(r['copy_ms'])} | {fmt_ms(floor_ms)} | {over(floor_ms)} | "
            f"{fmt_ms(r['torch_ms'])} | {ratio(r['torch_ms'])} | "
            f"{fmt_ms(plain_ms)} | {ratio(plain_ms)} | {fmt_ms(adams_ms)} | {ratio(adams_ms)} |")

    validation = bench.get(("validation", "j", 1))
    if validation:
        lines.append(f"\nRuntime wrapper validation (shape checks, no kernel): "
                     f"{validation['min'] * 1e6:.0f} ns min, {validation['median'] * 1e6:.0f} ns median.")
    lines.append("\nMullapudi2016 and Li2018 stop with Halide-internal assertion failures when applied "
                 "to this algorithm (Halide 14.0.0), so they have no column; see bench/README.md.")

    # The Python binding: our module vs PyTorch, both called from Python.
    python_rows = []
    for case in CASE_TEXT:
        for threads in THREADS:
            entry = torch_results.get(f"{case}/threads:{threads}")
            ours = get("ours", case, threads)
            if entry and "python_forward" in entry and ours:
                python_rows.append((case, threads, entry, ours))
    if python_rows:
        lines.append("\n## From Python: lppool.lp_pool1d vs torch.nn.functional.lp_pool1d\n")
        lines.append("Both called from Python on the same tensor (ms, min of 10). `C++` is our "
                     "kernel called from C++ (the table above): the difference is the binding's "
                     "overhead (DLPack capsules, output allocation, autograd).\n")
        lines.append("| case | thr | C++ fwd | lppool fwd | torch fwd | ×torch | lppool fwd+bwd "
                     "| torch fwd+bwd | ×torch |")
        lines.append("|---|---|---|---|---|---|---|---|---|")
        for case, threads, e, ours in python_rows:
            pf, pfb = e["python_forward"]["min_ms"], e["python_forward_backward"]["min_ms"]
            # PyTorch's timings are absent where its CPU pooling lacks the dtype.
            tf = e["forward"]["min_ms"] if "forward" in e else None
            tfb = e["forward_backward"]["min_ms"] if "forward_backward" in e else None
            speedup = (lambda t, o: "—" if t is None else f"{t / o:.1f}×")
            lines.append(f"| {case} | {threads} | {fmt_ms(ours['min'])} | {fmt_ms(pf)} | {fmt_ms(tf)} | "
                         f"{speedup(tf, pf)} | {fmt_ms(pfb)} | {fmt_ms(tfb)} | {speedup(tfb, pfb)} |")
        for case, threads, e, ours in python_rows:
            if case == "tiny":
                overhead_us = (e["python_forward"]["min_ms"] - ours["min"]) * 1e3
                lines.append(f"\nPer-call overhead of the Python module ({threads} thread(s)): "
                             f"{overhead_us:.1f} µs (lppool.lp_pool1d forward on (tiny) minus the "
                             f"C++ call's {ours['min'] * 1e3:.1f} µs).")

    # Size sweep and K scan.
    sweep = sorted((int(case), v) for (kind, case, t), v in bench.items() if kind == "sweep")
    kscan = sorted((int(case), v) for (kind, case, t), v in bench.items() if kind == "kscan")
    if sweep:
        lines.append("\n## Size sweep (K = S = 4, p = 2, 2 threads)\n")
        lines.append("| input elements | input bytes | min ms | GB/s | ns per element |")
        lines.append("|---|---|---|---|---|")
        for elems, v in sweep:
            lines.append(f"| {elems} | {elems * 4} | {v['min']:.4f} | {v['bytes'] / (v['min'] / 1e3) / 1e9:.1f} | "
                         f"{v['min'] * 1e6 / elems:.3f} |")
    if kscan:
        lines.append("\n## K scan at S = K (N=32 C=64 L=16384, p = 2, 2 threads)\n")
        lines.append("| K | min ms | GB/s |")
        lines.append("|---|---|---|")
        for k, v in kscan:
            lines.append(f"| {k} | {v['min']:.2f} | {v['bytes'] / (v['min'] / 1e3) / 1e9:.1f} |")
    lines.append("\n![roofline](roofline.png)\n\n![sweep](sweep.png)\n")
    with open(f"{out_dir}/RESULTS.md", "w") as f:
        f.write("\n".join(lines) + "\n")

    # Plot 1: % of roofline per case, ours and peers, 2 threads.
    two = [r for r in rows if r["threads"] == 2]
    labels = [r["case"] for r in two]
    series = {
        "LPPool1d": [100 * r["roof_ms"] / r["ours"]["min"] for r in two],
        "PyTorch": [100 * r["roof_ms"] / r["torch_ms"] if r["torch_ms"] else 0 for r in two],
        "plain C++": [100 * r["roof_ms"] / r["plain"]["min"] if r["plain"] else 0 for r in two],
        "Adams2019": [100 * r["roof_ms"] / r["adams"]["min"] if r["adams"] else 0 for r in two],
    }
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.2
    for i, (name, values) in enumerate(series.items()):
        ax.bar([x + (i - 1.5) * width for x in range(len(labels))], values, width, label=name)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels)
    ax.set_ylabel("% of roofline (higher is better)")
    ax.set_title("LPPool1d vs peers, 2 threads, % of measured read-bandwidth roofline")
    ax.axhline(100, color="gray", linewidth=0.8)
    ax.legend()
    fig.tight_layout()
    fig.savefig(f"{out_dir}/roofline.png", dpi=110)

    if sweep:
        fig, ax1 = plt.subplots(figsize=(9, 4.5))
        xs = [e * 4 for e, _ in sweep]
        ax1.semilogx(xs, [v["bytes"] / (v["min"] / 1e3) / 1e9 for _, v in sweep], "o-", label="GB/s")
        ax1.set_xlabel("input bytes")
        ax1.set_ylabel("GB/s")
        ax2 = ax1.twinx()
        ax2.semilogx(xs, [v["min"] * 1e6 / e for e, v in sweep], "s--", color="tab:red", label="ns/element")
        ax2.set_ylabel("ns per input element")
        ax1.set_title("Size sweep: K = S = 4, p = 2, 2 threads")
        fig.legend(loc="upper right")
        fig.tight_layout()
        fig.savefig(f"{out_dir}/sweep.png", dpi=110)


if __name__ == "__main__":
    main(*sys.argv[1:5])
