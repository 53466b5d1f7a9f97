# The two commands of the README:  make demo  and  make test.
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export MPLBACKEND := Agg

.PHONY: setup demo test test-notebooks bench clean-nbs

setup:
	bash tools/setup.sh

## The main job on the embedded default: Soft Masks for the sample nodules, and Figure 2.
demo: setup
	$(VENV)/bin/dsnet-softmask --demo data/generated/softmask-demo

## Library in sync with the notebooks, then every notebook run top to bottom (quick profile) and the tests.
test: setup
	bash tools/check_sync.sh
	DSNET_PROFILE=$${DSNET_PROFILE:-quick} $(PY) -m pytest -p no:cacheprovider --nbval-lax --nbval-current-env nbs tests -q

bench: setup
	$(PY) bench/bench_softmask.py

clean-nbs:
	nbdev_export && nbdev_clean
