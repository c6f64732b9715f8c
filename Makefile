# scintiseg: two commands do everything.
#   make demo   the main job (phantom -> train -> evaluate -> predict -> report)
#   make test   the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install clean

# Re-install only when the package metadata changed (the package itself is installed editable).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/scintiseg demo --out runs/demo

# The import contracts of pyproject.toml (the house plan of docs/architecture.md), pyflakes (unused imports, undefined
# names, repeated dictionary keys), then the tests: one pytest-xdist worker per core (at most 4), each on one thread,
# a worker that runs out of tests taking some of a busy one's (work stealing); a plain `pytest` runs in one process.
test: $(STAMP)
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pyflakes src tests benchmarks scripts
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n auto --maxprocesses 4 --dist worksteal

clean:
	rm -rf $(VENV) runs build src/*.egg-info .pytest_cache
