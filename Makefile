# The front door. `make run` starts the product on the embedded default; `make test` runs
# the whole suite (lint included). Both install what they need first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format check sysdeps install messages bench clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	touch $(STAMP)

install: sysdeps $(STAMP)

sysdeps:
	@bash scripts/system-deps.sh $(SYSDEPS_FLAGS)

run: install
	@bash scripts/run.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: $(STAMP)
	$(BIN)/python manage.py makemessages -l nl -l en --no-obsolete --ignore=.venv --ignore=bench --ignore=tests
	$(BIN)/python manage.py compilemessages -v0 --ignore=.venv

# The browser tests (tests/browser/) need Debian's chromium; `make run` does not.
test: SYSDEPS_FLAGS = --with-browser
test: install lint
	$(BIN)/python manage.py compilemessages -v0 --ignore=.venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	@$(BIN)/python bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf var staticfiles .pytest_cache .ruff_cache
