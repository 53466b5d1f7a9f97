"""Write README.md from the markdown cells of nbs/index.ipynb (quarto, which nbdev_readme needs, is not available).
   python tools/make_readme.py          # write README.md
   python tools/make_readme.py --check  # exit 1 if README.md is out of date"""
import json
import sys
from pathlib import Path

root = Path(__file__).resolve().parents[1]
cells = json.loads((root / "nbs" / "index.ipynb").read_text())["cells"]
text = "\n\n".join("".join(c["source"]).strip() for c in cells if c["cell_type"] == "markdown") + "\n"
readme = root / "README.md"
if "--check" in sys.argv:
    if readme.read_text() != text:
        print("README.md is out of date with nbs/index.ipynb: run python tools/make_readme.py"); sys.exit(1)
else:
    readme.write_text(text)
