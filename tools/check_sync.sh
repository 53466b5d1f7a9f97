#!/usr/bin/env bash
# The library must be exactly what the notebooks export, and the notebooks must be clean (no outputs' counts).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
nbdev_export
nbdev_clean >/dev/null
changed=$(git status --porcelain -- dsnet nbs)
if [ -n "$changed" ]; then
  echo "[sync] FAILED: nbdev_export / nbdev_clean changed these files (run them and commit):"
  echo "$changed"; git --no-pager diff --stat -- dsnet nbs; exit 1
fi
python tools/make_readme.py --check
big=$(find nbs -name '*.ipynb' -size +400k)
[ -z "$big" ] || { echo "[sync] FAILED: notebooks over 400 KB (stored outputs?): $big"; exit 1; }
echo "[sync] dsnet/ is in sync with nbs/ and the notebooks are clean"
