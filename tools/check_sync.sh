#!/usr/bin/env bash
# The library must be exactly what the notebooks export, the notebooks must be clean, and README.md must be what
# nbs/index.ipynb makes: running the generators must change no file.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
snapshot() { find dsnet nbs README.md -type f \( -name '*.py' -o -name '*.ipynb' -o -name '*.md' \) -not -path '*/.ipynb_checkpoints/*' \
               -not -path '*/__pycache__/*' | sort | xargs sha1sum; }
before=$(snapshot)
nbdev_export
python tools/wrap_modidx.py
nbdev_clean >/dev/null
python tools/make_readme.py
after=$(snapshot)
if [ "$before" != "$after" ]; then
  echo "[sync] FAILED: nbdev_export / nbdev_clean / tools/make_readme.py changed these files (run them and commit):"
  diff <(echo "$before") <(echo "$after") | grep '^[<>]' | awk '{print "  " $3}' | sort -u
  exit 1
fi
big=$(find nbs -name '*.ipynb' -size +400k)
[ -z "$big" ] || { echo "[sync] FAILED: notebooks over 400 KB (stored outputs?): $big"; exit 1; }
echo "[sync] dsnet/ and README.md are in sync with nbs/, and the notebooks are clean"
