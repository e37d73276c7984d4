"""The README, docs/ and the folders' READMEs point only at what exists:

- every code sample quoted from an example file (the text says
  "from `path`:" before the block) is still a verbatim part of that file;
- every relative Markdown link, and every repository path written in
  backquotes (`bench/README.md`, `runtime/block_cache.*`), names a file or
  folder of this repository;
- every document a source file cites (`docs/semantics.md`) is one.

    readme_samples.py <source dir>
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1])
documents = [root / "README.md"] + sorted((root / "docs").glob("*.md")) + [
    root / p for p in ("bench/README.md", "tools/tune/README.md", "schedules/tuned/README.md")]
sample = re.compile(r"from\s+`(examples/[^`]+)`:\s*\n\s*\n(\s*)```[a-z+]*\n(.*?)\n\s*```", re.S)
link = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
# A backquoted path: starts with one of the repository's top-level folders.
top_level = "|".join(sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")))
quoted_path = re.compile(r"`((?:%s)/[A-Za-z0-9_./*-]*)`" % top_level)
# Generated or installed, not in the source tree.
not_in_tree = ("build/", "build-", "include/lppool/", "lib/")

problems = []
samples = 0
for doc in documents:
    text = doc.read_text()
    name = doc.relative_to(root)
    for path, indent, block in sample.findall(text):
        source = (root / path).read_text()
        lines = [line[len(indent):] if line.startswith(indent) else line for line in block.split("\n")]
        if "\n".join(lines) not in source:
            problems.append(f"{name}: sample quoted from {path} is no longer in that file:\n" + "\n".join(lines))
        samples += 1
    for target in link.findall(text):
        if re.match(r"[a-z]+:", target):
            continue
        if not (doc.parent / target).exists():
            problems.append(f"{name}: links to {target}, which does not exist")
    for path in quoted_path.findall(text):
        if path.startswith(not_in_tree):
            continue
        path = path.rstrip("./")
        if not (list(root.glob(path)) if "*" in path else (root / path).exists()):
            problems.append(f"{name}: names `{path}`, which does not exist")
# Sources cite documents by path: each must be a file of this repository.
cited = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.md)\b")
source_suffixes = {".h", ".cpp", ".c", ".py", ".sh", ".cmake", ".def", ".txt"}
for folder in ("generators", "schedules", "runtime", "tools", "tests", "bench", "fuzz", "examples",
               "python", "cmake", "scripts", ".ci"):
    for source in sorted((root / folder).rglob("*")):
        if not source.is_file() or (source.suffix not in source_suffixes and source.parent.name != ".ci"):
            continue
        for path in cited.findall(source.read_text(errors="replace")):
            if not ((root / path).exists() or (source.parent / path).exists()):
                problems.append(f"{source.relative_to(root)} cites {path}, which is not in the repository")
if samples < 4:
    problems.append(f"expected at least 4 quoted samples, found {samples}")
if problems:
    sys.exit("\n".join(problems))
print(f"readme_samples: {len(documents)} documents, {samples} samples match their example files, every path exists")
