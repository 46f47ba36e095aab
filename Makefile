# The README's two commands: `make run` and `make test`. Both install into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install demo bench bench-projections lint lock clean

# Installs the locked dependency tree (requirements-dev.lock), then the project itself.
$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/caseledger serve

test: $(STAMP)
	$(BIN)/pytest

demo: $(STAMP)
	$(BIN)/caseledger demo --people 2000 --seed 1

bench: $(STAMP)
	$(BIN)/python bench/append.py --store sqlite --writers 1 --events 2000
	$(BIN)/python bench/append.py --store sqlite --writers 8 --events 2000
	$(BIN)/python bench/append.py --store postgres --writers 1 --events 4000 --compare-stock
	$(BIN)/python bench/append.py --store postgres --writers 8 --events 4000 --compare-stock
	$(BIN)/python bench/append.py --store postgres --writers 32 --events 4000 --compare-stock

bench-projections: $(STAMP)
	$(BIN)/python bench/projections.py --store postgres --events 1000000

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy domain projections api infra

# After changing a dependency in pyproject.toml: pin the whole tree again (pip-tools).
lock: $(STAMP)
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
		-o requirements.lock pyproject.toml
	$(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
		--extra dev -o requirements-dev.lock pyproject.toml

clean:
	rm -rf $(VENV) var .pytest_cache
