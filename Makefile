# The two commands of the README:  make demo  and  make test.
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export MPLBACKEND := Agg
# the notebooks that make test also runs in JupyterLab + Chromium (every notebook: make test-browser, about 40 min)
CI_BROWSER_NOTEBOOKS ?= 000_core,00_softmask,01_trimaps,01a_label,03_phantoms,04_readers,04a_datasets,05_metrics,06_backbone,06a_drawing,07_srgan,07a_teacher,08_fusion,09_adversarial,index

.PHONY: setup demo test test-notebooks test-browser test-gpu bench clean-nbs

setup:
	bash tools/setup.sh

## The main job on the embedded default: Soft Masks for the sample nodules, and Figure 2.
demo: setup
	$(VENV)/bin/dsnet-softmask --demo data/generated/softmask-demo

# pytest processes for make test (one per core); each notebook or test file runs whole in one of them (--dist loadfile),
# and each process's torch takes one thread, so that two processes share the two cores instead of fighting over them
TEST_WORKERS ?= 2

## Library in sync with the notebooks, then every notebook run top to bottom (quick profile) and the tests.
test: setup
	bash tools/check_sync.sh
	DSNET_PROFILE=$${DSNET_PROFILE:-quick} DSNET_BROWSER_NOTEBOOKS=$${DSNET_BROWSER_NOTEBOOKS:-$(CI_BROWSER_NOTEBOOKS)} \
	  OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) -m pytest -p no:cacheprovider --nbval-lax --nbval-current-env \
	  -n $(TEST_WORKERS) --dist loadfile nbs tests -q --durations=15

## The browser tests alone (tests/browser: JupyterLab + the system Chromium; skipped with a message when it is missing).
## DSNET_BROWSER_NOTEBOOKS=all|none|names picks the notebooks of the every-notebook pass. make test runs them too.
test-browser: setup
	DSNET_PROFILE=$${DSNET_PROFILE:-quick} $(PY) -m pytest -p no:cacheprovider tests/browser -q

## What only a GPU can check, in one short call: training notebooks and tests on the GPU, a paper-width smoke run of
## every Table 3 row and bench/bench_train.py (tools/test_gpu.sh; skipped with a message where no GPU is visible).
test-gpu:
	bash tools/test_gpu.sh

bench: setup
	$(PY) bench/bench_softmask.py

clean-nbs:
	nbdev_export && $(PY) tools/wrap_modidx.py && nbdev_clean
