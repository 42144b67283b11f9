# The two commands of the README: `make run` and `make test`.  Everything they need is
# installed from here, into .venv, so a fresh machine with Python 3.11+ needs nothing else.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Installed again when the project's requirements or the estimator's C part change.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml queue_app/_simulation.c | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml queue_app/_simulation.c
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@rm -f $(VENV)/.installed-* && touch $@

## Start the service: install, migrate the SQLite database, load the demo clinic if empty, serve.
## In demo mode ([server] demo): messages go to the demo phone page, /demo/messages.
DEMO := QUEUE_APP_SERVER_DEMO=true QUEUE_APP_SERVER_PORT=$(PORT)
run: $(STAMP)
	$(DEMO) $(BIN)/queue-app db upgrade
	$(DEMO) $(BIN)/queue-app demo --if-empty
	$(DEMO) $(BIN)/queue-app serve --host $(HOST) --port $(PORT)

## Run the whole test suite.
test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check queue_app tests bench
	$(BIN)/ruff format --check queue_app tests bench

## Live updates at 1,000 phones against a bare Flask-SocketIO server (docs/benchmarks.md).
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(BIN)/python bench/live_updates.py

clean:
	rm -rf $(VENV) instance .pytest_cache
