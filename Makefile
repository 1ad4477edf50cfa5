# crm-sla: `make migrate` deploys the engine, `make test` lints and tests it.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready

.PHONY: migrate rollback test lint pytest status demo monitor db-start db-stop system-packages schema clean

# The virtual environment, made on first use and refreshed when pyproject.toml changes.
$(READY): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

# The PostgreSQL 15 server and pg_cron for the embedded database (apt-get as root).
system-packages:
	@harness/ensure-system-packages

# The embedded database is only needed when DATABASE_URL is unset.
migrate: $(READY)
	@if [ -z "$$DATABASE_URL" ]; then harness/ensure-system-packages; fi
	@$(BIN)/crm-sla migrate

rollback: $(READY)
	@if [ -z "$$DATABASE_URL" ]; then harness/ensure-system-packages; fi
	@$(BIN)/crm-sla rollback

monitor: $(READY)
	@$(BIN)/crm-sla monitor

status: $(READY)
	@$(BIN)/crm-sla status

demo: $(READY)
	@if [ -z "$$DATABASE_URL" ]; then harness/ensure-system-packages; fi
	@$(BIN)/crm-sla migrate
	@$(BIN)/crm-sla simulate

db-start: $(READY) system-packages
	@$(BIN)/crm-sla db start

db-stop: $(READY)
	@$(BIN)/crm-sla db stop

lint: $(READY)
	@$(BIN)/sqlfluff lint db
	@$(BIN)/ruff check harness tests db/migrations
	@echo "lint: clean"

pytest: $(READY) system-packages
	@$(BIN)/pytest $(PYTEST_ARGS)

test: lint pytest

# The committed schema snapshot, regenerated from a freshly migrated scratch database.
schema: $(READY) system-packages
	@$(BIN)/python -c "from harness import cluster; cluster.TEST.start(quiet=True)"
	@$(BIN)/python -m tests.make_schema

# Removes both embedded clusters (all their data) and the virtual environment.
clean:
	@test ! -x $(BIN)/crm-sla || $(BIN)/crm-sla db destroy
	rm -rf $(VENV)
