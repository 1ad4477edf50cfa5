"""The pgTAP suite (tests/sql) as adopters run it: pg_prove against a migrated database. Each file
on a fresh database of its own, then all of them on a database that already holds a CRM's data,
which must come out exactly as it went in."""

from __future__ import annotations

import subprocess

import pytest

from harness import sqltests
from harness.testing import connect

FILES = sqltests.files()


@pytest.fixture(scope="session")
def pgtap(crm_sla_server, crm_sla_template):
    """pg_prove here and pgTAP on the server, or a skip (a user's server) naming the package."""
    problems = sqltests.client_problems()
    with connect(crm_sla_server.url_for(crm_sla_template)) as conn:
        problems += sqltests.server_problems(conn)
    if problems:
        message = f"the SQL suite cannot run against {crm_sla_server.label}: " + "; ".join(problems)
        if crm_sla_server.embedded:
            pytest.fail(message + " (make test installs both)")
        pytest.skip(message)


def pg_prove(url: str, paths) -> subprocess.CompletedProcess:
    cmd, env = sqltests.pg_prove_command(url, list(paths), verbose=True)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def test_the_suite_has_one_file_per_area():
    assert [p.name for p in FILES] == [
        "crm_sla_calendars.test.sql", "crm_sla_lifecycle.test.sql", "crm_sla_routing.test.sql",
        "crm_sla_schema.test.sql",
        "crm_sla_security.test.sql",
    ]


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_pgtap_file_passes(pgtap, db_url, path):
    proc = pg_prove(db_url, [path])
    assert proc.returncode == 0, (
        f"pg_prove {path.name} failed:\n{sqltests.failure_report(proc.stdout + proc.stderr)}")
    assert "All tests successful." in proc.stdout


SNAPSHOT = """
select
    (select json_agg(a order by a.id) from public.crm_agents as a) as agents,
    (select json_agg(l order by l.id) from public.crm_leads as l) as leads,
    (select json_agg(r order by r.id) from public.crm_lead_reassignments as r) as audit,
    (select json_agg(s) from public.crm_sla_settings as s) as settings,
    (select json_agg(c) from public.crm_sla_clock as c) as clock,
    (select json_agg(g order by g.agent_id) from public.crm_sla_agent_state as g) as routing,
    (select json_agg(e.extname order by e.extname) from pg_extension as e) as extensions,
    (select count(*) from pg_proc) as functions
"""


def test_the_suite_leaves_a_database_with_data_as_it_found_it(pgtap, world):
    """A CRM that is in use: agents (one admin), tuned settings, leads due, claimed, unowned and
    reassigned, and the clock moved. The suite still passes, and every row is as it was."""
    ann, bob = world.agents("Ann", "Bob")
    world.agent("Boss", role="admin")
    world.settings(claim_window="3 minutes", max_reassignments=1)
    world.lead(ann)
    world.lead(bob, lead_claimed=True)
    world.lead(ann)
    world.travel("3 minutes")
    world.monitor()
    world.lead(ann)
    world.db.execute("update public.crm_agents set accepting_leads = false")
    world.lead()  # nobody can take it: it waits without an owner
    world.travel("10 minutes")  # every lead is due
    before = world.db.execute(SNAPSHOT).fetchone()
    assert len(before["leads"]) == 5 and before["audit"]
    proc = pg_prove(world.url, FILES)
    assert proc.returncode == 0, sqltests.failure_report(proc.stdout + proc.stderr)
    assert world.db.execute(SNAPSHOT).fetchone() == before


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_sql_file_is_plain_sql_in_one_rolled_back_transaction(path):
    """What lets a file be copied into supabase/tests/database as it is: no psql meta-commands, no
    harness objects, one transaction that ends in a rollback."""
    text = path.read_text()
    code = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("--")]
    assert code[0] == "begin;" and code[-2:] == ["select * from finish();", "rollback;"]
    assert not [ln for ln in code if ln.lstrip().startswith("\\")]
    assert "crm_sla_migrations" not in text and "commit;" not in text
    assert sum(ln.startswith("select plan(") for ln in code) == 1
