"""crm-sla on a database built by Supabase's own scripts (tests/supabase_project.py): `postgres`
demoted, the CRM in database `postgres` beside pg_cron, Supabase's default privileges, and
`crm_agents.id references auth.users (id)` made in the dashboard. As an adopter would: `crm-sla
migrate` twice, the engine end to end, the pgTAP suite, `crm-sla adopt`, then everything rolled
back, leaving `auth` and the CRM's own objects exactly as they were (pg_dump before and after).

The tests of this module run in order on one cluster, each building on the one before."""

from __future__ import annotations

import subprocess
import uuid

import psycopg
import pytest

from harness import migrate, sqltests
from harness.cluster import PG_BIN
from harness.testing import SYSTEM_ACTOR, World
from tests import supabase_project
from tests.cli import crm_sla

OLD_NEW_LEAD = uuid.UUID("c1000000-0000-4000-8000-000000000001")
OLD_CLAIMED_LEAD = uuid.UUID("c1000000-0000-4000-8000-000000000002")
OLD_DONE_LEAD = uuid.UUID("c1000000-0000-4000-8000-000000000003")


def dump(*args: str) -> str:
    """pg_dump of the Supabase database, as its superuser sees it, minus pg_dump's run keys."""
    out = subprocess.run(
        [str(PG_BIN / "pg_dump"), *args, supabase_project.url("supabase_admin")],
        check=True, capture_output=True, text=True).stdout
    return "\n".join(ln for ln in out.splitlines()
                     if not ln.startswith(("\\restrict", "\\unrestrict")))


def crm_state() -> dict[str, str]:
    """What the engine must leave as it found: the auth schema (objects and rows), and the CRM's
    own objects (schema public: tables, grants, policies, is_admin) and agents."""
    return {
        "auth": dump("--schema=auth"),
        "public": dump("--schema-only", "--schema=public"),
        "agents": dump("--data-only", "--table=public.crm_agents"),
    }


@pytest.fixture(scope="module")
def supabase():
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"the Supabase fixture builds a PostgreSQL 15 cluster of its own, and "
                    f"{PG_BIN} has no initdb (install postgresql-15 and postgresql-15-cron)")
    url = supabase_project.build()
    state = {"url": url, "before": crm_state()}
    yield state
    supabase_project.SUPABASE.destroy()


@pytest.fixture
def world(supabase):
    w = World(supabase["url"])
    yield w
    w.close()


def test_the_fixture_is_what_a_supabase_project_has(supabase):
    with psycopg.connect(supabase["url"]) as conn:
        row = conn.execute(
            """
            select
                (select rolsuper from pg_roles where rolname = current_user),
                current_database(),
                (select extnamespace::regnamespace::text from pg_extension
                 where extname = 'pg_cron'),
                (select confrelid::regclass::text from pg_constraint
                 where conrelid = 'public.crm_agents'::regclass and contype = 'f'),
                has_table_privilege('anon', 'public.crm_leads', 'insert')
            """).fetchone()
    assert row == (False, "postgres", "pg_catalog", "auth.users", True)


def test_migrate_twice_the_second_applies_nothing(supabase):
    first = crm_sla("migrate", url=supabase["url"])
    assert first.returncode == 0, first.stderr
    assert f"applied {len(migrate.pending_ids(set()))} migration(s)" in first.stdout
    assert "monitor scheduled: pg_cron" in first.stdout
    second = crm_sla("migrate", url=supabase["url"])
    assert second.returncode == 0, second.stderr
    assert "nothing to apply" in second.stdout


def test_the_system_actor_is_an_auth_user_no_one_can_sign_in_as(world):
    user = world.db.execute(
        "select email, encrypted_password, raw_app_meta_data ->> 'provider' as provider "
        "from auth.users where id = %s", (SYSTEM_ACTOR,)).fetchone()
    assert user == {"email": None, "encrypted_password": None, "provider": "crm-sla"}
    assert world.scalar("select role from public.crm_agents where id = %s",
                        (SYSTEM_ACTOR,)) == "system"


def test_the_engine_works_lead_inserted_claimed_breached_reassigned(world):
    eve, fay = uuid.uuid4(), uuid.uuid4()
    for agent, name in ((eve, "Eve"), (fay, "Fay")):
        supabase_project.add_agent(world.db, agent, name)
    # Everyone else is away, so the leads go between Eve and Fay.
    away = [r["id"] for r in world.db.execute(
        "update public.crm_agents set accepting_leads = false "
        "where id not in (%s, %s) and accepting_leads returning id", (eve, fay))]
    try:
        with world.as_service() as conn:
            first, second = (conn.execute(
                "insert into public.crm_leads (assigned_agent_id) values (%s) returning id",
                (eve,)).fetchone()["id"] for _ in range(2))
        with world.as_agent(eve) as conn:
            conn.execute("select public.claim_lead(%s)", (first,))
            seen = {r["id"] for r in conn.execute("select id from public.crm_leads")}
        assert seen == {first, second}  # her own leads, not the CRM's older ones
        world.travel("5 minutes")
        world.monitor()  # pg_cron's monitor may have been first: the outcome is the same
        for lead, reason in ((first, "no_contact"), (second, "unclaimed")):
            row = world.row(lead)
            assert row["assigned_agent_id"] == fay and row["sla_breached"]
            audit = world.audit(lead)
            assert [(a["reason"], a["from_agent_id"], a["to_agent_id"], a["reassigned_by"])
                    for a in audit] == [(reason, eve, fay, SYSTEM_ACTOR)]
        with world.as_agent(fay) as conn:
            conn.execute("select public.claim_lead(%s)", (second,))
        assert world.row(second)["lead_claimed"]
    finally:
        world.db.execute("delete from public.crm_leads where assigned_agent_id in (%s, %s) "
                         "or previous_agent_id in (%s, %s)", (eve, fay, eve, fay))
        world.db.execute("delete from public.crm_sla_agent_state")
        world.db.execute("delete from auth.users where id in (%s, %s)", (eve, fay))
        world.db.execute("update public.crm_agents set accepting_leads = true "
                         "where id = any(%s)", (away,))
        world.clock.reset()


def test_the_pgtap_suite_passes_with_crm_sla_test_sql(supabase):
    proc = crm_sla("test-sql", "--verbose", url=supabase["url"])
    assert proc.returncode == 0, sqltests.failure_report(proc.stdout + proc.stderr)
    assert "All tests successful." in proc.stdout


def test_status_names_no_policy_on_a_clean_crm(supabase):
    proc = crm_sla("status", url=supabase["url"])
    assert proc.returncode == 0, proc.stderr
    assert "policies     none of yours widen" in proc.stdout


def test_adopt_puts_the_leads_from_before_the_install_under_the_sla(world):
    assert world.row(OLD_NEW_LEAD)["claim_timer_expires_at"] is None
    proc = crm_sla("adopt", url=world.url)
    assert proc.returncode == 0, proc.stderr
    assert [ln.split()[:2] for ln in proc.stdout.splitlines()] == [
        ["claim", "1"], ["contact", "1"], ["done", "1"], ["unowned", "0"]]
    assert world.row(OLD_NEW_LEAD)["claim_timer_expires_at"] is not None
    assert world.row(OLD_CLAIMED_LEAD)["contact_timer_expires_at"] is not None
    assert world.row(OLD_DONE_LEAD)["contact_timer_expires_at"] is None


def test_rollback_of_everything_leaves_auth_and_the_crm_as_they_were(supabase):
    count = len(migrate.pending_ids(set()))
    # --force: the module's earlier tests wrote events, whose outbox goes with the engine.
    proc = crm_sla("rollback", "--count", str(count), "--force", url=supabase["url"])
    assert proc.returncode == 0, proc.stderr
    after = crm_state()
    for part, before in supabase["before"].items():
        assert after[part] == before, part
