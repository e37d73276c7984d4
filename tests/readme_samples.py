"""Every code sample the README quotes from an example file must still be a
verbatim part of that file: the README says "from `path`:" before the block.

    readme_samples.py <source dir>
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1])
readme = (root / "README.md").read_text()
pattern = re.compile(r"from\s+`(examples/[^`]+)`:\s*\n\s*\n(\s*)```[a-z+]*\n(.*?)\n\s*```", re.S)
checked = 0
for path, indent, block in pattern.findall(readme):
    source = (root / path).read_text()
    lines = [line[len(indent):] if line.startswith(indent) else line for line in block.split("\n")]
    if "\n".join(lines) not in source:
        sys.exit(f"README sample quoted from {path} is no longer in that file:\n" + "\n".join(lines))
    checked += 1
if checked < 4:
    sys.exit(f"expected at least 4 quoted samples, found {checked}")
print(f"readme_samples: {checked} samples match their example files")
