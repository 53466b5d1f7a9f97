"""Write README.md from the markdown cells of nbs/index.ipynb (quarto, which nbdev_readme needs, is not available).
A line `<!-- include: PATH -->` in a cell is replaced by the file PATH (relative to the project), so that results
committed under figures/ appear in the README as they were regenerated, never retyped; a missing file is an error.
   python tools/make_readme.py          # write README.md
   python tools/make_readme.py --check  # exit 1 if README.md is out of date"""
import json
import re
import sys
from pathlib import Path

root = Path(__file__).resolve().parents[1]
cells = json.loads((root / "nbs" / "index.ipynb").read_text())["cells"]


def expand(text: str) -> str:
    def include(match: re.Match) -> str:
        path = root / match.group(1).strip()
        if not path.is_file():
            sys.exit(f"make_readme: {path} (included by nbs/index.ipynb) does not exist")
        return path.read_text().strip()
    return re.sub(r"<!-- include: (.+?) -->", include, text)


text = "\n\n".join(expand("".join(c["source"]).strip()) for c in cells if c["cell_type"] == "markdown") + "\n"
readme = root / "README.md"
if "--check" in sys.argv:
    if readme.read_text() != text:
        print("README.md is out of date with nbs/index.ipynb: run python tools/make_readme.py"); sys.exit(1)
else:
    readme.write_text(text)
