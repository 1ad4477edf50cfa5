"""Black-box contract tests of version 3 (SPEC.md, "Version 3": "SLA ladder and the manager chain",
"Stop the clock", "Availability", "Ownership routing"), written from the SPEC's names only: tables,
columns, functions, event kinds, payload keys and SQLSTATEs. Time moves with sla_clock_travel."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from harness.testing import SYSTEM_ACTOR, near

S = timedelta(seconds=10)  # slack between SLA timestamps read in different statements


# -- helpers ------------------------------------------------------------------------------------

@contextlib.contextmanager
def refused(*states):
    """The block raises a database error, with one of `states` as SQLSTATE when given."""
    with pytest.raises(psycopg.Error) as info:
        yield info
    if states:
        assert info.value.sqlstate in states, (info.value.sqlstate, str(info.value))


def events(world, lead_id=None, kind=None) -> list[dict]:
    sql = "select * from public.crm_sla_outbox where true"
    args: list = []
    if lead_id is not None:
        sql += " and lead_id = %s"
        args.append(lead_id)
    if kind is not None:
        sql += " and event = %s"
        args.append(kind)
    return world.db.execute(sql + " order by id", args).fetchall()


def when(text):
    return None if text is None else datetime.fromisoformat(text)


def column(world, table, col) -> dict | None:
    return world.db.execute(
        "select data_type, is_nullable, column_default from information_schema.columns "
        "where table_schema = 'public' and table_name = %s and column_name = %s",
        (table, col)).fetchone()


def foreign_key(world, table, col) -> dict | None:
    return world.db.execute(
        "select c.confrelid::regclass::text as target, c.confdeltype as on_delete "
        "from pg_constraint c join pg_attribute a on a.attrelid = c.conrelid "
        "and a.attnum = c.conkey[1] where c.contype = 'f' and c.conrelid = %s::regclass "
        "and a.attname = %s and array_length(c.conkey, 1) = 1",
        (f"public.{table}", col)).fetchone()


def checks(world, table) -> str:
    rows = world.db.execute(
        "select pg_get_constraintdef(oid) as d from pg_constraint "
        "where conrelid = %s::regclass and contype = 'c'", (f"public.{table}",)).fetchall()
    return " | ".join(r["d"] for r in rows)


def primary_key(world, table) -> list[str]:
    rows = world.db.execute(
        "select a.attname from pg_constraint c join pg_attribute a on a.attrelid = c.conrelid "
        "and a.attnum = any(c.conkey) where c.contype = 'p' and c.conrelid = %s::regclass",
        (f"public.{table}",)).fetchall()
    return sorted(r["attname"] for r in rows)


def policy(world, name="P", **cols) -> uuid.UUID:
    cols = {"name": name, "match": json.dumps({}), **cols}
    for key in ("match", "pause_when"):
        if isinstance(cols.get(key), dict):
            cols[key] = json.dumps(cols[key])
    names = ", ".join(cols)
    marks = ", ".join(["%s"] * len(cols))
    return world.db.execute(
        f"insert into public.crm_sla_policies ({names}) values ({marks}) returning id",
        tuple(cols.values())).fetchone()["id"]


def step(world, policy_id, stage, at, notify, name):
    world.db.execute(
        "insert into public.crm_sla_policy_steps (policy_id, stage, at, notify, name) "
        "values (%s, %s, %s, %s, %s)", (policy_id, stage, at, notify, name))


def manager_of(world, agent, manager):
    world.db.execute(
        "insert into public.crm_sla_agent_routing (agent_id, manager_id) values (%s, %s) "
        "on conflict (agent_id) do update set manager_id = excluded.manager_id", (agent, manager))


def team(world, name, manager=None, members=()) -> uuid.UUID:
    tid = world.db.execute(
        "insert into public.crm_sla_teams (name, manager_id) values (%s, %s) returning id",
        (name, manager)).fetchone()["id"]
    for m in members:
        world.db.execute("insert into public.crm_sla_team_members (team_id, agent_id) "
                         "values (%s, %s)", (tid, m))
    return tid


def absence(world, agent, start: timedelta, end: timedelta, reason=None):
    now = world.now()
    return world.db.execute(
        "insert into public.crm_sla_agent_absences (agent_id, starts_at, ends_at, reason) "
        "values (%s, %s, %s, %s) returning id", (agent, now + start, now + end, reason)
    ).fetchone()["id"]


def owner(world, lead):
    return world.row(lead)["assigned_agent_id"]


def set_agent(world, agent, **values):
    sets = ", ".join(f"{k} = %s" for k in values)
    world.db.execute(f"update public.crm_agents set {sets} where id = %s",
                     (*values.values(), agent))


def claim(world, lead):
    world.db.execute("update public.crm_leads set lead_claimed = true where id = %s", (lead,))


def timers(world, lead) -> dict:
    return world.db.execute("select * from public.crm_lead_sla_timers where lead_id = %s",
                            (lead,)).fetchone()


def travel_to_monday(world, hour=10, minute=0) -> datetime:
    """Move the SLA clock to the next Monday (at least a day ahead) at hour:minute UTC."""
    now = world.now().astimezone(UTC)
    day = now.date() + timedelta(days=1)
    while day.weekday() != 0:
        day += timedelta(days=1)
    target = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
    return world.travel(target - now)


def calendar(world, name, hours) -> uuid.UUID:
    cid = world.db.execute("insert into public.crm_sla_calendars (name, time_zone) "
                           "values (%s, 'UTC') returning id", (name,)).fetchone()["id"]
    for weekday, opens, closes in hours:
        world.db.execute("insert into public.crm_sla_calendar_hours "
                         "(calendar_id, weekday, opens, closes) values (%s, %s, %s, %s)",
                         (cid, weekday, opens, closes))
    return cid


# == SLA ladder and the manager chain ==========================================================

def test_ddl_manager_id_on_agent_routing_and_teams(world):
    for table in ("crm_sla_agent_routing", "crm_sla_teams"):
        col = column(world, table, "manager_id")
        assert col is not None and col["data_type"] == "uuid", (table, col)
        assert col["is_nullable"] == "YES" and col["column_default"] is None
        assert foreign_key(world, table, "manager_id") == {"target": "crm_agents",
                                                           "on_delete": "n"}, table


def test_deleting_a_manager_sets_manager_id_null(world):
    a, m = world.agent("A"), world.agent("M")
    manager_of(world, a, m)
    t = team(world, "T", manager=m)
    world.db.execute("delete from public.crm_agents where id = %s", (m,))
    assert world.scalar("select manager_id from public.crm_sla_agent_routing "
                        "where agent_id = %s", (a,)) is None
    assert world.scalar("select manager_id from public.crm_sla_teams where id = %s",
                        (t,)) is None


def test_ddl_policy_steps(world):
    t = "crm_sla_policy_steps"
    assert primary_key(world, t) == ["id"]
    col = column(world, t, "id")
    assert col["data_type"] == "uuid" and "gen_random_uuid()" in (col["column_default"] or "")
    col = column(world, t, "policy_id")
    assert col["data_type"] == "uuid" and col["is_nullable"] == "YES"
    assert foreign_key(world, t, "policy_id") == {"target": "crm_sla_policies",
                                                  "on_delete": "c"}
    for name, typ in (("stage", "text"), ("at", "numeric"), ("notify", "text"),
                      ("name", "text")):
        col = column(world, t, name)
        assert col is not None and col["data_type"] == typ and col["is_nullable"] == "NO", name
    text = checks(world, t)
    for word in ("claim_window", "contact_window", "owner", "manager"):
        assert word in text, text


@pytest.mark.parametrize("stage,at,notify", [
    ("claim", 0.5, "owner"), ("claim_window", 0, "owner"), ("claim_window", 1, "owner"),
    ("contact_window", 1.5, "owner"), ("claim_window", 0.5, "admin"),
    ("claim_window", -0.1, "manager")])
def test_policy_steps_refuse_bad_rows(world, stage, at, notify):
    p = policy(world)
    with refused("23514", "SL010"):
        step(world, p, stage, at, notify, "x")
    assert world.scalar("select count(*) from public.crm_sla_policy_steps") == 0


def test_policy_steps_cascade_with_their_policy(world):
    p = policy(world)
    step(world, p, "claim_window", 0.5, "owner", "nudge")
    world.db.execute("delete from public.crm_sla_policies where id = %s", (p,))
    assert world.scalar("select count(*) from public.crm_sla_policy_steps") == 0


def test_step_to_owner_at_its_fraction_once_per_timer_run(world):
    world.settings(claim_window="10 minutes")
    a = world.agent("A")
    step(world, None, "claim_window", 0.5, "owner", "nudge")  # leads without a policy
    lead = world.lead(a)
    world.travel("4 minutes")
    world.monitor()
    assert events(world, lead, "step") == []
    world.travel("2 minutes")
    world.monitor()
    world.monitor()
    [ev] = events(world, lead, "step")
    assert ev["agent_id"] == a and ev["payload"]["step"] == "nudge"
    assert ev["payload"]["stage"] == "claim_window"
    assert when(ev["payload"]["expires_at"]) == world.row(lead)["claim_timer_expires_at"]
    world.travel("1 minute")
    world.monitor()
    assert len(events(world, lead, "step")) == 1


def test_policy_steps_are_the_policys_and_each_step_fires_once(world):
    a = world.agent("A")
    p = policy(world, claim_window="10 minutes")
    step(world, p, "claim_window", 0.3, "owner", "first")
    step(world, p, "claim_window", 0.6, "owner", "second")
    step(world, None, "claim_window", 0.1, "owner", "no-policy step")  # not this lead's
    lead = world.lead(a)
    assert world.row(lead)["sla_policy_id"] == p
    world.travel("4 minutes")
    world.monitor()
    assert [e["payload"]["step"] for e in events(world, lead, "step")] == ["first"]
    world.travel("3 minutes")
    world.monitor()
    world.monitor()
    assert [e["payload"]["step"] for e in events(world, lead, "step")] == ["first", "second"]


def test_step_runs_again_on_a_new_timer_run_after_reassignment(world):
    world.settings(claim_window="10 minutes")
    step(world, None, "claim_window", 0.5, "owner", "nudge")
    a = world.agent("A")
    lead = world.lead(a)
    b = world.agent("B")
    world.travel("6 minutes")
    world.monitor()
    world.travel("5 minutes")
    world.monitor()
    assert owner(world, lead) == b
    world.travel("6 minutes")
    world.monitor()
    assert [e["agent_id"] for e in events(world, lead, "step")] == [a, b]


def test_contact_window_steps_only_in_the_contact_window(world):
    world.settings(claim_window="10 minutes", contact_window="10 minutes")
    a = world.agent("A")
    step(world, None, "contact_window", 0.5, "owner", "call them")
    lead = world.lead(a)
    world.travel("6 minutes")
    world.monitor()
    assert events(world, lead, "step") == []
    claim(world, lead)
    world.travel("6 minutes")
    world.monitor()
    [ev] = events(world, lead, "step")
    assert ev["payload"]["stage"] == "contact_window" and ev["payload"]["step"] == "call them"


def test_step_to_manager_goes_to_own_manager(world):
    world.settings(claim_window="10 minutes")
    a, m, tm = world.agent("A"), world.agent("M"), world.agent("TM")
    manager_of(world, a, m)
    team(world, "Alpha", manager=tm, members=[a])
    step(world, None, "claim_window", 0.5, "manager", "tell boss")
    lead = world.lead(a)
    world.travel("6 minutes")
    world.monitor()
    [ev] = events(world, lead, "step")
    assert ev["agent_id"] == m and ev["payload"]["step"] == "tell boss"


def test_step_to_manager_uses_first_team_by_name_that_has_a_manager(world):
    world.settings(claim_window="10 minutes")
    a, mb, mc = world.agent("A"), world.agent("MB"), world.agent("MC")
    team(world, "Charlie", manager=mc, members=[a])
    team(world, "Alpha", manager=None, members=[a])
    team(world, "Bravo", manager=mb, members=[a])
    step(world, None, "claim_window", 0.5, "manager", "tell boss")
    lead = world.lead(a)
    world.travel("6 minutes")
    world.monitor()
    [ev] = events(world, lead, "step")
    assert ev["agent_id"] == mb


def test_manager_chain_skips_inactive_and_goes_upward(world):
    world.settings(claim_window="10 minutes")
    a, m1, m2, m3 = (world.agent(n) for n in ("A", "M1", "M2", "M3"))
    manager_of(world, a, m1)
    team(world, "Upper", manager=m2, members=[m1])  # m1 has no own manager: its team's
    manager_of(world, m2, m3)
    set_agent(world, m1, is_active=False)
    step(world, None, "claim_window", 0.5, "manager", "tell boss")
    lead = world.lead(a)
    world.travel("6 minutes")
    world.monitor()
    [ev] = events(world, lead, "step")
    assert ev["agent_id"] == m2
    set_agent(world, m2, is_active=False)
    lead2 = world.lead(a)
    world.travel("6 minutes")
    world.monitor()
    [ev] = events(world, lead2, "step")
    assert ev["agent_id"] == m3


def test_step_without_a_manager_is_written_with_null_agent(world):
    world.settings(claim_window="10 minutes")
    a = world.agent("A")
    step(world, None, "claim_window", 0.5, "manager", "tell boss")
    lead = world.lead(a)
    world.travel("6 minutes")
    world.monitor()
    [ev] = events(world, lead, "step")
    assert ev["agent_id"] is None
    assert ev["payload"]["notify"] == "manager" and ev["payload"]["step"] == "tell boss"


def test_manager_chain_cycle_of_inactive_managers_ends(world):
    world.settings(claim_window="10 minutes")
    a, m1, m2 = world.agent("A"), world.agent("M1"), world.agent("M2")
    manager_of(world, a, m1)
    manager_of(world, m1, m2)
    manager_of(world, m2, m1)
    set_agent(world, m1, is_active=False)
    set_agent(world, m2, is_active=False)
    step(world, None, "claim_window", 0.5, "manager", "tell boss")
    lead = world.lead(a)
    world.travel("6 minutes")
    world.monitor()
    [ev] = events(world, lead, "step")
    assert ev["agent_id"] is None and ev["payload"]["notify"] == "manager"


def test_step_counts_open_time_of_the_policy_calendar(world):
    start = travel_to_monday(world, 10, 0)
    cal = calendar(world, "Split", [(1, "10:00", "10:30"), (1, "11:00", "24:00")])
    a = world.agent("A")
    p = policy(world, claim_window="1 hour", calendar_id=cal)
    step(world, p, "claim_window", 0.75, "owner", "late")  # 45 min open: 11:15
    lead = world.lead(a)
    world.travel(start.replace(minute=50) - world.now())
    world.monitor()
    assert events(world, lead, "step") == []  # 50 plain minutes, 30 open
    world.travel(start.replace(hour=11, minute=16) - world.now())
    world.monitor()
    assert len(events(world, lead, "step")) == 1


def test_warn_at_keeps_working_with_steps(world):
    world.settings(claim_window="10 minutes")
    a = world.agent("A")
    step(world, None, "claim_window", 0.5, "owner", "nudge")
    lead = world.lead(a)
    world.travel("9 minutes")
    world.monitor()
    assert len(events(world, lead, "warning")) == 1
    assert len(events(world, lead, "step")) == 1


def test_ddl_on_breach(world):
    col = column(world, "crm_sla_policies", "on_breach")
    assert col["data_type"] == "text" and col["is_nullable"] == "NO"
    assert col["column_default"].startswith("'reassign'")
    with refused("23514", "SL010"):
        policy(world, on_breach="escalate")
    p = policy(world)
    assert world.scalar("select on_breach from public.crm_sla_policies where id = %s",
                        (p,)) == "reassign"


def test_on_breach_reassign_is_version_2(world):
    a, b = world.agent("A"), world.agent("B")
    policy(world, on_breach="reassign")
    lead = world.lead(a)
    world.travel("6 minutes")
    world.monitor()
    assert owner(world, lead) == b
    [row] = world.audit(lead)
    assert (row["reason"], row["stage"]) == ("unclaimed", "claim_window")


def _chain_setup(world):
    a, b, c = world.agent("A"), world.agent("B"), world.agent("C")
    m1, m2 = world.agent("M1"), world.agent("M2")
    manager_of(world, a, m1)
    manager_of(world, m1, m2)
    policy(world, on_breach="manager")
    return a, b, c, m1, m2


def test_on_breach_manager_reassigns_to_the_manager(world):
    a, b, c, m1, m2 = _chain_setup(world)
    leads = [world.lead(a) for _ in range(3)]
    world.travel("6 minutes")
    world.monitor()
    assert [owner(world, lead) for lead in leads] == [m1] * 3
    for lead in leads:
        [row] = world.audit(lead)
        assert row["to_agent_id"] == m1 and row["stage"] == "claim_window"
        assert row["reason"] == "unclaimed" and row["reassigned_by"] == SYSTEM_ACTOR
        assert world.row(lead)["claim_sla_breached"] and world.row(lead)["sla_breached"]


@pytest.mark.parametrize("why", ["not accepting", "inactive", "at capacity", "off shift",
                                 "absent"])
def test_on_breach_manager_takes_first_eligible_in_chain(world, why):
    a, b, c, m1, m2 = _chain_setup(world)
    if why == "not accepting":
        set_agent(world, m1, accepting_leads=False)
    elif why == "inactive":
        set_agent(world, m1, is_active=False)
    elif why == "at capacity":
        world.db.execute("update public.crm_sla_agent_routing set max_open_leads = 1 "
                         "where agent_id = %s", (m1,))
        world.lead(m1)
    elif why == "off shift":
        dow = int(world.scalar("select extract(dow from sla_now() at time zone 'UTC')"))
        cal = calendar(world, "Elsewhen", [((dow + 3) % 7, "00:00", "01:00")])
        world.db.execute("update public.crm_sla_agent_routing set calendar_id = %s "
                         "where agent_id = %s", (cal, m1))
    elif why == "absent":
        absence(world, m1, timedelta(minutes=-1), timedelta(days=1))
    leads = [world.lead(a) for _ in range(2)]
    world.travel("6 minutes")
    world.monitor()
    assert [owner(world, lead) for lead in leads] == [m2, m2]


def test_on_breach_manager_without_eligible_manager_reassigns(world):
    a, b, c, m1, m2 = _chain_setup(world)
    set_agent(world, m1, accepting_leads=False)
    set_agent(world, m2, accepting_leads=False)
    lead = world.lead(a)
    world.travel("6 minutes")
    world.monitor()
    assert owner(world, lead) in (b, c)
    [row] = world.audit(lead)
    assert row["reason"] == "unclaimed"


def test_on_breach_flag_keeps_the_owner_and_emits_breached_once_per_run(world):
    a, _b = world.agent("A"), world.agent("B")
    policy(world, on_breach="flag")
    lead = world.lead(a)
    world.travel("6 minutes")
    world.monitor()
    world.travel("6 minutes")
    world.monitor()
    row = world.row(lead)
    assert row["assigned_agent_id"] == a and row["claim_sla_breached"] and row["sla_breached"]
    assert world.audit(lead) == []
    [ev] = events(world, lead, "breached")
    assert ev["payload"]["stage"] == "claim_window"
    assert events(world, lead, "reassigned") == []
    assert events(world, lead, "escalated") == [] and events(world, lead, "no_eligible_agent") == []
    assert ev["agent_id"] == a
    claim(world, lead)  # a new timer run: the contact window
    world.travel("6 minutes")
    world.monitor()
    world.monitor()
    row = world.row(lead)
    assert row["assigned_agent_id"] == a and row["contact_sla_breached"]
    assert [e["payload"]["stage"] for e in events(world, lead, "breached")] == [
        "claim_window", "contact_window"]


def test_escalation_goes_up_the_last_owners_chain_before_an_admin(world):
    world.agent("Boss", role="admin")
    a, b = world.agent("A"), world.agent("B")
    ma, mb = world.agent("MA"), world.agent("MB")
    manager_of(world, a, ma)
    manager_of(world, b, mb)
    t = team(world, "Sales", members=[a, b])
    policy(world, max_reassignments=1, team_id=t)
    lead = world.lead(a)
    world.travel("6 minutes")
    world.monitor()
    assert owner(world, lead) == b
    world.travel("6 minutes")
    world.monitor()
    row = world.row(lead)
    assert row["assigned_agent_id"] == mb and row["sla_escalated_at"] is not None
    [ev] = events(world, lead, "escalated")
    assert ev["agent_id"] == mb
    assert ev["payload"]["from_agent_id"] == str(b) and ev["payload"]["reason"] == "unclaimed"
    assert world.audit(lead)[-1]["to_agent_id"] == mb


def test_escalation_skips_inactive_managers(world):
    world.agent("Boss", role="admin")
    a, b = world.agent("A"), world.agent("B")
    mb1, mb2 = world.agent("MB1"), world.agent("MB2")
    manager_of(world, b, mb1)
    manager_of(world, mb1, mb2)
    set_agent(world, mb1, is_active=False)
    t = team(world, "Sales", members=[a, b])
    policy(world, max_reassignments=1, team_id=t)
    lead = world.lead(a)
    world.travel("6 minutes")
    world.monitor()
    world.travel("6 minutes")
    world.monitor()
    assert owner(world, lead) == mb2


def test_escalation_without_chain_goes_to_an_admin(world):
    boss = world.agent("Boss", role="admin")
    a, _b = world.agent("A"), world.agent("B")
    policy(world, max_reassignments=1)
    lead = world.lead(a)
    world.travel("6 minutes")
    world.monitor()
    world.travel("6 minutes")
    world.monitor()
    assert owner(world, lead) == boss
    assert events(world, lead, "escalated")[0]["agent_id"] == boss


def test_ddl_webhook_format(world):
    col = column(world, "crm_sla_webhooks", "format")
    assert col["data_type"] == "text" and col["is_nullable"] == "NO"
    assert col["column_default"].startswith("'standard'")
    assert "slack" in checks(world, "crm_sla_webhooks")


def test_slack_webhook_body_is_one_text_sentence(world):
    from harness.deliver import Worker
    from tests.receiver import Receiver

    receiver = Receiver()
    try:
        world.settings(webhook_allow_private=True)
        secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
        world.db.execute("insert into public.crm_sla_webhooks (url, secret, events, format) "
                         "values (%s, %s, %s, 'slack')", (receiver.url, secret, ["assigned"]))
        a = world.agent("Annabel")
        world.lead(a, full_name="Zebulon Quark")
        Worker(world.url).run(once=True)
        [got] = receiver.wait_for(1)
        body = json.loads(got.body)
        assert set(body) == {"text"} and isinstance(body["text"], str) and body["text"]
        assert "Zebulon Quark" in body["text"] or "Zebulon" in body["text"], body
        assert "Annabel" in body["text"], body
        assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= set(got.headers)
    finally:
        receiver.close()


# == Stop the clock ===========================================================================

def _status_policy(world, **cols):
    world.db.execute("alter table public.crm_leads add column if not exists status text")
    return policy(world, claim_window="10 minutes", contact_window="10 minutes",
                  pause_when={"status": "waiting"}, **cols)


def test_ddl_pause_when_owner_may_snooze_sla_paused_at(world):
    col = column(world, "crm_sla_policies", "pause_when")
    assert col["data_type"] == "jsonb" and col["is_nullable"] == "YES"
    assert col["column_default"] is None
    col = column(world, "crm_sla_policies", "owner_may_snooze")
    assert col["data_type"] == "boolean" and col["is_nullable"] == "NO"
    assert col["column_default"] == "false"
    col = column(world, "crm_leads", "sla_paused_at")
    assert col["data_type"] == "timestamp with time zone"


def test_pause_when_pauses_on_update_and_resumes_with_time_left(world):
    a = world.agent("A")
    world.agent("B")
    _status_policy(world)
    lead = world.lead(a, status="new")
    deadline = world.row(lead)["claim_timer_expires_at"]
    world.travel("3 minutes")
    world.db.execute("update public.crm_leads set status = 'waiting' where id = %s", (lead,))
    paused_at = world.row(lead)["sla_paused_at"]
    assert near(paused_at, world.now(), S)
    [ev] = events(world, lead, "paused")
    left = deadline - paused_at
    world.travel("30 minutes")
    world.monitor()
    row = world.row(lead)
    assert row["assigned_agent_id"] == a and not row["claim_sla_breached"]
    assert world.audit(lead) == []
    world.db.execute("update public.crm_leads set status = 'open' where id = %s", (lead,))
    resumed = world.now()
    row = world.row(lead)
    assert row["sla_paused_at"] is None
    [ev] = events(world, lead, "resumed")
    assert near(row["claim_timer_expires_at"], resumed + left, S), (row, resumed, left)
    assert when(ev["payload"]["expires_at"]) == row["claim_timer_expires_at"]
    world.travel(left - timedelta(seconds=30))
    world.monitor()
    assert owner(world, lead) == a
    world.travel("1 minute")
    world.monitor()
    assert world.row(lead)["claim_sla_breached"]


def test_pause_when_pauses_an_agents_own_update(world):
    a = world.agent("A")
    _status_policy(world)
    lead = world.lead(a, status="new")
    with world.as_agent(a) as conn:
        conn.execute("update public.crm_leads set status = 'waiting' where id = %s", (lead,))
    assert world.row(lead)["sla_paused_at"] is not None
    assert len(events(world, lead, "paused")) == 1


def test_pause_when_at_insert(world):
    a = world.agent("A")
    _status_policy(world)
    lead = world.lead(a, status="waiting")
    assert world.row(lead)["sla_paused_at"] is not None
    world.travel("20 minutes")
    world.monitor()
    assert owner(world, lead) == a and not world.row(lead)["claim_sla_breached"]


def test_pause_holds_back_steps(world):
    a = world.agent("A")
    p = _status_policy(world)
    step(world, p, "claim_window", 0.5, "owner", "nudge")  # due 5 minutes in
    lead = world.lead(a, status="new")
    world.travel("3 minutes")
    world.db.execute("update public.crm_leads set status = 'waiting' where id = %s", (lead,))
    world.travel("10 minutes")
    world.monitor()
    assert events(world, lead, "step") == []
    world.db.execute("update public.crm_leads set status = 'new' where id = %s", (lead,))
    world.travel("90 seconds")
    world.monitor()
    assert events(world, lead, "step") == []  # 2 minutes of open time were left
    world.travel("60 seconds")
    world.monitor()
    assert len(events(world, lead, "step")) == 1


def test_pause_in_the_contact_window(world):
    a = world.agent("A")
    _status_policy(world)
    lead = world.lead(a, status="new")
    claim(world, lead)
    world.travel("2 minutes")
    world.db.execute("update public.crm_leads set status = 'waiting' where id = %s", (lead,))
    world.travel("30 minutes")
    world.monitor()
    row = world.row(lead)
    assert not row["contact_sla_breached"] and row["sla_paused_at"] is not None


def test_no_pause_when_null(world):
    a = world.agent("A")
    world.agent("B")
    world.db.execute("alter table public.crm_leads add column status text")
    policy(world, claim_window="10 minutes")
    lead = world.lead(a, status="waiting")
    assert world.row(lead)["sla_paused_at"] is None
    world.travel("11 minutes")
    world.monitor()
    assert world.row(lead)["claim_sla_breached"]


def test_an_agent_cannot_set_sla_paused_at(world):
    a = world.agent("A")
    lead = world.lead(a)
    with world.as_agent(a) as conn, contextlib.suppress(psycopg.Error):
        conn.execute("update public.crm_leads set sla_paused_at = now() where id = %s",
                     (lead,))
    assert world.row(lead)["sla_paused_at"] is None


def test_timers_view_status_pause(world):
    a = world.agent("A")
    _status_policy(world)
    lead = world.lead(a, status="waiting")
    t = timers(world, lead)
    assert t["timer_paused"] is True and t["paused_reason"] == "status"
    assert t["resumes_at"] is None


def test_snooze_by_service_role_and_its_end(world):
    a = world.agent("A")
    world.agent("B")
    world.settings(claim_window="10 minutes")
    lead = world.lead(a)
    deadline = world.row(lead)["claim_timer_expires_at"]
    world.travel("4 minutes")
    until = world.now() + timedelta(hours=1)
    with world.as_service() as svc:
        svc.execute("select public.crm_sla_snooze(%s, %s, %s)", (lead, until, "call back"))
    row = world.row(lead)
    assert row["sla_paused_at"] is not None
    left = deadline - row["sla_paused_at"]
    [ev] = events(world, lead, "paused")
    assert when(ev["payload"]["until"]) == until
    t = timers(world, lead)
    assert t["timer_paused"] is True and t["paused_reason"] == "snoozed"
    assert t["resumes_at"] == until
    world.travel("30 minutes")
    world.monitor()
    assert owner(world, lead) == a and not world.row(lead)["claim_sla_breached"]
    world.travel("31 minutes")
    world.monitor()
    assert len(events(world, lead, "resumed")) == 1
    row = world.row(lead)
    assert row["sla_paused_at"] is None and owner(world, lead) == a
    assert near(row["claim_timer_expires_at"], until + left, S), (row, until, left)


def test_snooze_null_resumes_at_once(world):
    a = world.agent("A")
    lead = world.lead(a)
    world.db.execute("select public.crm_sla_snooze(%s, %s)",
                     (lead, world.now() + timedelta(hours=2)))
    world.db.execute("select public.crm_sla_snooze(%s, null)", (lead,))
    assert world.row(lead)["sla_paused_at"] is None
    assert len(events(world, lead, "resumed")) == 1
    assert timers(world, lead)["timer_paused"] is False


def test_snooze_at_most_30_days(world):
    a = world.agent("A")
    lead = world.lead(a)
    with refused("SL010"):
        world.db.execute("select public.crm_sla_snooze(%s, %s)",
                         (lead, world.now() + timedelta(days=30, minutes=5)))
    assert world.row(lead)["sla_paused_at"] is None and events(world, lead, "paused") == []
    world.db.execute("select public.crm_sla_snooze(%s, %s)",
                     (lead, world.now() + timedelta(days=29, hours=23)))
    assert world.row(lead)["sla_paused_at"] is not None


def test_snooze_by_an_admin_agent(world):
    boss = world.agent("Boss", role="admin")
    a = world.agent("A")
    lead = world.lead(a)
    with world.as_agent(boss) as conn:
        conn.execute("select public.crm_sla_snooze(%s, %s)",
                     (lead, world.now() + timedelta(hours=1)))
    assert world.row(lead)["sla_paused_at"] is not None


def test_owner_may_snooze_only_when_the_policy_allows(world):
    a = world.agent("A")
    policy(world, "Strict", priority=1, match={"source": "strict"})
    policy(world, "Loose", priority=2, match={"source": "loose"}, owner_may_snooze=True)
    strict = world.lead(a, source="strict")
    loose = world.lead(a, source="loose")
    nopolicy = world.lead(a, source="none")
    until = world.now() + timedelta(hours=1)
    for lead in (strict, nopolicy):
        with world.as_agent(a) as conn, refused():
            conn.execute("select public.crm_sla_snooze(%s, %s)", (lead, until))
        assert world.row(lead)["sla_paused_at"] is None
    with world.as_agent(a) as conn:
        conn.execute("select public.crm_sla_snooze(%s, %s)", (loose, until))
    assert world.row(loose)["sla_paused_at"] is not None


def test_snooze_of_another_agents_lead_is_sl002(world):
    a, b = world.agent("A"), world.agent("B")
    policy(world, owner_may_snooze=True)
    lead = world.lead(a)
    with world.as_agent(b) as conn, refused("SL002"):
        conn.execute("select public.crm_sla_snooze(%s, %s)",
                     (lead, world.now() + timedelta(hours=1)))
    assert world.row(lead)["sla_paused_at"] is None


def test_timers_view_closed_time(world):
    travel_to_monday(world, 10, 0)
    cal = calendar(world, "Late", [(1, "11:00", "12:00")])
    a = world.agent("A")
    policy(world, calendar_id=cal)
    lead = world.lead(a)
    t = timers(world, lead)
    assert t["timer_paused"] is True and t["paused_reason"] == "closed"
    assert t["resumes_at"] is not None and t["resumes_at"].astimezone(UTC).hour == 11


def test_timers_view_running(world):
    a = world.agent("A")
    lead = world.lead(a)
    t = timers(world, lead)
    assert t["timer_paused"] is False and t["paused_reason"] is None


# == Availability =============================================================================

def test_ddl_absences(world):
    t = "crm_sla_agent_absences"
    assert primary_key(world, t) == ["id"]
    assert "gen_random_uuid()" in column(world, t, "id")["column_default"]
    for name, typ, null in (("agent_id", "uuid", "NO"),
                            ("starts_at", "timestamp with time zone", "NO"),
                            ("ends_at", "timestamp with time zone", "NO"),
                            ("reason", "text", "YES")):
        col = column(world, t, name)
        assert col is not None and (col["data_type"], col["is_nullable"]) == (typ, null), name
    assert foreign_key(world, t, "agent_id") == {"target": "crm_agents", "on_delete": "c"}
    a = world.agent("A")
    assert "ends_at > starts_at" in checks(world, t)
    with refused("23514", "SL010"):
        absence(world, a, timedelta(hours=1), timedelta(hours=1))
    absence(world, a, timedelta(0), timedelta(hours=1))
    world.db.execute("delete from public.crm_agents where id = %s", (a,))
    assert world.scalar("select count(*) from public.crm_sla_agent_absences") == 0


def test_absent_agent_is_not_routed(world):
    a, b = world.agent("A"), world.agent("B")
    absence(world, a, timedelta(minutes=-5), timedelta(hours=1))
    leads = [world.lead(None) for _ in range(4)]
    assert {owner(world, lead) for lead in leads} == {b}
    with world.as_service() as svc:
        rows = svc.execute("select * from public.crm_sla_explain_routing(%s)",
                           (leads[0],)).fetchall()
    assert [r["eligible"] for r in rows if r["agent_id"] == a] == [False]


def test_absence_in_the_future_or_past_does_not_block(world):
    a = world.agent("A")
    absence(world, a, timedelta(hours=1), timedelta(hours=2))
    absence(world, a, timedelta(hours=-3), timedelta(hours=-2))
    assert owner(world, world.lead(None)) == a
    world.travel("61 minutes")
    lead = world.lead(None)
    assert owner(world, lead) is None
    world.travel("60 minutes")
    world.monitor()
    assert owner(world, lead) == a


def test_absences_rls(world):
    a, b = world.agent("A"), world.agent("B")
    boss = world.agent("Boss", role="admin")
    theirs = absence(world, b, timedelta(hours=1), timedelta(hours=2))
    now = world.now()
    with world.as_agent(a) as conn:
        mine = conn.execute(
            "insert into public.crm_sla_agent_absences (agent_id, starts_at, ends_at, reason) "
            "values (%s, %s, %s, 'holiday') returning id",
            (a, now + timedelta(days=1), now + timedelta(days=2))).fetchone()["id"]
        seen = [r["id"] for r in conn.execute(
            "select id from public.crm_sla_agent_absences").fetchall()]
        assert seen == [mine]
        with refused():
            conn.execute("insert into public.crm_sla_agent_absences (agent_id, starts_at, "
                         "ends_at) values (%s, %s, %s)",
                         (b, now + timedelta(days=1), now + timedelta(days=2)))
        conn.execute("delete from public.crm_sla_agent_absences where id = %s", (theirs,))
    assert world.scalar("select count(*) from public.crm_sla_agent_absences where id = %s",
                        (theirs,)) == 1
    with world.as_agent(a) as conn:
        conn.execute("delete from public.crm_sla_agent_absences where id = %s", (mine,))
    assert world.scalar("select count(*) from public.crm_sla_agent_absences where id = %s",
                        (mine,)) == 0
    with world.as_agent(boss) as conn:
        assert conn.execute("select count(*) as n from public.crm_sla_agent_absences"
                            ).fetchone()["n"] == 1
        new = conn.execute(
            "insert into public.crm_sla_agent_absences (agent_id, starts_at, ends_at) "
            "values (%s, %s, %s) returning id",
            (a, now + timedelta(days=3), now + timedelta(days=4))).fetchone()["id"]
        conn.execute("delete from public.crm_sla_agent_absences where id in (%s, %s)",
                     (theirs, new))
    assert world.scalar("select count(*) from public.crm_sla_agent_absences") == 0
    with world.as_anon() as conn, contextlib.suppress(psycopg.Error):
        assert conn.execute("select count(*) as n from public.crm_sla_agent_absences"
                            ).fetchone()["n"] == 0


def test_absence_hands_over_unclaimed_leads_at_the_next_pass(world):
    world.settings(claim_window="1 hour", contact_window="1 hour")
    a, b = world.agent("A"), world.agent("B")
    unclaimed = world.lead(a)
    claimed = world.lead(a)
    claim(world, claimed)
    absence(world, a, timedelta(minutes=10), timedelta(days=1))
    world.travel("5 minutes")
    world.monitor()
    assert owner(world, unclaimed) == a
    world.travel("6 minutes")
    world.monitor()
    assert owner(world, unclaimed) == b and owner(world, claimed) == a
    [row] = world.audit(unclaimed)
    assert (row["reason"], row["stage"]) == ("unavailable", "claim_window")
    assert row["from_agent_id"] == a and row["to_agent_id"] == b
    assert row["reassigned_by"] == SYSTEM_ACTOR
    lead = world.row(unclaimed)
    assert not lead["claim_sla_breached"] and not lead["sla_breached"]
    assert world.audit(claimed) == []


def test_unavailable_counts_toward_max_reassignments(world):
    boss = world.agent("Boss", role="admin")
    world.settings(claim_window="1 hour", max_reassignments=1)
    a, b = world.agent("A"), world.agent("B")
    lead = world.lead(a)
    absence(world, a, timedelta(minutes=-1), timedelta(days=1))
    world.monitor()
    assert owner(world, lead) == b
    world.travel("61 minutes")
    world.monitor()
    assert owner(world, lead) == boss and world.row(lead)["sla_escalated_at"] is not None


def test_reassignment_reasons_allow_declined_and_unavailable(world):
    text = checks(world, "crm_lead_reassignments")
    for word in ("declined", "unavailable", "unclaimed", "no_contact", "manual",
                 "claim_window", "contact_window"):
        assert word in text, text


def test_decline_lead_routes_at_once(world):
    a, b = world.agent("A"), world.agent("B")
    lead = world.lead(a)
    world.travel("1 minute")
    with world.as_agent(a) as conn:
        conn.execute("select public.decline_lead(%s, %s)", (lead, "wrong region"))
    row = world.row(lead)
    assert row["assigned_agent_id"] == b and row["reassignment_count"] == 1
    assert not row["claim_sla_breached"] and not row["sla_breached"]
    assert near(row["claim_timer_started_at"], world.now(), S)
    [audit] = world.audit(lead)
    assert (audit["reason"], audit["stage"], audit["notes"]) == (
        "declined", "claim_window", "wrong region")
    assert audit["reassigned_by"] == a and audit["from_agent_id"] == a
    assert audit["to_agent_id"] == b


def test_decline_without_reason(world):
    a, _b = world.agent("A"), world.agent("B")
    lead = world.lead(a)
    with world.as_agent(a) as conn:
        conn.execute("select public.decline_lead(%s)", (lead,))
    [audit] = world.audit(lead)
    assert audit["notes"] is None and audit["reason"] == "declined"


def test_decline_never_goes_back_to_the_decliner(world):
    a = world.agent("A")
    b = world.agent("B")
    c = world.agent("C")
    for _ in range(4):
        lead = world.lead(a)
        with world.as_agent(a) as conn:
            conn.execute("select public.decline_lead(%s)", (lead,))
        assert owner(world, lead) in (b, c)


def _unchanged(world, lead, before):
    assert world.row(lead) == before
    assert world.audit(lead) == []


def test_decline_refusals(world):
    a, b = world.agent("A"), world.agent("B")
    claimed = world.lead(a)
    claim(world, claimed)
    before = world.row(claimed)
    with world.as_agent(a) as conn, refused("SL003"):
        conn.execute("select public.decline_lead(%s)", (claimed,))
    _unchanged(world, claimed, before)
    other = world.lead(b)
    before = world.row(other)
    with world.as_agent(a) as conn, refused("SL002"):
        conn.execute("select public.decline_lead(%s)", (other,))
    _unchanged(world, other, before)


def test_decline_with_nobody_else_eligible_is_sl007_with_hint(world):
    a = world.agent("A")
    world.agent("B", accepting=False)
    lead = world.lead(a)
    before = world.row(lead)
    n_events = len(events(world, lead))
    with world.as_agent(a) as conn, refused("SL007") as info:
        conn.execute("select public.decline_lead(%s, 'nope')", (lead,))
    assert info.value.diag.message_hint
    _unchanged(world, lead, before)
    assert len(events(world, lead)) == n_events


def test_declines_count_toward_max_reassignments(world):
    boss = world.agent("Boss", role="admin")
    world.settings(max_reassignments=1)
    a, b = world.agent("A"), world.agent("B")
    lead = world.lead(a)
    with world.as_agent(a) as conn:
        conn.execute("select public.decline_lead(%s)", (lead,))
    assert owner(world, lead) == b
    world.travel("6 minutes")
    world.monitor()
    assert owner(world, lead) == boss and world.row(lead)["sla_escalated_at"] is not None


def test_ddl_auto_pause_after(world):
    col = column(world, "crm_sla_settings", "auto_pause_after")
    assert col["data_type"] == "integer" and col["is_nullable"] == "YES"
    assert col["column_default"] is None


def _miss(world, a, others):
    """A lead of `a` misses its claim window; whoever gets it claims it at once."""
    lead = world.lead(a)
    world.travel("6 minutes")
    world.monitor()
    assert owner(world, lead) in others
    claim(world, lead)
    return lead


def test_auto_pause_after_misses_in_a_row(world):
    world.settings(auto_pause_after=2)
    a, b = world.agent("A"), world.agent("B")
    _miss(world, a, [b])
    assert world.scalar("select accepting_leads from public.crm_agents where id = %s", (a,))
    assert events(world, kind="agent_paused") == []
    _miss(world, a, [b])
    assert not world.scalar("select accepting_leads from public.crm_agents where id = %s",
                            (a,))
    [ev] = events(world, kind="agent_paused")
    assert ev["agent_id"] == a


def test_auto_pause_resets_on_a_claim(world):
    world.settings(auto_pause_after=2)
    a, b = world.agent("A"), world.agent("B")
    _miss(world, a, [b])
    claim(world, world.lead(a))
    _miss(world, a, [b])
    assert world.scalar("select accepting_leads from public.crm_agents where id = %s", (a,))
    _miss(world, a, [b])
    assert not world.scalar("select accepting_leads from public.crm_agents where id = %s",
                            (a,))


def test_auto_pause_off_by_default(world):
    a, b = world.agent("A"), world.agent("B")
    for _ in range(4):
        _miss(world, a, [b])
    assert world.scalar("select accepting_leads from public.crm_agents where id = %s", (a,))
    assert events(world, kind="agent_paused") == []


# == Ownership routing ========================================================================

def _company(world, **cols):
    world.db.execute("alter table public.crm_leads add column if not exists company text")
    return policy(world, owner_key="company", **cols)


def test_ddl_owner_key_and_sl010(world):
    col = column(world, "crm_sla_policies", "owner_key")
    assert col["data_type"] == "text" and col["is_nullable"] == "YES"
    assert col["column_default"] is None
    with refused("SL010"):
        policy(world, "Bad", owner_key="no_such_column")
    assert world.scalar("select count(*) from public.crm_sla_policies") == 0
    p = policy(world, "Good", owner_key="email")
    with refused("SL010"):
        world.db.execute("update public.crm_sla_policies set owner_key = 'nope' where id = %s",
                         (p,))
    assert world.scalar("select owner_key from public.crm_sla_policies") == "email"


def test_owner_key_routes_to_the_owner_of_the_account(world):
    a, b = world.agent("A"), world.agent("B")
    _company(world)
    world.lead(a, company="Acme")
    # fair order alone would spread these over A and B
    assert [owner(world, world.lead(None, company="Acme")) for _ in range(3)] == [a] * 3
    assert owner(world, world.lead(None, company=None)) == b


def test_owner_key_uses_the_most_recent_other_lead(world):
    a, b, _c = world.agent("A"), world.agent("B"), world.agent("C")
    _company(world)
    world.lead(b, company="Acme")
    world.lead(a, company="Acme")
    assert [owner(world, world.lead(None, company="Acme")) for _ in range(3)] == [a] * 3


def test_owner_key_uses_the_current_owner(world):
    a, b, _c = world.agent("A"), world.agent("B"), world.agent("C")
    _company(world)
    first = world.lead(a, company="Acme")
    world.db.execute("select public.reassign_lead(%s, %s)", (first, b))
    assert [owner(world, world.lead(None, company="Acme")) for _ in range(3)] == [b] * 3


@pytest.mark.parametrize("why", ["not accepting", "absent", "at capacity", "not in team"])
def test_owner_key_only_when_that_owner_is_eligible(world, why):
    a, b = world.agent("A"), world.agent("B")
    cols = {}
    if why == "not in team":
        cols["team_id"] = team(world, "Team", members=[b])
    _company(world, **cols)
    world.lead(a, company="Acme")
    if why == "not accepting":
        set_agent(world, a, accepting_leads=False)
    elif why == "absent":
        absence(world, a, timedelta(minutes=-1), timedelta(hours=1))
    elif why == "at capacity":
        world.db.execute("insert into public.crm_sla_agent_routing (agent_id, max_open_leads) "
                         "values (%s, 1)", (a,))
    world.lead(b, company="Other")  # b now the most recently assigned
    assert owner(world, world.lead(None, company="Acme")) == b


def test_owner_key_out_of_the_overflow_queue_and_explain(world):
    a = world.agent("A")
    _company(world)
    world.lead(a, company="Acme")
    set_agent(world, a, accepting_leads=False)
    lead = world.lead(None, company="Acme")
    assert owner(world, lead) is None
    b = world.agent("B")  # never assigned: fair order would pick B
    set_agent(world, b, accepting_leads=False)
    set_agent(world, a, accepting_leads=True)
    set_agent(world, b, accepting_leads=True)
    with world.as_service() as svc:
        rows = svc.execute("select * from public.crm_sla_explain_routing(%s)",
                           (lead,)).fetchall()
    [row_a] = [r for r in rows if r["agent_id"] == a]
    assert row_a["eligible"] and row_a["rank"] == 1, rows
    assert row_a["reason"] == "owner of company Acme", rows
    world.monitor()
    assert owner(world, lead) == a


def test_owner_key_explain_at_intake_decision(world):
    a, b = world.agent("A"), world.agent("B")
    _company(world)
    world.lead(a, company="Acme")
    set_agent(world, a, accepting_leads=False)
    set_agent(world, b, accepting_leads=False)
    lead = world.lead(None, company="Acme")
    set_agent(world, a, accepting_leads=True)
    set_agent(world, b, accepting_leads=True)
    with world.as_service() as svc:
        rows = svc.execute("select * from public.crm_sla_explain_routing(%s) order by rank",
                           (lead,)).fetchall()
    assert rows[0]["agent_id"] == a and rows[0]["reason"] == "owner of company Acme"


def test_breaches_do_not_use_owner_key(world):
    a, b, c = world.agent("A"), world.agent("B"), world.agent("C")
    _company(world)
    leads = [world.lead(b, company="Acme") for _ in range(4)]
    world.lead(a, company="Acme")  # the most recent Acme lead: A's
    world.travel("6 minutes")
    world.monitor()
    new_owners = [owner(world, lead) for lead in leads]
    assert c in new_owners, new_owners


# == Security of the new functions and tables =================================================

def test_anon_gets_nothing_of_version_3(world):
    a = world.agent("A")
    lead = world.lead(a)
    for sql in ("select public.decline_lead(%s)", "select public.crm_sla_snooze(%s, null)"):
        with world.as_anon() as conn, refused():
            conn.execute(sql, (lead,))
    for table in ("crm_sla_agent_absences", "crm_sla_policy_steps"):
        with world.as_anon() as conn:
            try:
                rows = conn.execute(f"select * from public.{table}").fetchall()
            except psycopg.Error:
                continue
            assert rows == [], table
    assert world.row(lead)["assigned_agent_id"] == a


# == further sentences ========================================================================

def test_chain_of_inactive_own_manager_continues_from_that_manager_not_the_agents_team(world):
    """Chain: own manager_id, else first team's manager; then THAT manager's chain."""
    world.settings(claim_window="10 minutes")
    a, m1, tm = world.agent("A"), world.agent("M1"), world.agent("TM")
    manager_of(world, a, m1)
    team(world, "Alpha", manager=tm, members=[a])  # A's team: not in the chain (own manager set)
    set_agent(world, m1, is_active=False)          # M1 has no manager of its own
    step(world, None, "claim_window", 0.5, "manager", "tell boss")
    lead = world.lead(a)
    world.travel("6 minutes")
    world.monitor()
    [ev] = events(world, lead, "step")
    assert ev["agent_id"] is None and ev["payload"]["notify"] == "manager"


def test_on_breach_manager_in_the_contact_window(world):
    a, b, c, m1, m2 = _chain_setup(world)
    lead = world.lead(a)
    claim(world, lead)
    world.travel("6 minutes")
    world.monitor()
    assert owner(world, lead) == m1
    [row] = world.audit(lead)
    assert (row["reason"], row["stage"]) == ("no_contact", "contact_window")


def test_on_breach_manager_respects_the_policy_team(world):
    a, b, m1, m2 = world.agent("A"), world.agent("B"), world.agent("M1"), world.agent("M2")
    manager_of(world, a, m1)
    manager_of(world, m1, m2)
    t = team(world, "Sales", members=[a, b, m2])  # M1 not in the policy's team
    policy(world, on_breach="manager", team_id=t)
    lead = world.lead(a)
    world.travel("6 minutes")
    world.monitor()
    assert owner(world, lead) == m2


def test_decline_and_unavailable_write_reassigned_events(world):
    world.settings(claim_window="1 hour", contact_window="1 hour")
    a, b = world.agent("A"), world.agent("B")
    declined = world.lead(a)
    with world.as_agent(a) as conn:
        conn.execute("select public.decline_lead(%s, 'busy')", (declined,))
    [ev] = events(world, declined, "reassigned")
    assert ev["agent_id"] == b and ev["payload"]["reason"] == "declined"
    assert ev["payload"]["from_agent_id"] == str(a) and ev["payload"]["stage"] == "claim_window"
    handed = world.lead(a)
    absence(world, a, timedelta(minutes=-1), timedelta(hours=5))
    world.monitor()
    [ev] = events(world, handed, "reassigned")
    assert ev["agent_id"] == b and ev["payload"]["reason"] == "unavailable"
    assert ev["payload"]["from_agent_id"] == str(a) and ev["payload"]["stage"] == "claim_window"


def test_auto_pause_counts_only_missed_claim_windows(world):
    world.settings(auto_pause_after=1, claim_window="10 minutes", contact_window="5 minutes")
    a, b = world.agent("A"), world.agent("B")
    declined = world.lead(a)
    with world.as_agent(a) as conn:
        conn.execute("select public.decline_lead(%s)", (declined,))
    claim(world, declined)
    contact = world.lead(a)
    claim(world, contact)
    world.travel("6 minutes")
    world.monitor()  # a missed contact window: not a missed claim
    assert owner(world, contact) == b
    claim(world, contact)
    world.db.execute("update public.crm_leads set first_action_completed = true "
                     "where assigned_agent_id = %s", (b,))
    away = world.lead(a)
    absence(world, a, timedelta(minutes=-1), timedelta(minutes=30))
    world.monitor()  # an absence's hand-over: not a missed claim
    assert owner(world, away) == b
    assert world.scalar("select accepting_leads from public.crm_agents where id = %s", (a,))
    assert events(world, kind="agent_paused") == []


def test_owner_key_ineligible_owner_falls_back_to_fair_order_not_an_older_lead(world):
    a, b, c = world.agent("A"), world.agent("B"), world.agent("C")
    _company(world)
    world.lead(b, company="Acme")
    world.lead(a, company="Acme")  # the most recent: A's
    for x in (a, b, c):
        set_agent(world, x, accepting_leads=False)
    lead = world.lead(None, company="Acme")
    set_agent(world, b, accepting_leads=True)
    set_agent(world, c, accepting_leads=True)
    with world.as_service() as svc:
        rows = svc.execute("select * from public.crm_sla_explain_routing(%s)",
                           (lead,)).fetchall()
    assert not any((r["reason"] or "").startswith("owner of") for r in rows), rows
    [first] = [r for r in rows if r["rank"] == 1]
    world.monitor()
    assert owner(world, lead) == first["agent_id"]


def test_an_agent_cannot_clear_sla_paused_at(world):
    a = world.agent("A")
    _status_policy(world)
    lead = world.lead(a, status="waiting")
    with world.as_agent(a) as conn, contextlib.suppress(psycopg.Error):
        conn.execute("update public.crm_leads set sla_paused_at = null where id = %s",
                     (lead,))
    assert world.row(lead)["sla_paused_at"] is not None


def test_paused_time_never_counts_in_statistics(world):
    a = world.agent("A")
    _status_policy(world)
    lead = world.lead(a, status="new")
    world.travel("3 minutes")
    world.db.execute("update public.crm_leads set status = 'waiting' where id = %s", (lead,))
    world.travel("30 minutes")
    world.db.execute("update public.crm_leads set status = 'new' where id = %s", (lead,))
    world.travel("1 minute")
    claim(world, lead)
    [ev] = events(world, lead, "claimed")
    assert ev["payload"].get("late") in (False, None)
    elapsed = world.scalar("select elapsed from public.crm_lead_sla_events "
                           "where lead_id = %s and event = 'claimed'", (lead,))
    assert elapsed < timedelta(minutes=5), elapsed
    stats = world.db.execute("select * from public.crm_agent_sla_stats where agent_id = %s",
                             (a,)).fetchone()
    assert stats["claimed_in_window"] == 1 and stats["claimed_late"] == 0, stats
    assert stats["median_seconds_to_claim"] < 300, stats


def test_snooze_holds_back_steps(world):
    world.settings(claim_window="10 minutes")
    step(world, None, "claim_window", 0.5, "owner", "nudge")
    a = world.agent("A")
    lead = world.lead(a)
    world.travel("2 minutes")
    world.db.execute("select public.crm_sla_snooze(%s, %s)",
                     (lead, world.now() + timedelta(minutes=30)))
    world.travel("20 minutes")
    world.monitor()
    assert events(world, lead, "step") == []
    world.travel("11 minutes")  # snooze over: 3 minutes to the step
    world.monitor()
    assert events(world, lead, "step") == []
    world.travel("4 minutes")
    world.monitor()
    assert len(events(world, lead, "step")) == 1


def test_snooze_ending_while_the_row_matches_pause_when_stays_paused(world):
    a = world.agent("A")
    world.agent("B")
    _status_policy(world)
    lead = world.lead(a, status="waiting")
    world.db.execute("select public.crm_sla_snooze(%s, %s)",
                     (lead, world.now() + timedelta(minutes=30)))
    world.travel("2 hours")
    world.monitor()
    row = world.row(lead)
    assert row["assigned_agent_id"] == a and not row["claim_sla_breached"]
    assert row["sla_paused_at"] is not None
    assert timers(world, lead)["timer_paused"] is True


def test_row_stopping_to_match_does_not_end_a_snooze(world):
    a = world.agent("A")
    world.agent("B")
    _status_policy(world)
    lead = world.lead(a, status="new")
    world.db.execute("select public.crm_sla_snooze(%s, %s)",
                     (lead, world.now() + timedelta(hours=1)))
    world.db.execute("update public.crm_leads set status = 'waiting' where id = %s", (lead,))
    world.db.execute("update public.crm_leads set status = 'new' where id = %s", (lead,))
    assert world.row(lead)["sla_paused_at"] is not None
    world.travel("30 minutes")
    world.monitor()
    row = world.row(lead)
    assert row["assigned_agent_id"] == a and not row["claim_sla_breached"]


def test_decline_prefers_agents_who_have_not_held_the_lead(world):
    a, b, c = world.agent("A"), world.agent("B"), world.agent("C")
    lead = world.lead(b)
    world.db.execute("select public.reassign_lead(%s, %s)", (lead, a))
    with world.as_agent(a) as conn:
        conn.execute("select public.decline_lead(%s)", (lead,))
    assert owner(world, lead) == c


def test_paused_and_resumed_events_of_a_snooze_carry_until(world):
    a = world.agent("A")
    lead = world.lead(a)
    until = world.now() + timedelta(minutes=20)
    world.db.execute("select public.crm_sla_snooze(%s, %s, 'later')", (lead, until))
    world.travel("21 minutes")
    world.monitor()
    [paused] = events(world, lead, "paused")
    [resumed] = events(world, lead, "resumed")
    assert when(paused["payload"]["until"]) == until
    assert "until" in resumed["payload"]


def test_resume_deadline_counts_the_open_time_left(world):
    start = travel_to_monday(world, 10, 0)
    cal = calendar(world, "Split", [(1, "10:00", "10:30"), (1, "11:00", "24:00")])
    a = world.agent("A")
    _status_policy(world)
    world.db.execute("update public.crm_sla_policies set claim_window = '20 minutes', "
                     "calendar_id = %s", (cal,))
    lead = world.lead(a, status="new")
    world.travel(start.replace(minute=5) - world.now())
    world.db.execute("update public.crm_leads set status = 'waiting' where id = %s", (lead,))
    world.travel(start.replace(minute=25) - world.now())
    world.db.execute("update public.crm_leads set status = 'new' where id = %s", (lead,))
    # about 15 open minutes were left: 5 until 10:30, then 10 from 11:00
    expected = start.replace(hour=11, minute=10)
    assert near(world.row(lead)["claim_timer_expires_at"], expected, timedelta(seconds=30))


def test_owner_key_uses_the_most_recent_lead_whatever_its_stage(world):
    a, _b = world.agent("A"), world.agent("B")
    _company(world)
    done = world.lead(a, company="Acme")
    world.db.execute("update public.crm_leads set lead_claimed = true, "
                     "first_action_completed = true where id = %s", (done,))
    assert [owner(world, world.lead(None, company="Acme")) for _ in range(3)] == [a] * 3


def test_owner_key_is_the_leads_policys(world):
    a, b = world.agent("A"), world.agent("B")
    world.db.execute("alter table public.crm_leads add column company text")
    policy(world, "Web", match={"source": "web"}, owner_key="company")
    world.lead(a, company="Acme", source="web")
    owners = [owner(world, world.lead(None, company="Acme", source="ads"))
              for _ in range(4)]  # no policy: no owner key, fair order
    assert b in owners, owners


def test_team_manager_used_when_the_routing_row_has_no_manager(world):
    world.settings(claim_window="10 minutes")
    a, tm = world.agent("A"), world.agent("TM")
    world.db.execute("insert into public.crm_sla_agent_routing (agent_id, weight, manager_id) "
                     "values (%s, 2, null)", (a,))
    team(world, "Alpha", manager=tm, members=[a])
    step(world, None, "claim_window", 0.5, "manager", "tell boss")
    lead = world.lead(a)
    world.travel("6 minutes")
    world.monitor()
    [ev] = events(world, lead, "step")
    assert ev["agent_id"] == tm


def test_inactive_manager_of_the_first_team_continues_upward_from_it(world):
    """First team (by name) that has a manager: Bravo (its manager inactive); then that
    manager's chain: MB's own manager MM. Charlie's manager is not in A's chain."""
    world.settings(claim_window="10 minutes")
    a, mb, mm, mc = (world.agent(n) for n in ("A", "MB", "MM", "MC"))
    team(world, "Bravo", manager=mb, members=[a])
    team(world, "Charlie", manager=mc, members=[a])
    manager_of(world, mb, mm)
    set_agent(world, mb, is_active=False)
    step(world, None, "claim_window", 0.5, "manager", "tell boss")
    lead = world.lead(a)
    world.travel("6 minutes")
    world.monitor()
    [ev] = events(world, lead, "step")
    assert ev["agent_id"] == mm


def test_snooze_of_exactly_30_days_is_allowed(world):
    a = world.agent("A")
    lead = world.lead(a)
    world.db.execute("select public.crm_sla_snooze(%s, public.sla_now() + interval '30 days')",
                     (lead,))
    assert world.row(lead)["sla_paused_at"] is not None


def test_a_step_already_done_is_not_repeated_after_a_resume(world):
    a = world.agent("A")
    p = _status_policy(world)
    step(world, p, "claim_window", 0.2, "owner", "early")  # 2 minutes in
    lead = world.lead(a, status="new")
    world.travel("3 minutes")
    world.monitor()
    assert len(events(world, lead, "step")) == 1
    world.db.execute("update public.crm_leads set status = 'waiting' where id = %s", (lead,))
    world.travel("5 minutes")
    world.db.execute("update public.crm_leads set status = 'new' where id = %s", (lead,))
    world.travel("3 minutes")
    world.monitor()
    assert len(events(world, lead, "step")) == 1


def test_pause_events_only_when_the_match_changes(world):
    a = world.agent("A")
    _status_policy(world)
    lead = world.lead(a, status="waiting")
    assert len(events(world, lead, "paused")) == 1
    world.db.execute("update public.crm_leads set email = 'x@example.com' where id = %s",
                     (lead,))
    world.db.execute("update public.crm_leads set status = 'new' where id = %s", (lead,))
    world.db.execute("update public.crm_leads set phone = '123' where id = %s", (lead,))
    assert len(events(world, lead, "paused")) == 1
    assert len(events(world, lead, "resumed")) == 1


def test_a_claim_while_paused_starts_a_paused_contact_timer(world):
    a = world.agent("A")
    world.agent("B")
    _status_policy(world)
    lead = world.lead(a, status="waiting")
    claim(world, lead)
    world.travel("30 minutes")
    world.monitor()
    row = world.row(lead)
    assert row["assigned_agent_id"] == a and not row["contact_sla_breached"]
    assert row["sla_paused_at"] is not None


def test_a_reassignment_while_paused_starts_a_paused_claim_timer(world):
    a, b = world.agent("A"), world.agent("B")
    world.agent("C")
    _status_policy(world)
    lead = world.lead(a, status="waiting")
    world.db.execute("select public.reassign_lead(%s, %s)", (lead, b))
    world.travel("30 minutes")
    world.monitor()
    row = world.row(lead)
    assert row["assigned_agent_id"] == b and not row["claim_sla_breached"]


def test_paused_time_never_counts_in_contact_statistics(world):
    a = world.agent("A")
    _status_policy(world)
    lead = world.lead(a, status="new")
    claim(world, lead)
    world.travel("2 minutes")
    world.db.execute("update public.crm_leads set status = 'waiting' where id = %s", (lead,))
    world.travel("40 minutes")
    world.db.execute("update public.crm_leads set status = 'new' where id = %s", (lead,))
    world.travel("1 minute")
    world.db.execute("update public.crm_leads set first_action_completed = true "
                     "where id = %s", (lead,))
    elapsed = world.scalar("select elapsed from public.crm_lead_sla_events "
                           "where lead_id = %s and event = 'contacted'", (lead,))
    assert elapsed < timedelta(minutes=5), elapsed
    stats = world.db.execute("select * from public.crm_agent_sla_stats where agent_id = %s",
                             (a,)).fetchone()
    assert stats["contacted_in_window"] == 1 and stats["contacted_late"] == 0, stats
    assert stats["median_seconds_to_contact"] < 300, stats


def test_owner_key_in_bulk_intake(world):
    a, _b = world.agent("A"), world.agent("B")
    _company(world)
    world.lead(a, company="Acme")
    world.db.execute("insert into public.crm_leads (full_name, company) "
                     "select 'Bulk ' || g, 'Acme' from generate_series(1, 6) as g")
    owners = world.db.execute("select assigned_agent_id as o from public.crm_leads "
                              "where full_name like 'Bulk %'").fetchall()
    assert {r["o"] for r in owners} == {a}


def test_absent_agent_not_routed_in_bulk_intake(world):
    a, b = world.agent("A"), world.agent("B")
    absence(world, a, timedelta(minutes=-1), timedelta(hours=1))
    world.db.execute("insert into public.crm_leads (full_name) "
                     "select 'Bulk ' || g from generate_series(1, 6) as g")
    owners = world.db.execute("select assigned_agent_id as o from public.crm_leads").fetchall()
    assert {r["o"] for r in owners} == {b}


def test_pause_when_in_bulk_intake(world):
    a = world.agent("A")
    _status_policy(world)
    world.db.execute("insert into public.crm_leads (full_name, status, assigned_agent_id) "
                     "select 'Bulk ' || g, 'waiting', %s from generate_series(1, 6) as g", (a,))
    assert world.scalar("select count(*) from public.crm_leads "
                        "where sla_paused_at is null") == 0
    assert len(events(world, kind="paused")) == 6


def test_decline_refused_when_the_only_other_agent_is_absent(world):
    a, b = world.agent("A"), world.agent("B")
    lead = world.lead(a)
    absence(world, b, timedelta(minutes=-1), timedelta(hours=1))
    with world.as_agent(a) as conn, refused("SL007"):
        conn.execute("select public.decline_lead(%s)", (lead,))
    assert owner(world, lead) == a and world.audit(lead) == []


def test_all_due_steps_in_one_pass(world):
    a = world.agent("A")
    p = policy(world, claim_window="10 minutes")
    step(world, p, "claim_window", 0.3, "owner", "first")
    step(world, p, "claim_window", 0.6, "owner", "second")
    step(world, p, "claim_window", 0.6, "manager", "second to boss")
    lead = world.lead(a)
    world.travel("7 minutes")
    world.monitor()
    assert sorted(e["payload"]["step"] for e in events(world, lead, "step")) == [
        "first", "second", "second to boss"]
    world.monitor()
    assert len(events(world, lead, "step")) == 3


def test_auto_pause_needs_reassignments_not_just_breaches(world):
    world.settings(auto_pause_after=1)
    a = world.agent("A")
    world.agent("B", accepting=False)
    lead = world.lead(a)
    world.travel("6 minutes")
    world.monitor()
    assert owner(world, lead) == a and world.audit(lead) == []
    assert world.scalar("select accepting_leads from public.crm_agents where id = %s", (a,))


def test_owner_key_on_a_numeric_column(world):
    a, b = world.agent("A"), world.agent("B")
    world.db.execute("alter table public.crm_leads add column account_id bigint")
    policy(world, owner_key="account_id")
    world.lead(a, account_id=42)
    assert [owner(world, world.lead(None, account_id=42)) for _ in range(3)] == [a] * 3
    for x in (a, b):
        set_agent(world, x, accepting_leads=False)
    lead = world.lead(None, account_id=42)
    for x in (a, b):
        set_agent(world, x, accepting_leads=True)
    with world.as_service() as svc:
        rows = svc.execute("select * from public.crm_sla_explain_routing(%s)",
                           (lead,)).fetchall()
    [row_a] = [r for r in rows if r["agent_id"] == a]
    assert (row_a["reason"], row_a["rank"]) == ("owner of account_id 42", 1)


def test_new_events_carry_the_common_payload_keys(world):
    world.settings(claim_window="10 minutes")
    a = world.agent("A")
    p = _status_policy(world, on_breach="flag")
    step(world, p, "claim_window", 0.5, "manager", "boss")
    lead = world.lead(a, status="new")
    world.travel("6 minutes")
    world.monitor()
    world.db.execute("update public.crm_leads set status = 'waiting' where id = %s", (lead,))
    world.db.execute("update public.crm_leads set status = 'new' where id = %s", (lead,))
    world.travel("5 minutes")
    world.monitor()
    kinds = {}
    for ev in events(world, lead):
        kinds[ev["event"]] = ev
    assert {"step", "paused", "resumed", "breached"} <= set(kinds), set(kinds)
    for kind in ("step", "paused", "resumed", "breached"):
        ev = kinds[kind]
        payload = ev["payload"]
        assert {"event", "lead_id", "agent_id", "stage"} <= set(payload), (kind, payload)
        assert payload["event"] == kind and payload["lead_id"] == str(lead)
        assert payload["agent_id"] == (None if ev["agent_id"] is None else str(ev["agent_id"]))
        assert payload["stage"] == "claim_window", (kind, payload)
    assert kinds["breached"]["agent_id"] == a


def test_escalation_after_manager_breaches_goes_up_from_the_last_owner(world):
    world.agent("Boss", role="admin")
    a, m1, m2 = world.agent("A"), world.agent("M1"), world.agent("M2")
    manager_of(world, a, m1)
    manager_of(world, m1, m2)
    policy(world, on_breach="manager", max_reassignments=1)
    lead = world.lead(a)
    world.travel("6 minutes")
    world.monitor()
    assert owner(world, lead) == m1
    world.travel("6 minutes")
    world.monitor()
    row = world.row(lead)
    assert row["assigned_agent_id"] == m2 and row["sla_escalated_at"] is not None


def test_slack_webhook_for_a_managerless_step_and_agent_paused(world):
    from harness.deliver import Worker
    from tests.receiver import Receiver

    receiver = Receiver()
    try:
        world.settings(webhook_allow_private=True, claim_window="10 minutes",
                       auto_pause_after=1)
        secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
        world.db.execute("insert into public.crm_sla_webhooks (url, secret, events, format) "
                         "values (%s, %s, %s, 'slack')",
                         (receiver.url, secret, ["step", "agent_paused"]))
        step(world, None, "claim_window", 0.5, "manager", "tell boss")
        a, _b = world.agent("Annabel"), world.agent("Bertram")
        world.lead(a, full_name="Zebulon Quark")
        world.travel("6 minutes")
        world.monitor()
        world.travel("5 minutes")
        world.monitor()
        assert len(events(world, kind="agent_paused")) == 1
        Worker(world.url).run(once=True)
        got = receiver.wait_for(2)
        assert len(got) == 2
        for each in got:
            body = json.loads(each.body)
            assert set(body) == {"text"} and body["text"], body
        statuses = world.db.execute(
            "select status from public.crm_sla_webhook_deliveries").fetchall()
        assert {r["status"] for r in statuses} == {"delivered"}
    finally:
        receiver.close()


def test_pause_when_on_an_engine_column_changed_by_a_claim(world):
    a = world.agent("A")
    world.agent("B")
    policy(world, pause_when={"lead_claimed": True})
    lead = world.lead(a)
    assert world.row(lead)["sla_paused_at"] is None
    claim(world, lead)
    assert world.row(lead)["sla_paused_at"] is not None
    world.travel("30 minutes")
    world.monitor()
    row = world.row(lead)
    assert row["assigned_agent_id"] == a and not row["contact_sla_breached"]


def test_paused_time_of_a_snooze_never_counts_in_statistics(world):
    a = world.agent("A")
    lead = world.lead(a)
    world.travel("2 minutes")
    world.db.execute("select public.crm_sla_snooze(%s, %s)",
                     (lead, world.now() + timedelta(minutes=30)))
    world.travel("31 minutes")
    world.monitor()
    claim(world, lead)
    elapsed = world.scalar("select elapsed from public.crm_lead_sla_events "
                           "where lead_id = %s and event = 'claimed'", (lead,))
    assert elapsed < timedelta(minutes=5), elapsed


def test_escalation_with_only_inactive_managers_goes_to_an_admin(world):
    boss = world.agent("Boss", role="admin")
    a, b, mb = world.agent("A"), world.agent("B"), world.agent("MB")
    manager_of(world, b, mb)
    manager_of(world, a, mb)
    set_agent(world, mb, is_active=False)
    policy(world, max_reassignments=1)
    lead = world.lead(a)
    world.travel("6 minutes")
    world.monitor()
    world.travel("6 minutes")
    world.monitor()
    assert owner(world, lead) == boss


def test_absence_hands_over_a_paused_unclaimed_lead_with_a_fresh_claim_timer(world):
    a, b = world.agent("A"), world.agent("B")
    _status_policy(world)
    paused = world.lead(a, status="waiting")
    running = world.lead(a, status="new")
    world.travel("2 minutes")
    absence(world, a, timedelta(minutes=-1), timedelta(hours=3))
    world.monitor()
    assert owner(world, running) == b
    assert near(world.row(running)["claim_timer_started_at"], world.now(), S)
    assert owner(world, paused) == b  # unclaimed, though its timer is paused
    assert [r["reason"] for r in world.audit(paused)] == ["unavailable"]


def test_absence_hands_over_a_snoozed_unclaimed_lead(world):
    a, b = world.agent("A"), world.agent("B")
    lead = world.lead(a)
    world.db.execute("select public.crm_sla_snooze(%s, %s)",
                     (lead, world.now() + timedelta(hours=1)))
    absence(world, a, timedelta(minutes=-1), timedelta(hours=3))
    world.monitor()
    assert owner(world, lead) == b  # unclaimed, though snoozed


def test_an_escalation_by_a_decline_or_hand_over_also_goes_up_the_chain(world):
    """Whatever move reaches max_reassignments, an escalation goes up the last owner's chain."""
    boss = world.agent("Boss", role="admin")
    a, b, mb = world.agent("A"), world.agent("B"), world.agent("MB")
    manager_of(world, b, mb)
    t = team(world, "Sales", members=[a, b])
    policy(world, max_reassignments=1, team_id=t, claim_window="1 hour")
    lead = world.lead(a)
    with world.as_agent(a) as conn:
        conn.execute("select public.decline_lead(%s)", (lead,))
    assert owner(world, lead) == b
    absence(world, b, timedelta(minutes=-1), timedelta(hours=3))
    world.monitor()
    row = world.row(lead)
    if row["sla_escalated_at"] is not None or row["assigned_agent_id"] == boss:
        assert row["assigned_agent_id"] == mb, (row["assigned_agent_id"], boss)


def test_an_agent_cannot_move_its_absence_onto_another_agent(world):
    a, b = world.agent("A"), world.agent("B")
    now = world.now()
    with world.as_agent(a) as conn:
        mine = conn.execute(
            "insert into public.crm_sla_agent_absences (agent_id, starts_at, ends_at) "
            "values (%s, %s, %s) returning id",
            (a, now + timedelta(days=1), now + timedelta(days=2))).fetchone()["id"]
        with contextlib.suppress(psycopg.Error):
            conn.execute("update public.crm_sla_agent_absences set agent_id = %s where id = %s",
                         (b, mine))
    assert world.scalar("select agent_id from public.crm_sla_agent_absences where id = %s",
                        (mine,)) == a


def test_decline_and_hand_over_route_within_the_policy_team(world):
    world.settings(claim_window="1 hour")
    a, b = world.agent("A"), world.agent("B")
    outsiders = [world.agent(f"X{i}") for i in range(3)]
    t = team(world, "Sales", members=[a, b])
    policy(world, team_id=t, claim_window="1 hour")
    declined = [world.lead(a) for _ in range(2)]
    for lead in declined:
        with world.as_agent(a) as conn:
            conn.execute("select public.decline_lead(%s)", (lead,))
    handed = [world.lead(a) for _ in range(2)]
    absence(world, a, timedelta(minutes=-1), timedelta(hours=3))
    world.monitor()
    assert {owner(world, lead) for lead in declined + handed} == {b}, outsiders


@pytest.mark.parametrize("on_breach,paused", [("manager", True), ("flag", False)])
def test_auto_pause_counts_moves_to_the_manager_not_flags(world, on_breach, paused):
    world.settings(auto_pause_after=1)
    a, _b, m = world.agent("A"), world.agent("B"), world.agent("M")
    manager_of(world, a, m)
    policy(world, on_breach=on_breach)
    lead = world.lead(a)
    world.travel("6 minutes")
    world.monitor()
    assert owner(world, lead) == (m if on_breach == "manager" else a)
    accepting = world.scalar("select accepting_leads from public.crm_agents where id = %s", (a,))
    assert accepting is (not paused)
    assert len(events(world, kind="agent_paused")) == (1 if paused else 0)
