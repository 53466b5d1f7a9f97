#!/usr/bin/env bash
# make test-gpu: what only a GPU can check, in one short call (under 8 minutes on one H200):
#   1. the training notebooks and tests on the GPU (bf16 autocast, channels-last, pinned loaders; quick profile);
#   2. a paper-width smoke run of each Table 3 row (20 steps; a small SR teacher so that it fits the time);
#   3. bench/bench_train.py at the quick and paper widths (figures/bench_train_cuda.csv).
# Skipped, with a message, where no CUDA GPU is visible. Logs and results go to ${DSNET_GPU_OUT:-runs/gpu}.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${DSNET_GPU_PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  echo "[test-gpu] no CUDA GPU visible to $PY (torch $("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null || echo missing)): skipped"
  exit 0
fi
OUT=${DSNET_GPU_OUT:-runs/gpu}; mkdir -p "$OUT"
export DSNET_PROFILE=quick MPLBACKEND=Agg PYTHONUNBUFFERED=1
"$PY" -c "import dsnet" 2>/dev/null || "$PY" -m pip install -q --no-deps -e . || exit 1
"$PY" -c "import torch; print('[test-gpu]', torch.cuda.get_device_name(0), 'torch', torch.__version__)"
status=0
start=$(date +%s)
echo "[test-gpu] 1/3 training notebooks and tests on the GPU"
timeout 240 "$PY" -m pytest -p no:cacheprovider -q --nbval-lax --nbval-current-env nbs/10a_train_config.ipynb nbs/10b_train_data.ipynb \
  nbs/10c_inference.ipynb nbs/11_train.ipynb nbs/11a_predict.ipynb tests/test_train_cli.py -k "not ddp" 2>&1 | tee "$OUT/pytest.log" | tail -5 || status=1
echo "[test-gpu] 2/3 paper-width smoke run of every Table 3 row"
for row in unet backbone sr-input edrfm sdrfm soft-loss dsnet; do
  timeout 60 "$PY" -c "import sys; from dsnet.training.cli import main; sys.exit(main())" --data lnsm-synthetic --model "$row" --profile paper --epochs 1 --quiet --out "$OUT/smoke/$row" \
    --set train_steps=20 --set n_items=200 --set sr_steps=100 --set sr_hr_size=128 --set sr_train_images=64 \
    2>&1 | tee -a "$OUT/smoke.log" | tail -1 || status=1
done
echo "[test-gpu] 3/3 bench/bench_train.py"
timeout 150 "$PY" bench/bench_train.py --profiles quick,paper --repeats 5 --out "$OUT/bench_train_cuda.csv" 2>&1 | tee "$OUT/bench_train.log" | tail -20 || status=1
[ -f "$OUT/bench_train_cuda.csv" ] && cp "$OUT/bench_train_cuda.csv" figures/bench_train_cuda.csv
echo "[test-gpu] done in $(( $(date +%s) - start )) s, status $status (logs in $OUT)"
exit $status
