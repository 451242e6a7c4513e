# Set-up and the two everyday commands. `make run` and `make test` install everything they need
# into .venv on first use (and again whenever pyproject.toml changes).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
TASK   ?= adding
MODEL  ?= lstm
# Real users download datasets; here the verified copies beside the repository are used when present.
export BENCH_DATA_DIR ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),)

.PHONY: install system-deps run test clean

install: $(VENV)/.installed

# The example plugin package (examples/benchbench-mingru) is installed into the dev venv as a user
# would install theirs, so the tests find its families and task through real entry points.
EXAMPLE := examples/benchbench-mingru

# torch first, so that the package's loose `torch>=2.4` requirement is already met:
# with no NVIDIA GPU the CPU build (torch==2.13.0, a local wheel on these machines), never CUDA.
$(VENV)/.installed: pyproject.toml $(EXAMPLE)/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || \
	  if nvidia-smi -L >/dev/null 2>&1; then $(BIN)/pip install "torch>=2.13"; \
	  else $(BIN)/pip install "torch==2.13.0"; fi
	$(BIN)/pip install -e '.[dev]'
	$(BIN)/python -c "import setuptools" 2>/dev/null || $(BIN)/pip install "setuptools>=64"
	$(BIN)/pip install --no-deps --no-build-isolation -e $(EXAMPLE)
	touch $@

run: install
	$(BIN)/bench run --task $(TASK) --model $(MODEL)

# PostgreSQL and Chromium for the worker and report tests (Debian packages, only when missing).
system-deps:
	scripts/system-deps

test: install system-deps
	$(BIN)/python -m pytest -n 2

clean:
	rm -rf $(VENV)
