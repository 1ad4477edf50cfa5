"""The outbox (docs/events.md): every event is a crm_sla_outbox row written in
the transaction that caused it, with the payload keys docs/events.md names, announced on crm_sla;
agents read their own events, admins all, and only the engine writes."""

from __future__ import annotations

import json
from datetime import datetime

import psycopg
import pytest

from harness.testing import SYSTEM_ACTOR, connect

KEYS = {"event", "lead_id", "agent_id", "stage", "expires_at", "at"}


def events(world, lead_id=None) -> list[dict]:
    sql = "select * from public.crm_sla_outbox"
    if lead_id is not None:
        return world.db.execute(sql + " where lead_id = %s order by id", (lead_id,)).fetchall()
    return world.db.execute(sql + " order by id").fetchall()


def when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def check(row: dict, event: str, lead_id, agent_id, stage: str) -> dict:
    """The row's columns agree with its payload, and the payload has docs/events.md's keys."""
    payload = row["payload"]
    assert set(payload) >= KEYS, payload
    assert (row["event"], row["lead_id"], row["agent_id"]) == (event, lead_id, agent_id)
    assert payload["event"] == event and payload["stage"] == stage
    assert payload["lead_id"] == str(lead_id) and payload["agent_id"] == str(agent_id)
    return payload


def test_assigned_for_a_lead_inserted_with_an_owner(world):
    ana = world.agent("Ana")
    lead = world.lead(ana)
    [row] = events(world, lead)
    payload = check(row, "assigned", lead, ana, "claim_window")
    timers = world.row(lead)
    assert when(payload["expires_at"]) == timers["claim_timer_expires_at"]


def test_assigned_for_a_routed_lead(world):
    ana = world.agent("Ana")
    lead = world.lead(None)
    assert world.row(lead)["assigned_agent_id"] == ana
    [row] = events(world, lead)
    check(row, "assigned", lead, ana, "claim_window")


def test_assigned_when_an_unowned_lead_leaves_the_overflow_queue(world):
    lead = world.lead(None)  # nobody to take it
    assert events(world, lead) == []
    ana = world.agent("Ana")
    assert world.monitor()["routed"] == 1
    [row] = events(world, lead)
    payload = check(row, "assigned", lead, ana, "claim_window")
    assert payload["expires_at"] is not None


def test_bulk_intake_writes_one_event_per_lead_in_one_statement(world):
    world.agents("Ana", "Ben")
    world.db.execute("insert into public.crm_leads (full_name) "
                     "select 'Lead ' || g from generate_series(1, 500) as g")
    rows = events(world)
    assert len(rows) == 500 and {r["event"] for r in rows} == {"assigned"}
    owners = world.db.execute(
        "select l.id, l.assigned_agent_id from public.crm_leads as l").fetchall()
    assert {(r["lead_id"], r["agent_id"]) for r in rows} == {
        (o["id"], o["assigned_agent_id"]) for o in owners}


@pytest.mark.parametrize("owned", [True, False])
def test_bulk_intake_is_one_outbox_insert(world, owned):
    """Set-based: the INSERT of many leads runs the outbox INSERT once, not once a lead (twice
    for unowned leads: the statement's first, routed as it is written, is announced with the
    leads that came with an owner, the others when they are routed at the end)."""
    ana, _ben = world.agents("Ana", "Ben")
    world.db.execute("set track_functions = 'all'")
    world.db.execute("select pg_stat_reset()")
    world.db.execute("insert into public.crm_leads (full_name, assigned_agent_id) "
                     "select 'Lead ' || g, %s from generate_series(1, 300) as g",
                     (ana if owned else None,))
    world.db.execute("select pg_stat_force_next_flush()")
    calls = world.scalar(
        "select calls from pg_stat_user_functions where funcname = 'crm_sla_emit'")
    assert calls == (1 if owned else 2)
    assert world.scalar("select count(*) from public.crm_sla_outbox where event = 'assigned'") \
        == 300


def test_claimed_and_contacted(world):
    ana = world.agent("Ana")
    lead = world.lead(ana)
    with world.as_agent(ana) as conn:
        conn.execute("select public.claim_lead(%s)", (lead,))
        claimed = events(world, lead)[-1]
        conn.execute("update public.crm_leads set first_action_completed = true where id = %s",
                     (lead,))
    contacted = events(world, lead)[-1]
    payload = check(claimed, "claimed", lead, ana, "claim_window")
    assert when(payload["expires_at"]) == world.row(lead)["contact_timer_expires_at"]
    assert payload["late"] is False
    payload = check(contacted, "contacted", lead, ana, "contact_window")
    assert payload["expires_at"] is None


def test_first_action_on_an_unclaimed_lead_is_claimed_then_contacted(world):
    ana = world.agent("Ana")
    lead = world.lead(ana)
    with world.db.transaction():  # begun before the statement: its start is not the action's
        world.db.execute("select 1")
        world.db.execute("select public.complete_first_action(%s)", (lead,))
    assert [r["event"] for r in events(world, lead)] == ["assigned", "claimed", "contacted"]
    _, claimed, contacted = (r["payload"] for r in events(world, lead))
    # Both timed when the statement ran, the contact not before the claim it implies.
    assert when(claimed["at"]) == world.row(lead)["contact_timer_started_at"]
    assert when(claimed["at"]) <= when(contacted["at"])
    assert contacted["late"] is False


def test_reassigned_by_the_monitor(world):
    ana, ben = world.agents("Ana", "Ben")
    lead = world.lead(ana)
    world.travel("6 minutes")
    world.monitor()
    row = events(world, lead)[-1]
    payload = check(row, "reassigned", lead, ben, "claim_window")
    assert payload["from_agent_id"] == str(ana) and payload["reason"] == "unclaimed"
    assert when(payload["expires_at"]) == world.row(lead)["claim_timer_expires_at"]


def test_reassigned_manually(world):
    admin = world.agent("Boss", role="admin")
    ana, ben = world.agents("Ana", "Ben")
    lead = world.lead(ana)
    with world.as_agent(admin) as conn:
        conn.execute("select public.reassign_lead(%s, %s, 'vip')", (lead, ben))
    payload = check(events(world, lead)[-1], "reassigned", lead, ben, "manual")
    assert payload["from_agent_id"] == str(ana) and payload["reason"] == "manual"


def test_escalated(world):
    world.settings(max_reassignments=0)
    admin = world.agent("Boss", role="admin")
    ana = world.agent("Ana")
    lead = world.lead(ana)
    world.db.execute("update public.crm_leads set lead_claimed = true where id = %s", (lead,))
    world.travel("6 minutes")
    world.monitor()
    payload = check(events(world, lead)[-1], "escalated", lead, admin, "contact_window")
    assert payload["from_agent_id"] == str(ana) and payload["reason"] == "no_contact"
    assert payload["expires_at"] is None  # no timer runs for an escalated lead


def test_no_eligible_agent_once(world):
    ana = world.agent("Ana")
    lead = world.lead(ana)
    world.travel("6 minutes")
    world.monitor()
    world.monitor()  # still nobody: not announced again
    row = events(world, lead)[-1]
    payload = check(row, "no_eligible_agent", lead, ana, "claim_window")
    assert when(payload["expires_at"]) == world.row(lead)["claim_timer_expires_at"]
    assert [r["event"] for r in events(world, lead)] == ["assigned", "no_eligible_agent"]


def test_events_are_announced_on_crm_sla_with_their_outbox_id(world):
    ana, ben = world.agents("Ana", "Ben")
    listener = connect(world.url)
    listener.execute("listen crm_sla")
    lead = world.lead(ana)
    world.travel("6 minutes")
    world.monitor()
    notes = [json.loads(n.payload) for n in listener.notifies(timeout=1, stop_after=2)]
    listener.close()
    rows = events(world, lead)
    assert [n["outbox_id"] for n in notes] == [r["id"] for r in rows]
    assert [n["event"] for n in notes] == ["assigned", "reassigned"]
    assert all(n["lead_id"] == str(lead) for n in notes)


def test_a_large_statement_is_announced_once(world):
    world.agent("Ana")
    listener = connect(world.url)
    listener.execute("listen crm_sla")
    world.db.execute("insert into public.crm_leads (full_name) "
                     "select 'Lead ' || g from generate_series(1, 250) as g")
    notes = [json.loads(n.payload) for n in listener.notifies(timeout=0.5)]
    listener.close()
    first, last = world.db.execute(
        "select min(id) as a, max(id) as b from public.crm_sla_outbox").fetchone().values()
    # The statement's first lead, routed as it was written, is announced on its own.
    assert [n["outbox_id"] for n in notes[:1]] == [first]
    assert notes[1:] == [{"event": "batch", "count": 249, "first_outbox_id": first + 1,
                          "last_outbox_id": last}]


def test_a_rolled_back_transaction_leaves_no_event(world):
    ana, ben = world.agents("Ana", "Ben")
    lead = world.lead(ana)
    before = events(world)
    listener = connect(world.url)
    listener.execute("listen crm_sla")
    with psycopg.connect(world.url) as conn:  # not autocommit: one transaction
        conn.execute("insert into public.crm_leads (full_name, assigned_agent_id) "
                     "values ('x', %s)", (ben,))
        conn.execute("select public.claim_lead(%s)", (lead,))
        conn.execute("select public.reassign_lead(%s, %s)", (lead, ben))
        assert conn.execute("select count(*) from public.crm_sla_outbox").fetchone()[0] == 4
        conn.rollback()
    assert events(world) == before
    assert list(listener.notifies(timeout=0.3)) == []
    listener.close()


# -- who sees and writes events ---------------------------------------------------------------

@pytest.fixture
def two_agents_events(world):
    admin = world.agent("Boss", role="admin")
    ana, ben = world.agents("Ana", "Ben")
    world.lead(ana)
    world.lead(ben)
    world.lead(ben)
    return world, admin, ana, ben


def test_an_agent_reads_exactly_its_own_events(two_agents_events):
    world, _admin, ana, ben = two_agents_events
    with world.as_agent(ana) as conn:
        mine = conn.execute("select agent_id from public.crm_sla_outbox").fetchall()
    assert [r["agent_id"] for r in mine] == [ana]
    with world.as_agent(ben) as conn:
        assert conn.execute("select count(*) as n from public.crm_sla_outbox").fetchone()["n"] == 2


def test_admins_and_the_service_role_read_every_event(two_agents_events):
    world, admin, _ana, _ben = two_agents_events
    with world.as_agent(admin) as conn:
        assert conn.execute("select count(*) as n from public.crm_sla_outbox").fetchone()["n"] == 3
    with world.as_service() as conn:
        assert conn.execute("select count(*) as n from public.crm_sla_outbox").fetchone()["n"] == 3


def test_anon_reads_nothing(two_agents_events):
    world = two_agents_events[0]
    with world.as_anon() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("select count(*) from public.crm_sla_outbox")


@pytest.mark.parametrize("who", ["agent", "admin", "service"])
@pytest.mark.parametrize("sql", [
    "insert into public.crm_sla_outbox (event, lead_id, agent_id, payload) "
    "values ('assigned', null, %(me)s, '{}')",
    "update public.crm_sla_outbox set payload = '{}'",
    "delete from public.crm_sla_outbox",
    "select nextval('public.crm_sla_outbox_id_seq')",
    "select public.crm_sla_emit(array['assigned'], array[gen_random_uuid()], array[%(me)s::uuid], "
    "array['claim_window'], array[now()], array[now()])",
])
def test_nobody_but_the_engine_writes_events(two_agents_events, who, sql):
    world, admin, ana, _ben = two_agents_events
    me = {"agent": ana, "admin": admin, "service": None}[who]
    role = "service_role" if who == "service" else "authenticated"
    with world.as_role(role, me) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(sql, {"me": me})
    assert world.scalar("select count(*) from public.crm_sla_outbox") == 3


def test_system_actor_is_never_an_event_agent(world):
    ana, ben = world.agents("Ana", "Ben")
    lead = world.lead(ana)
    world.travel("6 minutes")
    world.monitor()
    assert SYSTEM_ACTOR not in {r["agent_id"] for r in events(world, lead)}
