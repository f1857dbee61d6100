# qualmodel — every target sets up .venv by itself (python3 -m venv + pip install -e .[dev]).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all setup report test lint bench clean help
all: test

help:
	@echo "make report  - simulate the built-in scenarios and render every report into reports/"
	@echo "make test    - run the test suite (pytest + notebook checks)"
	@echo "make lint    - ruff"
	@echo "make bench   - benchmarks (numbers printed and written to benchmarks/results/)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

report: $(STAMP)
	$(BIN)/qualmodel report --scenario all --out reports --jobs $(JOBS)

test: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) tests
	$(BIN)/python -m pytest -n $(JOBS) --dist loadscope --nbval-lax notebooks

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks notebooks
	$(BIN)/ruff format --check src tests benchmarks

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) reports/* data/simulated data/imported .pytest_cache
