# One task runner for people, CI and the Docker build. Needs only python3 (3.11+) and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ARGS   ?=

.DEFAULT_GOAL := help
.PHONY: help run demo test lint fmt typecheck pytest bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "newswatch needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Installs are stamped with the lock file, so editing the lock re-installs on the next make.
# The editable install also compiles the rule engine's C extensions into rules/ (when a C
# compiler is present), so editing their sources re-installs too.
$(VENV)/.runtime-installed: $(BIN)/python requirements/runtime.lock pyproject.toml rules/*.c rules/*.h
	$(BIN)/pip install -q --require-hashes -r requirements/runtime.lock
	$(BIN)/pip install -q --no-deps -e .
	@touch $@

$(VENV)/.dev-installed: $(VENV)/.runtime-installed requirements/dev.lock
	$(BIN)/pip install -q --require-hashes -r requirements/dev.lock
	@touch $@

run: $(VENV)/.runtime-installed ## run the bot (SQLite under ./data, console alerts without a token)
	$(BIN)/newswatch run $(ARGS)

demo: $(VENV)/.runtime-installed ## serve the seed articles as a local feed and print the alerts they raise
	$(BIN)/newswatch demo $(ARGS)

lint: $(VENV)/.dev-installed ## ruff (lint + format check) and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(VENV)/.dev-installed ## format and auto-fix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

pytest: $(VENV)/.dev-installed ## the test suite alone
	$(BIN)/python -m pytest $(ARGS)

test: lint pytest ## lint, type-check and run the whole test suite

bench: $(VENV)/.dev-installed ## run every benchmark and print its table
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean: ## remove the virtual environment and caches (keeps ./data)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis build rules/*.so
