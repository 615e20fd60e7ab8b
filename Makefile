# Agora: `make demo` runs the main job end to end, `make test` runs the tests.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_VERSION := 2.13.0

# The stack's offline, one-BLAS-thread environment is set in code (data/environment.py) by every
# entry point: `agora`, the service, the tests and the bench scripts. Only `mlflow ui`, which is not
# ours, gets its telemetry switch here.

# Use the shared datasets folder as a mirror when it sits beside the checkout.
ifneq ($(wildcard ../shared/datasets),)
export AGORA_DATA_MIRROR ?= $(abspath ../shared/datasets)
endif

.PHONY: help install demo test test-unit lint format serve mlflow-ui bento bench-synthetic clean

help:
	@echo "make demo   - install, then run the main job end to end on the default datasets"
	@echo "make test   - install, then run every test (unit, model, integration)"
	@echo "make lint   - ruff lint and format check"
	@echo "make serve  - start the service on 127.0.0.1:3000 with the champion models (needs AGORA_API_KEYS)"
	@echo "make mlflow-ui - open the MLflow UI on the local store (http://127.0.0.1:5000)"
	@echo "make bench-synthetic - generate 20M synthetic interactions, report time and peak memory"

# Idempotent: reinstalls only when pyproject.toml changed since the last install.
install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned: a bare requirement would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==$(TORCH_VERSION)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -c "import torch; assert torch.__version__.startswith('$(TORCH_VERSION)'), torch.__version__"
	@touch $(STAMP)

demo: install
	$(BIN)/agora demo

# Tests run in pytest-xdist workers, one per core; each test module, and tests/serving as a whole,
# stays in one worker (tests/conftest.py). `make test PYTEST_WORKERS=0` runs them in one process.
PYTEST_WORKERS ?= auto
test: install
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS)

test-unit: install
	$(BIN)/python -m pytest -m "not integration and not slow"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

serve: install
	$(BIN)/agora serve

# The local store is sqlite under AGORA_HOME (~/.agora) unless MLFLOW_TRACKING_URI says otherwise.
MLFLOW_STORE = $(or $(MLFLOW_TRACKING_URI),sqlite:///$(or $(AGORA_HOME),$(HOME)/.agora)/mlflow.db)
mlflow-ui: install
	MLFLOW_DISABLE_TELEMETRY=true MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false \
		$(BIN)/mlflow ui --backend-store-uri $(MLFLOW_STORE) \
		--host 127.0.0.1 --port 5000

bento: install
	$(BIN)/agora bento build

bench-synthetic: install
	$(BIN)/python bench/synthetic_scale.py --interactions 20000000

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
