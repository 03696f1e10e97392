# The two commands a new user needs: `make run` and `make test`.
# Each creates .venv itself; only Python 3.11+ and make are required.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ARGS   ?=
# The suite runs in four pytest-xdist workers on this kind of 2-core machine: many of
# its tests wait (on server processes, sockets, timeouts) rather than compute, and a
# worker that is free takes tests queued for a busy one (worksteal). `make test
# JOBS=0` runs it in one process.
JOBS   ?= 4
XDIST   = -p xdist -n $(JOBS) $(if $(filter 0,$(JOBS)),,--dist worksteal)

# `make bench` measures the wheel `pip install .` builds (its import core compiled by
# mypyc where the machine has a C compiler, hatch_build.py), unpacked here with its
# bytecode as pip writes it; rebuilt when a source changes. The sources' bytecode too:
# the import rows are measured on them as well (pure Python, as an editable install).
BUILT := .altcraft-mock/wheel-build

.PHONY: run test test-sources test-compiled test-fast image-test bench browser lint format openapi dist clean

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

$(BUILT)/.built: pyproject.toml hatch_build.py $(shell find mockserver schemas fixtures -type f -not -path '*/__pycache__/*' 2>/dev/null) | $(BIN)/python
	rm -rf $(BUILT) && mkdir -p $(BUILT)
	$(BIN)/python -m pip wheel --quiet --no-deps . -w $(BUILT)/wheel
	$(BIN)/python -m pip install --quiet --no-deps --target $(BUILT)/site $(BUILT)/wheel/*.whl
	@touch $@

run: $(VENV)/.installed
	$(BIN)/python -m mockserver serve $(ARGS)

# Without ARGS: the whole suite on the sources while the wheel is built (the build
# mostly waits on the C compiler, the suite on its processes), then test-compiled.
test: $(VENV)/.installed-test browser
ifeq ($(ARGS),)
	@$(MAKE) --no-print-directory -j2 test-sources $(BUILT)/.built
	@$(MAKE) --no-print-directory test-compiled
else
	$(BIN)/python -m pytest $(XDIST) $(ARGS)
endif

test-sources: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(XDIST)

# The same code as the wheel builds it, its import core compiled by mypyc (BUILT,
# above): the tests that run the import core, in process and in a server process
# (its store, restarts and kills), and the control tests that reach compiled code
# the others do not (a reset's store write, a saved `fail_task` plan). `make test`
# runs this pass after the whole suite.
COMPILED_TESTS := tests/unit tests/api tests/e2e/test_process.py \
	tests/reliability/test_hot_path_state.py tests/reliability/test_crash.py \
	tests/control/test_reset_and_fixtures.py tests/control/test_faults.py
# PYTHONSAFEPATH: the working folder's sources are not put ahead of the build.
test-compiled: $(VENV)/.installed-test $(BUILT)/.built
	@if ! ls $(BUILT)/site/*__mypyc* >/dev/null 2>&1; then \
		if command -v cc >/dev/null; then echo "test-compiled: a C compiler is here but mypyc built nothing (pip wheel -v . says why)"; exit 1; fi; \
		echo "test-compiled: no C compiler here: the wheel is pure Python, tested as such"; fi
	PYTHONSAFEPATH=1 PYTHONPATH=$(BUILT)/site $(BIN)/python -m pytest $(XDIST) $(COMPILED_TESTS) $(ARGS)

# The quick loop: everything but the tests marked `slow` (processes, the browser,
# fuzzing, big loads); `make test` runs them all.
test-fast: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(XDIST) -m "not slow" $(ARGS)

# The Docker image built and run for real (tests/image): installs Debian's docker.io,
# debootstrap and docker-compose when missing, starts dockerd when no daemon answers
# (and stops the one it started), makes a stand-in base from Debian's packages when
# python:3.11-slim cannot be pulled. Without a daemon the tests skip and say why.
image-test: $(VENV)/.installed-test
	@sh scripts/ensure-docker.sh
	IMAGE_TESTS_START_DOCKERD=1 $(BIN)/python -m pytest -p xdist -n 0 -rs tests/image $(ARGS)

bench: $(VENV)/.installed-test $(BUILT)/.built
	@if ! ls $(BUILT)/site/*__mypyc* >/dev/null 2>&1 && command -v cc >/dev/null; then \
		echo "bench: a C compiler is here but mypyc built nothing (pip wheel -v . says why)"; exit 1; fi
	$(BIN)/python -m compileall -q mockserver
	PYTHONPATH=$(BUILT)/site:bench PYTHONSAFEPATH=1 $(BIN)/python bench/run.py

# Debian's chromium for the dashboard tests, when missing and installable (never fails).
browser:
	@sh scripts/ensure-browser.sh

# The walls: style (ruff), types (mypy, zero errors) and the import contracts
# in pyproject.toml (import-linter: no cycles, no arrow running back up).
lint: $(VENV)/.installed-test
	$(BIN)/ruff check mockserver tests examples bench scripts hatch_build.py
	$(BIN)/ruff format --check mockserver tests examples bench scripts hatch_build.py
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(VENV)/.installed-test
	$(BIN)/ruff format mockserver tests examples bench scripts
	$(BIN)/ruff check --fix mockserver tests examples bench scripts

openapi: $(VENV)/.installed
	$(BIN)/python -m mockserver openapi > openapi.json

# The package as it will be published: the sdist and the wheel in dist/, checked
# (twine check, what each archive holds), then the wheel alone in a fresh virtualenv
# (.altcraft-mock/dist-venv) running the examples' tests; scripts/dist.py says more.
dist: $(VENV)/.installed-test
	$(BIN)/python scripts/dist.py

clean:
	rm -rf $(VENV) .altcraft-mock .pytest_cache .ruff_cache dist
