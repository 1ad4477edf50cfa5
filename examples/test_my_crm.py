"""The SLA engine's guarantees, checked in your own CRM's test suite.

Copy this file into your repository's tests, install crm-sla next to pytest and point DATABASE_URL
at a PostgreSQL 15 server you own (your CI's service container will do):

    pip install path/to/crm-sla pytest           # or: pip install "crm-sla @ git+<its repository>"
    DATABASE_URL=postgresql://postgres:postgres@localhost:5432/postgres pytest test_my_crm.py

crm-sla's pytest plugin loads by itself. For each test it makes a scratch database with every
crm-sla migration applied (your database is never written to) and drops it afterwards. Without
DATABASE_URL it starts a throwaway PostgreSQL 15 with pg_cron for the session (pytest-postgresql;
the postgresql-15 and postgresql-15-cron packages must be installed). Add your
own schema (your columns, triggers, policies) in a fixture, as `my_crm_schema` does below, and
these tests tell you whether the engine still keeps its promises next to it.
"""

from __future__ import annotations

import psycopg
import pytest


@pytest.fixture
def my_crm_schema(crm_sla_db):
    """Your CRM's own additions to the engine's tables: here a score column and a trigger that
    touches every lead on update, as many CRMs have."""
    crm_sla_db.execute(
        """
        alter table public.crm_leads add column if not exists score int not null default 0;
        alter table public.crm_leads add column if not exists updated_at timestamptz;
        create or replace function public.my_crm_touch() returns trigger
            language plpgsql as $$ begin new.updated_at := now(); return new; end $$;
        create or replace trigger my_crm_touch before update on public.crm_leads
            for each row execute function public.my_crm_touch();
        """
    )
    return crm_sla_db


def owner_of(db: psycopg.Connection, lead_id) -> object:
    return db.execute("select assigned_agent_id from public.crm_leads where id = %s",
                      (lead_id,)).fetchone()["assigned_agent_id"]


def test_an_unclaimed_lead_moves_to_another_agent(my_crm_schema, sla_clock, make_agent,
                                                  make_lead):
    ann, bob = make_agent("Ann"), make_agent("Bob")
    lead = make_lead(ann, score=90)
    sla_clock.travel("5 minutes")
    result = my_crm_schema.execute("select public.process_sla_timers() as r").fetchone()["r"]
    assert result["unclaimed"] == 1
    assert owner_of(my_crm_schema, lead) == bob
    audit = my_crm_schema.execute(
        "select reason, stage from public.crm_lead_reassignments where lead_id = %s", (lead,)
    ).fetchall()
    assert audit == [{"reason": "unclaimed", "stage": "claim_window"}]


def test_a_lead_claimed_in_time_stays(my_crm_schema, sla_clock, make_agent, make_lead, as_agent):
    ann, _bob = make_agent("Ann"), make_agent("Bob")
    lead = make_lead(ann)
    sla_clock.travel("4 minutes")
    as_agent(ann).execute("select public.claim_lead(%s)", (lead,))
    sla_clock.travel("2 minutes")  # past the claim window, inside the contact window
    my_crm_schema.execute("select public.process_sla_timers()")
    assert owner_of(my_crm_schema, lead) == ann


def test_agents_see_and_claim_only_their_own_leads(crm_sla_db, make_agent, make_lead, as_agent):
    ann, bob = make_agent("Ann"), make_agent("Bob")
    mine, theirs = make_lead(ann), make_lead(bob)
    ann_conn = as_agent(ann)
    seen = [r["id"] for r in ann_conn.execute("select id from public.crm_leads").fetchall()]
    assert seen == [mine]
    with pytest.raises(psycopg.Error) as refused:
        ann_conn.execute("select public.claim_lead(%s)", (theirs,))
    assert refused.value.diag.sqlstate == "SL002"  # not your lead (codes: crm-sla README)


def test_my_update_trigger_does_not_let_agents_touch_the_timers(my_crm_schema, make_agent,
                                                                make_lead, as_agent):
    ann = make_agent("Ann")
    lead = make_lead(ann)
    ann_conn = as_agent(ann)
    ann_conn.execute("update public.crm_leads set score = 10 where id = %s", (lead,))
    with pytest.raises(psycopg.Error) as refused:
        ann_conn.execute("update public.crm_leads set claim_timer_expires_at = now() + "
                         "interval '1 day' where id = %s", (lead,))
    assert refused.value.diag.sqlstate == "SL009"  # engine-owned column
