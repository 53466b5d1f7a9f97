#!/usr/bin/env bash
# Set up dsnet from a fresh clone: a virtual environment in .venv with the project and its dev tools.
# torch is installed first, pinned, when absent: an unpinned torch would pull several GB of CUDA packages.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${DSNET_VENV:-.venv}
TORCH_PIN=${DSNET_TORCH:-torch==2.13.0}
pipq() { "$VENV/bin/python" -m pip install --quiet --progress-bar off "$@" 2>&1 | grep -v "is ignored: it is neither" || true; }
if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV with $($PY --version)"
  "$PY" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
  echo "[setup] installing $TORCH_PIN"
  pipq "$TORCH_PIN"
fi
"$VENV/bin/python" -c "import torch" >/dev/null 2>&1 || { echo "[setup] torch did not install ($TORCH_PIN)"; exit 1; }
stamp="$VENV/.dsnet-installed"
if [ ! -f "$stamp" ] || [ setup.py -nt "$stamp" ] || [ settings.ini -nt "$stamp" ]; then
  echo "[setup] installing dsnet (editable) with its dev tools"
  pipq -e ".[dev,lidc]"
  touch "$stamp"
fi
"$VENV/bin/python" -m pip check >/dev/null || { "$VENV/bin/python" -m pip check; exit 1; }
echo "[setup] ready: $("$VENV/bin/python" -c 'import dsnet, torch; print("dsnet", dsnet.__version__, "torch", torch.__version__)')"
