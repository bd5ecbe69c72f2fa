# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast check lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) benchmarks/demo.py samples/dickens-sample.txt

test: check unit

check: lint typecheck

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(PY) -m mypy

unit: $(STAMP)
	$(PY) -m pytest -q

# The edit loop (under a minute): no tests marked slow (process pools, large inputs, fuzzing,
# numba's compiler, costlier repeats of a check), at most a few generated examples per property
# test, spread over every core (pytest-xdist). CI runs `make test`.
test-fast: $(STAMP)
	HYPOTHESIS_PROFILE=fast $(PY) -m pytest -q -m "not slow" -n auto

bench: $(STAMP)
	$(PY) benchmarks/memory.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
