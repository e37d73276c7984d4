"""The folders depend on each other in one direction only (docs/kernels.md):

    common/                nothing of ours
    algorithm/             Halide, and algorithm/
    schedules/             Halide, algorithm/, schedules/
    generators/            Halide, algorithm/, schedules/, generators/
    runtime/               algorithm/power_cases.h, schedules/kernels.def and
                           schedules/dtypes.def (plain data), runtime/,
                           generated kernel headers, the Halide
                           runtime headers, DLPack; never Halide.h
    tools/tune/            all of the above and common/, never tests/ or bench/

Each quoted #include is resolved to the folder holding that file name;
one that breaks a rule fails the test, naming the file and the include.

    check_layers.py <source dir>
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1])
folders = ["common", "algorithm", "schedules", "generators", "runtime", "tools/tune", "tests", "bench"]
where = {}
for folder in folders:
    for f in (root / folder).glob("*"):
        if f.is_file():
            where.setdefault(f.name, folder)
halide_runtime = {"HalideRuntime.h", "HalideBuffer.h", "HalideRuntimeCuda.h", "HalideRuntimeOpenCL.h"}
allowed = {
    "common": set(),
    "algorithm": {"algorithm", "Halide.h"},
    "schedules": {"algorithm", "schedules", "Halide.h"},
    "generators": {"algorithm", "schedules", "generators", "Halide.h"},
    "runtime": {"runtime", "power_cases.h", "kernels.def", "dtypes.def", "generated", "halide_runtime",
                "external"},
    "tools/tune": {"algorithm", "schedules", "generators", "runtime", "common", "tools/tune",
                   "Halide.h", "halide_runtime", "external"},
}
include = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
problems = []
checked = 0
for folder, ok in allowed.items():
    for source in sorted((root / folder).glob("*")):
        if source.suffix not in {".h", ".cpp", ".def"}:
            continue
        for name in include.findall(source.read_text()):
            checked += 1
            base = pathlib.PurePath(name).name
            if "/" in name and name.split("/")[0] not in [f.split("/")[0] for f in folders]:
                kind = "external"  # a third-party header such as dlpack/dlpack.h
            elif base in ("Halide.h",):
                kind = "Halide.h"
            elif base in halide_runtime:
                kind = "halide_runtime"
            elif base in ("power_cases.h", "kernels.def", "dtypes.def") and folder == "runtime":
                kind = base
            elif base in where:
                kind = where[base]
            elif re.match(r"lppool1d_.*\.h$", base):
                kind = "generated"  # a kernel header written by the build
            else:
                kind = "unknown"
            if kind not in ok:
                problems.append(f"{source.relative_to(root)} includes \"{name}\" ({kind}), "
                                f"which {folder}/ may not depend on")
if checked < 20:
    problems.append(f"only {checked} includes found: is {root} the source tree?")
if problems:
    sys.exit("\n".join(problems))
print(f"check_layers: {checked} includes follow the layering")
