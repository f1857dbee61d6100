# qualmodel — every target sets up .venv by itself (python3 -m venv + pip install -e .[dev]).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# the CPUs this process may use (nproc would follow OMP_NUM_THREADS, a thread setting)
JOBS   ?= $(shell env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null || echo 2)

.PHONY: all setup report test lint bench clean help
all: test

help:
	@echo "make report  - simulate the built-in scenarios and render every report into reports/"
	@echo "make test    - run the test suite (pytest + notebook checks)"
	@echo "make lint    - ruff"
	@echo "make bench   - benchmarks (numbers printed and written to benchmarks/results/)"

# Set-up prints one line per step; pip's own output goes to .venv/pip.log (shown on failure).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || { echo "setup: creating $(VENV) with $(PYTHON) -m venv"; \
		$(PYTHON) -m venv $(VENV); }
	@echo "setup: upgrading pip in $(VENV)"
	@$(BIN)/python -m pip install --upgrade pip > $(VENV)/pip.log 2>&1 \
		|| { cat $(VENV)/pip.log; exit 1; }
	@echo "setup: installing qualmodel and its dependencies (pip install -e .[dev]; about a minute the first time)"
	@$(BIN)/python -m pip install -e '.[dev]' >> $(VENV)/pip.log 2>&1 \
		|| { cat $(VENV)/pip.log; exit 1; }
	@touch $(STAMP)
	@echo "setup: done ($(VENV) ready; pip log in $(VENV)/pip.log)"

setup: $(STAMP)

report: $(STAMP)
	$(BIN)/qualmodel report --scenario all --out reports --keep-journeys data/simulated --jobs $(JOBS)

# tests/ never runs nbval: without it, no worker imports nbformat (and its validators) at start-up.
# The tests keep compiled bytecode even where the environment sets PYTHONDONTWRITEBYTECODE:
# about 50 processes of a run (workers, kernels, commands) import the package, and each
# worker would otherwise rewrite and compile every test module again (collection 7.2 s -> 3.3 s).
TEST_ENV := env -u PYTHONDONTWRITEBYTECODE
test: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest -n $(JOBS) -p no:nbval tests
	$(TEST_ENV) $(BIN)/python -m pytest -n $(JOBS) --dist loadscope --nbval-lax src/qualmodel/report/notebooks

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks conftest.py
	$(BIN)/ruff format --check src tests benchmarks

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) data/simulated data/imported .pytest_cache .ruff_cache .hypothesis build dist \
	       benchmarks/results src/*.egg-info
	find reports -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
	find . -path ./.git -prune -o \( -name __pycache__ -o -name .ipynb_checkpoints \) -type d \
	       -prune -exec rm -rf {} +
