# zkperp: the two commands of the README are `make demo` and `make test`; each installs what it
# needs first (a Python virtual environment in .venv, the pinned Node tools in node_modules).
# Installation is stamped: it reruns only when pyproject.toml or package-lock.json change.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUFF := $(VENV)/bin/ruff
PIP_FLAGS := --disable-pip-version-check --no-input --quiet
NPM_FLAGS := --no-audit --no-fund --loglevel=error
PACKAGES := prover circuits rollup verifier_contract cli tests bench
PYTEST_ARGS ?=
DEMO_ARGS ?=

# Numba's on-disk JIT cache lives inside the checkout (ignored by git).
export NUMBA_CACHE_DIR := $(CURDIR)/.numba_cache
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install test bench demo lint format clean

help:
	@echo "make demo     install (first run only), then run the demo (zkperp demo)"
	@echo "make test     install (first run only), then run the test suite and ruff"
	@echo "make bench    install, then run the benchmarks (writes bench/out/latest.json)"
	@echo "make install  create .venv and node_modules (idempotent)"
	@echo "make lint     ruff check + ruff format --check"
	@echo "make format   ruff format + ruff check --fix"
	@echo "make clean    remove .venv, node_modules, caches and bench/out"

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python >= 3.11 needed)" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "error: Python >= 3.11 needed, found $$($(PYTHON) --version)" >&2; exit 1; }
	@[ -x $(PY) ] || { echo "creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "installing zkperp and its Python dependencies into $(VENV) (first run: a few minutes)"
	$(PY) -m pip install $(PIP_FLAGS) --upgrade pip
	$(PY) -m pip install $(PIP_FLAGS) -e '.[test]'
	@touch $@

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "error: npm not found (Node.js 20 needed)" >&2; exit 1; }
	@echo "installing the pinned Node tools (npm ci)"
	npm ci $(NPM_FLAGS)
	@touch $@

test: install
	@rc=0; $(PY) -m pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests: nothing was checked" >&2; fi; \
	[ $$rc -eq 0 ] || exit $$rc
	$(RUFF) check $(PACKAGES)

bench: install
	@mkdir -p bench/out
	$(PY) -m pytest bench --benchmark-json=bench/out/latest.json $(PYTEST_ARGS)

demo: install
	$(VENV)/bin/zkperp demo $(DEMO_ARGS)

lint: $(VENV)/.installed
	$(RUFF) check $(PACKAGES)
	$(RUFF) format --check $(PACKAGES)

format: $(VENV)/.installed
	$(RUFF) format $(PACKAGES)
	$(RUFF) check --fix $(PACKAGES)

clean:
	rm -rf $(VENV) node_modules .numba_cache .pytest_cache .hypothesis .ruff_cache .benchmarks \
		bench/out build dist *.egg-info
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
