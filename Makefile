# The two commands a new user needs: `make run` and `make test`.
# Each creates .venv itself; only Python 3.11+ and make are required.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ARGS   ?=

.PHONY: run test browser lint format openapi clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/python -m mockserver serve $(ARGS)

test: $(VENV)/.installed-test browser
	$(BIN)/python -m pytest $(ARGS)

# Debian's chromium for the dashboard tests, when missing and installable (never fails).
browser:
	@sh scripts/ensure-browser.sh

lint: $(VENV)/.installed-test
	$(BIN)/ruff check mockserver tests examples
	$(BIN)/ruff format --check mockserver tests examples

format: $(VENV)/.installed-test
	$(BIN)/ruff format mockserver tests examples
	$(BIN)/ruff check --fix mockserver tests examples

openapi: $(VENV)/.installed
	$(BIN)/python -m mockserver openapi > openapi.json

clean:
	rm -rf $(VENV) .altcraft-mock .pytest_cache .ruff_cache
