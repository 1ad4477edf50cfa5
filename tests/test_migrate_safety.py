"""Nothing is dropped without asking: `crm-sla rollback` refuses to drop tables holding rows unless
--force and names them, --dry-run lists what it would undo; and `crm-sla migrate` waits at most
--lock-timeout for another migrator, then names it."""

from __future__ import annotations

import base64
import os
import subprocess
import time

import psycopg

from harness import migrate
from harness.paths import MIGRATIONS_DIR
from harness.testing import connect
from tests.cli import assert_one_line_error, crm_sla

ALL = migrate.pending_ids(set())
# Back to (and including) the migration that made the events tables (release 0.2.0's tables):
# what issue 23's `rollback --count 14` undid.
EVENTS_TABLES = "0030_v0_2_0_tables"
TO_EVENTS = len(ALL) - ALL.index(EVENTS_TABLES)


def quiet(_msg: str) -> None:
    pass


def test_the_tables_a_rollback_drops_are_read_from_its_drop_table_statements():
    sql = (
        "-- drop table public.in_a_comment;\n"
        "/* drop table public.in_a_block\n comment */\n"
        'DROP TABLE IF EXISTS plain, Other.Mixed ,"Quoted ""Name""";\n'
        "drop table\n    public.crm_sla_outbox;\n"
        "alter table public.crm_sla_settings drop column if exists outbox_keep_days;\n"
    )
    assert migrate.dropped_tables(sql) == [
        ("public", "plain"), ("other", "mixed"), ("public", 'Quoted "Name"'),
        ("public", "crm_sla_outbox")]
    # The real rollback files: the events tables' drops them (among 0.2.0's other tables), the
    # baseline its own.
    events = (MIGRATIONS_DIR / f"{EVENTS_TABLES}.rollback.sql").read_text()
    assert migrate.dropped_tables(events)[:3] == [
        ("public", "crm_sla_webhook_deliveries"), ("public", "crm_sla_webhooks"),
        ("public", "crm_sla_outbox")]
    baseline = (MIGRATIONS_DIR / "0001_baseline.rollback.sql").read_text()
    assert migrate.dropped_tables(baseline) == [
        ("public", "crm_sla_settings"), ("public", "crm_leads"), ("public", "crm_agents")]


def _events_and_a_webhook(url: str) -> tuple[int, int]:
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    with connect(url) as conn:
        conn.execute("insert into public.crm_agents (full_name, email) "
                     "values ('Ann', 'ann@example.com')")
        conn.execute("insert into public.crm_leads (full_name) "
                     "select 'Lead ' || g from generate_series(1, 3) as g")
        conn.execute("insert into public.crm_sla_webhooks (url, secret) "
                     "values ('https://hooks.example.com/crm', %s)", (secret,))
        events = conn.execute("select count(*) as n from public.crm_sla_outbox").fetchone()["n"]
    assert events >= 3
    return events, 1


def _counts(url: str) -> tuple[int, int]:
    with connect(url) as conn:
        row = conn.execute("select (select count(*) from public.crm_sla_outbox) as e, "
                           "(select count(*) from public.crm_sla_webhooks) as w").fetchone()
    return row["e"], row["w"]


def test_rollback_refuses_to_drop_tables_holding_rows_and_names_them(fresh_db):
    url = fresh_db()
    migrate.apply(url, report=quiet)
    events, webhooks = _events_and_a_webhook(url)

    proc = crm_sla("rollback", "--count", str(TO_EVENTS), url=url)
    assert_one_line_error(proc, "refused", f"public.crm_sla_outbox ({events} rows)",
                          "public.crm_sla_webhooks (1 row)", "--force")
    assert "crm_sla_webhook_deliveries" not in proc.stderr  # empty: nothing to lose there
    assert "crm_agents" not in proc.stderr and "crm_leads" not in proc.stderr  # not dropped
    # Nothing was undone: every migration is still applied, every row still there.
    assert migrate.status(url) == (ALL, [])
    assert _counts(url) == (events, webhooks)

    # `make rollback` passes its arguments through, and its exit status.
    env = dict(os.environ, DATABASE_URL=url)
    made = subprocess.run(
        ["make", "-s", "rollback", f"ROLLBACK_ARGS=--count {TO_EVENTS}"], capture_output=True,
        text=True, env=env, cwd=MIGRATIONS_DIR.parents[1], timeout=120)
    assert made.returncode != 0 and "refused" in made.stderr
    assert migrate.status(url) == (ALL, [])

    # One migration that drops no table rolls back as before.
    one = crm_sla("rollback", url=url)
    assert one.returncode == 0, one.stderr
    assert f"rolled back: {ALL[-1]}" in one.stdout
    migrate.apply(url, report=quiet)

    forced = crm_sla("rollback", "--count", str(TO_EVENTS), "--force", url=url)
    assert forced.returncode == 0, forced.stderr
    assert migrate.status(url) == (ALL[:-TO_EVENTS], ALL[-TO_EVENTS:])
    with connect(url) as conn:
        assert conn.execute("select to_regclass('public.crm_sla_outbox') as t"
                            ).fetchone()["t"] is None


def test_rollback_dry_run_lists_what_it_would_undo_and_changes_nothing(fresh_db):
    url = fresh_db()
    migrate.apply(url, report=quiet)
    events, webhooks = _events_and_a_webhook(url)

    proc = crm_sla("rollback", "--count", str(TO_EVENTS), "--dry-run", url=url)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    would = next(ln for ln in lines if ln.startswith("would roll back"))
    assert would.endswith(", ".join(reversed(ALL[-TO_EVENTS:])))
    drops = next(ln for ln in lines if ln.startswith("would drop"))
    assert f"public.crm_sla_outbox ({events} rows)" in drops
    assert "public.crm_sla_webhooks (1 row)" in drops
    assert migrate.status(url) == (ALL, [])
    assert _counts(url) == (events, webhooks)

    # On an empty install, the whole way down drops nothing that holds rows (the engine's own
    # singleton rows and the system actor do not count).
    empty = fresh_db()
    migrate.apply(empty, report=quiet)
    proc = crm_sla("rollback", "--count", str(len(ALL)), "--dry-run", url=empty)
    assert "would drop tables holding rows: none" in proc.stdout
    assert migrate.plan_rollback(empty, count=len(ALL)).ids == list(reversed(ALL))


def test_migrate_waits_at_most_its_lock_timeout_and_names_the_holder(fresh_db):
    url = fresh_db()
    migrate.apply(url, report=quiet)
    holder = psycopg.connect(url, autocommit=True, application_name="nightly-migrator")
    try:
        holder.execute("select pg_advisory_lock(hashtext('crm_sla.migrate')::bigint)")
        pid = holder.execute("select pg_backend_pid()").fetchone()[0]
        started = time.monotonic()
        proc = crm_sla("migrate", "--no-schedule", "--lock-timeout", "2", url=url, timeout=60)
        waited = time.monotonic() - started
        assert_one_line_error(proc, "another migrator", f"pid {pid}", "'nightly-migrator'",
                              "connected", "--lock-timeout")
        assert 2 <= waited < 20
    finally:
        holder.close()
    # Once it lets go, migrate runs as usual.
    proc = crm_sla("migrate", "--no-schedule", "--lock-timeout", "2", url=url)
    assert proc.returncode == 0, proc.stderr
    assert "nothing to apply" in proc.stdout


def test_status_during_a_migration_says_so_and_reports_the_rest(fresh_db):
    """`crm-sla status` waits a few seconds for a running migrator, then names it on the
    migrations line (no advice about a flag it does not take) and still shows the engine."""
    url = fresh_db()
    migrate.apply(url, report=quiet)
    holder = psycopg.connect(url, autocommit=True, application_name="nightly-migrator")
    try:
        holder.execute("select pg_advisory_lock(hashtext('crm_sla.migrate')::bigint)")
        started = time.monotonic()
        proc = crm_sla("status", url=url, timeout=60)
        waited = time.monotonic() - started
    finally:
        holder.close()
    assert proc.returncode == 0, proc.stderr
    [line] = [x for x in proc.stdout.splitlines() if x.startswith("migrations")]
    assert "unknown: another migrator" in line and "'nightly-migrator'" in line
    assert "--lock-timeout" not in line and "look again when it is done" in line
    assert "open timers" in proc.stdout
    assert waited < 30


def test_lock_timeout_must_be_a_positive_number_of_seconds(fresh_db):
    proc = crm_sla("migrate", "--lock-timeout", "-1", url=fresh_db())
    assert proc.returncode == 2
    assert "not a number of seconds" in proc.stderr
