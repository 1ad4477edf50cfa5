# crm-sla: `make migrate` deploys the engine, `make test` lints and tests it.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready
# The browser tests drive Debian's chromium (Playwright's own browser download is not used).
BROWSER_PACKAGES := chromium fonts-liberation2
BOARD_ARGS ?=

.PHONY: migrate migration rollback test test-sql lint pytest status demo board board-latency monitor \
	bench soak db-start db-stop system-packages test-packages schema clean

# The virtual environment, made on first use and refreshed when pyproject.toml changes.
$(READY): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

# pgTAP for the SQL suite (tests/sql): the extension goes on the database server, pg_prove (with
# psql) where the suite runs. plpgsql_check (make lint) goes on the server too.
PGTAP_SERVER := postgresql-15-pgtap postgresql-15-plpgsql-check
PGTAP_CLIENT := libtap-parser-sourcehandler-pgtap-perl

# The PostgreSQL 15 server, pg_cron and pgTAP for the embedded databases (apt-get as root); with
# DATABASE_URL (or CRM_SLA_TEST_DATABASE_URL) naming your own server, only the client side.
system-packages:
	@if [ -z "$$DATABASE_URL$$CRM_SLA_TEST_DATABASE_URL" ]; then \
		harness/ensure-system-packages $(PGTAP_SERVER) $(PGTAP_CLIENT); \
	else \
		harness/ensure-system-packages --client-only $(PGTAP_CLIENT); \
	fi

# ... and, for the test suite, the browser its lead-board tests drive, and npm, which installs the
# Supabase CLI that tests/test_export.py runs (into test-artifacts/, on first use).
test-packages:
	@harness/ensure-system-packages $(BROWSER_PACKAGES)
	@command -v npm >/dev/null 2>&1 || harness/ensure-system-packages npm

# The embedded database is only needed when DATABASE_URL is unset.
# MIGRATE_ARGS=--no-schedule leaves pg_cron alone (CI databases that only run the tests).
migrate: $(READY)
	@if [ -z "$$DATABASE_URL" ]; then harness/ensure-system-packages; fi
	@$(BIN)/crm-sla migrate $(MIGRATE_ARGS)

# Freezes the function files changed in db/functions into a new migration: make migration NAME=...
migration: $(READY)
	@test -n "$(NAME)" || { echo "make migration: say what changed, e.g. make migration NAME=claim_at_statement_time" >&2; exit 2; }
	@$(BIN)/crm-sla migration $(NAME) $(if $(NUMBER),--number $(NUMBER))

# ROLLBACK_ARGS="--count 3 --dry-run" (or --force) go to crm-sla rollback as they are; it
# refuses, exit 2, to drop tables that hold rows unless --force.
rollback: $(READY)
	@if [ -z "$$DATABASE_URL" ]; then harness/ensure-system-packages; fi
	@$(BIN)/crm-sla rollback $(ROLLBACK_ARGS)

monitor: $(READY)
	@$(BIN)/crm-sla monitor

status: $(READY)
	@$(BIN)/crm-sla status

demo: $(READY)
	@if [ -z "$$DATABASE_URL" ]; then harness/ensure-system-packages; fi
	@$(BIN)/crm-sla migrate
	@$(BIN)/crm-sla simulate

# The lead board on http://127.0.0.1:8765/ (BOARD_ARGS="--port 9000 --as-agent UUID" to change);
# on an empty embedded database it plays the demo beside it.
board: $(READY)
	@if [ -z "$$DATABASE_URL" ]; then harness/ensure-system-packages && \
		$(BIN)/crm-sla migrate >/dev/null; fi
	@$(BIN)/crm-sla board --demo $(BOARD_ARGS)

# Measures how long a reassignment takes from pg_notify to the card moving on the page.
board-latency: $(READY) test-packages
	@$(BIN)/pytest -q -s tests/test_board.py -k latency | grep -E "latency|passed|failed"

# The engine against raw SQL, in a scratch database it drops again (BENCH_ARGS=--latency adds the
# pg_cron breach latency, a few minutes; --quick is what make test runs).
bench: $(READY)
	@if [ -z "$$DATABASE_URL" ]; then harness/ensure-system-packages; fi
	@$(BIN)/crm-sla bench $(BENCH_ARGS)

# Everything at once for SOAK_ARGS (default: 10 minutes, 50 leads/s, 40 agents) in a scratch
# database with the real pg_cron monitor, crm-sla deliver and the board; fails if anything was
# lost (make test runs a 30-second one).
soak: $(READY)
	@if [ -z "$$DATABASE_URL" ]; then harness/ensure-system-packages; fi
	@$(BIN)/crm-sla soak $(SOAK_ARGS)

db-start: $(READY) system-packages
	@$(BIN)/crm-sla db start

db-stop: $(READY)
	@$(BIN)/crm-sla db stop

# sqlfluff reads the hand-written SQL: db/functions, the pgTAP suite and the migrations that
# `make migration` did not generate (those are copies of db/functions files, linted there).
# plpgsql_check then reads every PL/pgSQL body of a freshly migrated scratch database.
lint: $(READY) system-packages
	@$(BIN)/sqlfluff lint db/functions tests/sql $$(grep -L -e '^-- crm-sla:' db/migrations/*.sql)
	@$(BIN)/ruff check harness tests examples
	@$(BIN)/python -m harness.plpgsql_lint
	@echo "lint: clean"

pytest: $(READY) system-packages test-packages
	@$(BIN)/pytest $(PYTEST_ARGS)

test: lint pytest

# The pgTAP suite with pg_prove against $$DATABASE_URL, or the embedded database; either must have
# had `make migrate`. Extra pg_prove options: make test-sql PG_PROVE_ARGS="--verbose".
test-sql: $(READY) system-packages
	@$(BIN)/crm-sla test-sql -- $(PG_PROVE_ARGS)

# The committed schema snapshot, regenerated from a freshly migrated scratch database.
schema: $(READY) system-packages
	@$(BIN)/python -c "from harness import cluster; cluster.TEST.start(quiet=True)"
	@$(BIN)/python -m tests.make_schema

# Removes both embedded clusters (all their data) and the virtual environment.
clean:
	@test ! -x $(BIN)/crm-sla || $(BIN)/crm-sla db destroy
	rm -rf $(VENV)
