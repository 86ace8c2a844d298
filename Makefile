# leadflow: `make demo` runs the nightly sync against the sandbox; `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

export PREFECT_SERVER_ANALYTICS_ENABLED ?= false

.PHONY: demo test lint lint-imports format install clean bench

demo: $(STAMP)
	$(BIN)/leadflow demo

test: $(STAMP)
	$(BIN)/pytest

lint: lint-imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The architecture contracts (.importlinter, docs/architecture.md).
lint-imports: $(STAMP)
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

install: $(STAMP)

# `make bench` (load paths, GX, the people layer and end to end at 100k and 1M, 5-6 h), `make bench BENCH_ARGS=--smoke` (5k, a minute).
BENCH_ARGS ?=
BENCH_STAMP := $(VENV)/.bench-stamp

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[bench]"
	touch $(BENCH_STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

clean:
	rm -rf $(VENV) .leadflow leadflow.db leadflow.db-wal leadflow.db-shm leadflow.db.*.lock
