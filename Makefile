# `make test` and `make demo` each create or refresh .venv and install what they need.
# torch is pinned and installed first: on CPU-only machines that takes the local CPU wheel
# instead of letting a dependency pull a multi-GB CUDA build.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_SPEC ?= torch==2.13.0
export HF_HUB_OFFLINE ?= 1
export HF_HUB_DISABLE_TELEMETRY = 1
export TOKENIZERS_PARALLELISM = false

.PHONY: install test test-all demo lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[test,cluster]"
	touch $@

install: $(VENV)/.installed

# Two workers, one test module (or class) each at a time, so module fixtures are built once; handed out in collection
# order, where tests/conftest.py puts the longest modules first (BENCHMARKS.md "Test suite").
test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n 2 --dist loadscope --no-loadscope-reorder

test-all: install
	$(BIN)/python -m pytest -q -m ""

demo: install
	$(BIN)/ego2exo demo --scale demo --output_dir runs/demo

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) runs build *.egg-info
