"""Routing version 2 (docs/routing.md): weighted fair order, teams, shifts, caps, fair
re-entry, the overflow queue and crm_sla_explain_routing, through intake, the monitor and
reassign_lead, which share one router."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter
from datetime import timedelta

import psycopg
import pytest

from harness import status
from harness.testing import SYSTEM_ACTOR, connect
from tests.test_concurrency import assert_leads_agree_with_audit, drain, run_together

BULK = """
insert into public.crm_leads (full_name)
select 'Lead ' || lpad(i::text, 4, '0') from generate_series(1, %s) as i order by i
"""


# -- a small routing world -------------------------------------------------------------------

def routing(world, agent, weight=None, cap=None, calendar=None) -> None:
    world.db.execute(
        "insert into public.crm_sla_agent_routing (agent_id, weight, max_open_leads, calendar_id) "
        "values (%s, coalesce(%s, 1), %s, %s) on conflict (agent_id) do update set "
        "weight = excluded.weight, max_open_leads = excluded.max_open_leads, "
        "calendar_id = excluded.calendar_id", (agent, weight, cap, calendar))


def team(world, name, *members) -> uuid.UUID:
    team_id = world.scalar("insert into public.crm_sla_teams (name) values (%s) returning id",
                           (name,))
    for member in members:
        world.db.execute("insert into public.crm_sla_team_members (team_id, agent_id) "
                         "values (%s, %s)", (team_id, member))
    return team_id


def policy(world, name, team_id=None) -> uuid.UUID:
    return world.scalar(
        "insert into public.crm_sla_policies (name, priority, match, team_id) "
        "values (%s, 1, %s, %s) returning id",
        (name, json.dumps({"full_name": name}), team_id))


def policy_lead(world, policy_id, name, owner=None) -> uuid.UUID:
    """A lead of this policy (its name is what the policy matches)."""
    return world.lead(owner, full_name=name, sla_policy_id=policy_id)


def owners_in_order(world) -> list:
    return [r["assigned_agent_id"] for r in world.db.execute(
        "select assigned_agent_id from public.crm_leads order by full_name").fetchall()]


def assert_within_share(picks: list, weights: dict, slack: float = 1.5) -> None:
    """Every prefix of the run: each agent within `slack` of its weighted share."""
    total = sum(weights.values())
    seen: Counter = Counter()
    for n, agent in enumerate(picks, start=1):
        seen[agent] += 1
        for a, w in weights.items():
            assert abs(seen[a] - n * w / total) <= slack, (n, a, seen[a], n * w / total)


def open_leads(world) -> Counter:
    return Counter({r["assigned_agent_id"]: r["n"] for r in world.db.execute(
        "select assigned_agent_id, count(*) as n from public.crm_leads "
        "where assigned_agent_id is not null and not first_action_completed "
        "and sla_escalated_at is null group by 1").fetchall()})


def explain(world, lead) -> dict:
    with world.as_service() as conn:
        return {r["agent_id"]: r for r in conn.execute(
            "select * from public.crm_sla_explain_routing(%s)", (lead,)).fetchall()}


def breach_all(world) -> dict:
    world.travel("5 minutes")
    return world.monitor()


# -- weighted fair order ---------------------------------------------------------------------

def test_weights_1_2_3_over_single_row_intake(world):
    a, b, c = world.agents("A", "B", "C")
    for agent, weight in ((a, 1), (b, 2), (c, 3)):
        routing(world, agent, weight=weight)
    picks = [world.row(world.lead(full_name=f"Lead {i:04d}"))["assigned_agent_id"]
             for i in range(60)]
    assert Counter(picks) == {a: 10, b: 20, c: 30}
    assert_within_share(picks, {a: 1, b: 2, c: 3})
    # Smooth: the heaviest agent never gets a long run while the others wait.
    assert picks[:6].count(c) == 3 and picks[:6].count(a) == 1


def test_weights_1_2_3_over_bulk_intake(world):
    a, b, c = world.agents("A", "B", "C")
    for agent, weight in ((a, 1), (b, 2), (c, 3)):
        routing(world, agent, weight=weight)
    with world.as_service() as conn:
        conn.execute(BULK, (60,))
        conn.execute(BULK.replace("'Lead '", "'Lead 1'"), (7,))  # the next statement goes on
    picks = owners_in_order(world)
    assert None not in picks
    assert Counter(picks[:60]) == {a: 10, b: 20, c: 30}
    assert_within_share(picks, {a: 1, b: 2, c: 3})
    claim = world.db.execute("select distinct claim_timer_expires_at - claim_timer_started_at as w "
                             "from public.crm_leads").fetchall()
    assert [r["w"] for r in claim] == [timedelta(minutes=5)]


def test_weights_hold_for_breach_reassignments(world):
    owner = world.agent("Owner", accepting=False)
    a, b = world.agents("A", "B")
    routing(world, b, weight=3)
    with world.as_service() as conn:
        conn.execute("insert into public.crm_leads (assigned_agent_id, full_name) "
                     "select %s, 'Lead ' || lpad(i::text, 4, '0') from generate_series(1, 40) i",
                     (owner,))
    assert breach_all(world)["unclaimed"] == 40
    assert Counter(r["to_agent_id"] for r in world.audit()) == {a: 10, b: 30}


# -- teams -----------------------------------------------------------------------------------

def test_team_policy_routes_intake_and_breaches_only_to_its_members(world):
    ann, bob, out = world.agents("Ann", "Bob", "Outsider")
    routing(world, out, weight=50)  # the outsider would win every pick on weight alone
    enterprise = policy(world, "Enterprise", team(world, "Enterprise", ann, bob))
    leads = [policy_lead(world, enterprise, "Enterprise") for _ in range(6)]
    owners = [world.row(lead)["assigned_agent_id"] for lead in leads]
    assert Counter(owners) == {ann: 3, bob: 3}
    other = world.lead(full_name="No policy")
    assert world.row(other)["assigned_agent_id"] == out
    # Breaches stay in the team: each lead goes to the other member.
    assert breach_all(world)["unclaimed"] == 7
    for lead, before in zip(leads, owners, strict=True):
        assert world.row(lead)["assigned_agent_id"] == (bob if before == ann else ann)
    # With the only other member away, a breach waits with its owner instead of leaving the team.
    world.db.execute("update public.crm_agents set accepting_leads = false where id = %s", (bob,))
    lone = policy_lead(world, enterprise, "Enterprise")
    assert world.row(lone)["assigned_agent_id"] == ann
    result = breach_all(world)
    assert world.row(lone)["assigned_agent_id"] == ann
    assert world.row(lone)["sla_waiting_since"] is not None
    assert result["no_eligible_agent"] >= 1
    assert explain(world, lone)[out]["reason"] == "not in team Enterprise"


# -- caps and the overflow queue -------------------------------------------------------------

def test_cap_then_overflow_then_release(world):
    ann, bob = world.agents("Ann", "Bob")
    routing(world, ann, cap=2)
    routing(world, bob, cap=1)
    with world.as_service() as conn:
        conn.execute(BULK, (5,))
    owners = owners_in_order(world)
    assert Counter(owners) == {ann: 2, bob: 1, None: 2}
    assert owners[3:] == [None, None]  # the oldest were routed first
    waiting = world.db.execute(
        "select * from public.crm_leads where assigned_agent_id is null order by full_name"
    ).fetchall()
    assert all(w["claim_timer_started_at"] is None and w["claim_timer_expires_at"] is None
               for w in waiting)
    report = status.collect(world.url)["leads"]
    assert report["overflow_queue"]["leads"] == 2
    assert "overflow     2 waiting for an owner" in status.render(status.collect(world.url))
    # Nobody has room: the monitor passes leave them waiting (and never time them out).
    world.travel("2 minutes")
    assert world.monitor()["routed"] == 0
    # Ann's first contact frees a place: the next pass routes the oldest waiting lead to her,
    # and its claim timer starts then.
    done = next(r["id"] for r in world.db.execute(
        "select id from public.crm_leads where assigned_agent_id = %s", (ann,)).fetchall())
    with world.as_agent(ann) as conn:
        conn.execute("select public.complete_first_action(%s)", (done,))
    at = world.travel("1 minute")
    assert world.monitor()["routed"] == 1
    first = world.row(waiting[0]["id"])
    assert first["assigned_agent_id"] == ann
    assert first["claim_timer_started_at"] == at or abs(
        (first["claim_timer_started_at"] - at).total_seconds()) < 5
    assert first["claim_timer_expires_at"] == first["claim_timer_started_at"] + timedelta(minutes=5)
    assert world.row(waiting[1]["id"])["assigned_agent_id"] is None
    assert open_leads(world) == {ann: 2, bob: 1}


def test_cap_reached_mid_batch_leaves_the_rest_flagged_with_their_owners(world):
    owner = world.agent("Owner", accepting=False)
    ann, bob = world.agents("Ann", "Bob")
    routing(world, ann, cap=3)
    routing(world, bob, cap=2)
    with world.as_service() as conn:
        conn.execute("insert into public.crm_leads (assigned_agent_id, full_name) "
                     "select %s, 'Lead ' || lpad(i::text, 4, '0') from generate_series(1, 8) i",
                     (owner,))
    result = breach_all(world)
    assert result["unclaimed"] == 5 and result["no_eligible_agent"] == 3
    assert open_leads(world) == {ann: 3, bob: 2, owner: 3}
    stuck = world.db.execute("select * from public.crm_leads where assigned_agent_id = %s",
                             (owner,)).fetchall()
    assert all(r["claim_sla_breached"] and r["sla_waiting_since"] for r in stuck)
    # A later pass announces nothing new and moves nothing while nobody has room.
    again = world.monitor()
    assert again["unclaimed"] == 0
    # Room again: the waiting ones go first, before newly due leads.
    fresh = world.lead(owner, full_name="Lead 9999")
    world.db.execute("update public.crm_sla_agent_routing set max_open_leads = 10")
    result = breach_all(world)
    assert result["unclaimed"] >= 4 and result["no_eligible_agent"] == 0
    assert world.row(fresh)["assigned_agent_id"] != owner
    assert all(world.row(r["id"])["sla_waiting_since"] is None for r in stuck)


def test_waiting_leads_never_hold_up_newly_due_ones(world):
    world.settings(monitor_batch_size=3)
    ann, bob = world.agents("Ann", "Bob")
    enterprise = policy(world, "Enterprise", team(world, "Enterprise", ann))
    for _ in range(5):  # nobody else in the team: these wait with Ann
        policy_lead(world, enterprise, "Enterprise")
    assert world.monitor()["routed"] == 0
    breach_all(world)
    breach_all(world)
    mine = world.lead(ann, full_name="Plain")  # due later; Bob can take it
    result = breach_all(world)
    assert result["unclaimed"] == 1
    assert world.row(mine)["assigned_agent_id"] == bob


# -- shifts ----------------------------------------------------------------------------------

def shift_in_two_hours(world) -> uuid.UUID:
    """A UTC calendar open every day from two to four hours from now (overnight if it must)."""
    hour = world.now().astimezone().utctimetuple().tm_hour
    calendar = world.scalar(
        "insert into public.crm_sla_calendars (name, time_zone) values ('Shift', 'UTC') "
        "returning id")
    world.db.execute(
        "insert into public.crm_sla_calendar_hours (calendar_id, weekday, opens, closes) "
        "select %s, d, make_time(%s, 0, 0), make_time(%s, 0, 0) from generate_series(0, 6) d",
        (calendar, (hour + 2) % 24, (hour + 4) % 24))
    return calendar


def test_off_shift_agents_are_skipped_and_come_back_on_shift(world):
    ann, bob = world.agents("Ann", "Bob")
    routing(world, ann, calendar=shift_in_two_hours(world))
    early = [world.lead(full_name=f"Lead {i}") for i in range(3)]
    assert {world.row(lead)["assigned_agent_id"] for lead in early} == {bob}
    assert explain(world, early[0])[ann]["reason"] == "off shift"
    world.travel("150 minutes")
    late = [world.lead(full_name=f"Late {i}") for i in range(4)]
    # Ann earned nothing while off shift: back on shift she takes her share, no catch-up burst.
    assert Counter(world.row(lead)["assigned_agent_id"] for lead in late) == {ann: 2, bob: 2}


# -- fair re-entry ---------------------------------------------------------------------------

def test_an_agent_back_from_absence_takes_its_share_no_burst_no_penalty(world):
    a, b, c = world.agents("A", "B", "C")
    routing(world, c, weight=2)
    world.db.execute("update public.crm_agents set accepting_leads = false where id = %s", (c,))
    away = [world.row(world.lead(full_name=f"Away {i:03d}"))["assigned_agent_id"]
            for i in range(30)]
    assert Counter(away) == {a: 15, b: 15}
    world.db.execute("update public.crm_agents set accepting_leads = true where id = %s", (c,))
    back = [world.row(world.lead(full_name=f"Back {i:03d}"))["assigned_agent_id"]
            for i in range(40)]
    assert_within_share(back, {a: 1, b: 1, c: 2})
    assert Counter(back) == {a: 10, b: 10, c: 20}
    assert back[:4].count(c) == 2  # its share from the first round: no burst, no wait


# -- explain ---------------------------------------------------------------------------------

def test_explain_gives_each_agent_a_reason_and_the_router_rank(world):
    owner, ready, second = world.agents("Owner", "Ready", "Second")
    busy, lazy, gone, outsider = world.agents("Busy", "Lazy", "Gone", "Outsider")
    boss = world.agent("Boss", role="admin")
    world.db.execute("update public.crm_agents set accepting_leads = false where id = %s", (lazy,))
    world.db.execute("update public.crm_agents set is_active = false where id = %s", (gone,))
    routing(world, busy, cap=1)
    routing(world, ready, weight=5)
    world.settings(contact_window="1 hour")
    world.lead(busy, lead_claimed=True)  # open (not contacted yet), and not due for an hour
    sales = policy(world, "Sales", team(world, "Sales", owner, ready, second, busy, lazy, gone))
    lead = policy_lead(world, sales, "Sales", owner=owner)
    why = explain(world, lead)
    assert {k: (v["eligible"], v["reason"], v["rank"]) for k, v in why.items()} == {
        owner: (False, "current owner", None),
        ready: (True, "eligible", 1),
        second: (True, "eligible", 2),
        busy: (False, "at capacity 1/1", None),
        lazy: (False, "not accepting leads", None),
        gone: (False, "inactive", None),
        outsider: (False, "not in team Sales", None),
        boss: (False, "admin: takes only escalated leads", None),
    }
    assert SYSTEM_ACTOR not in why
    # Rank 1 is where the next breach sends it.
    breach_all(world)
    assert world.row(lead)["assigned_agent_id"] == ready


def test_explain_shows_escalation_to_admins(world):
    world.settings(max_reassignments=0)
    ann, bob = world.agents("Ann", "Bob")
    boss = world.agent("Boss", role="admin")
    lead = world.lead(ann)
    why = explain(world, lead)
    assert why[boss]["eligible"] and why[boss]["rank"] == 1
    assert not why[bob]["eligible"]
    assert "admin" in why[bob]["reason"]


def test_escalation_prefers_admins_who_never_held_the_lead_as_explain_ranks_them(world):
    # The router once picked among admins by credit alone, while explain ranked the admins who
    # never held the lead first: explain is now a dry run of the router's own pick.
    world.settings(max_reassignments=0)
    ann = world.agent("Ann")
    held, fresh = world.agent("Held", role="admin"), world.agent("Fresh", role="admin")
    lead = world.lead(ann)
    with world.as_service() as conn:
        conn.execute("select public.reassign_lead(%s, %s)", (lead, held))
        conn.execute("select public.reassign_lead(%s, %s)", (lead, ann))
    # With the most credit, the admin who held the lead would win on credit alone.
    world.db.execute("insert into public.crm_sla_agent_state (agent_id, last_routed_seq, "
                     "routing_credit) values (%s, 0, 5)", (held,))
    why = explain(world, lead)
    assert {k: (v["eligible"], v["reason"], v["rank"]) for k, v in why.items()} == {
        ann: (False, "current owner", None),
        fresh: (True, "eligible", 1),
        held: (True, "eligible, but held this lead before", 2),
    }
    assert breach_all(world)["escalated"] == 1
    assert world.row(lead)["assigned_agent_id"] == fresh


def test_explain_is_for_admins_and_the_service_role_only(world):
    ann = world.agent("Ann")
    boss = world.agent("Boss", role="admin")
    lead = world.lead(ann)
    with world.as_agent(boss) as conn:
        rows = conn.execute("select * from public.crm_sla_explain_routing(%s)", (lead,)).fetchall()
        assert len(rows) == 2
        with pytest.raises(psycopg.Error) as missing:
            conn.execute("select * from public.crm_sla_explain_routing(%s)", (uuid.uuid4(),))
        assert missing.value.diag.sqlstate == "SL001"
    with world.as_agent(ann) as conn, pytest.raises(psycopg.Error) as refused:
        conn.execute("select * from public.crm_sla_explain_routing(%s)", (lead,))
    assert refused.value.diag.sqlstate == "SL006"
    with world.as_anon() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("select * from public.crm_sla_explain_routing(%s)", (lead,))


# -- reassign_lead uses the same checks ------------------------------------------------------

def test_reassign_lead_refuses_what_the_router_forbids_and_may_override_preferences(world):
    ann, bob = world.agents("Ann", "Bob")
    gone = world.agent("Gone", active=False)
    routing(world, bob, cap=1)
    world.lead(bob)
    lead = world.lead(ann)
    for target, code in ((ann, "SL008"), (gone, "SL007"), (SYSTEM_ACTOR, "SL007"),
                         (uuid.uuid4(), "SL007")):
        with world.as_service() as conn, pytest.raises(psycopg.Error) as err:
            conn.execute("select public.reassign_lead(%s, %s)", (lead, target))
        assert err.value.diag.sqlstate == code, target
    # Bob is at his cap: the router would not pick him, but an admin may hand him the lead.
    assert explain(world, lead)[bob]["reason"] == "at capacity 1/1"
    with world.as_service() as conn:
        conn.execute("select public.reassign_lead(%s, %s)", (lead, bob))
    assert world.row(lead)["assigned_agent_id"] == bob


# -- concurrency: real sessions at once --------------------------------------------------------

def test_two_monitors_with_caps_never_over_assign_or_double_move(world):
    world.settings(monitor_batch_size=25)
    owner = world.agent("Owner", accepting=False)
    agents = world.agents("A", "B", "C", "D")
    for i, agent in enumerate(agents):
        routing(world, agent, weight=i + 1, cap=30)
    world.db.execute("insert into public.crm_leads (assigned_agent_id, full_name) "
                     "select %s, 'Lead ' || i from generate_series(1, 200) as i", (owner,))
    world.travel("5 minutes")
    first, second = run_together(lambda: drain(world.url), lambda: drain(world.url))
    assert not isinstance(first, Exception), first
    assert not isinstance(second, Exception), second
    assert first["unclaimed"] + second["unclaimed"] == 120
    held = open_leads(world)
    assert {a: held[a] for a in agents} == {a: 30 for a in agents}
    per_lead = world.db.execute("select lead_id, count(*) as n from public.crm_lead_reassignments "
                                "group by lead_id").fetchall()
    assert len(per_lead) == 120 and {r["n"] for r in per_lead} == {1}
    assert_leads_agree_with_audit(world)


def test_intake_racing_two_monitors_never_over_assigns_nor_fails(world):
    world.settings(monitor_batch_size=10)
    owner = world.agent("Owner", accepting=False)
    agents = world.agents("A", "B", "C")
    for i, agent in enumerate(agents):
        routing(world, agent, weight=i + 1, cap=15)
    world.db.execute("insert into public.crm_leads (assigned_agent_id, full_name) "
                     "select %s, 'Old ' || i from generate_series(1, 30) as i", (owner,))
    world.travel("5 minutes")
    stop = time.monotonic() + 3

    def intake():
        made = 0
        with world.as_service() as conn:
            while time.monotonic() < stop:
                size = 1 + made % 4
                conn.execute("insert into public.crm_leads (full_name) "
                             "select 'New' from generate_series(1, %s)", (size,))
                made += size
        return made

    def monitor():
        passes = 0
        with connect(world.url) as conn:
            while time.monotonic() < stop:
                conn.execute("select public.process_sla_timers()")
                passes += 1
        return passes

    results = run_together(intake, intake, monitor, monitor)
    assert not [r for r in results if isinstance(r, Exception)], results
    made = results[0] + results[1]
    assert world.scalar("select count(*) from public.crm_leads where full_name = 'New'") == made
    held = open_leads(world)
    assert all(held[a] <= 15 for a in agents), held
    assert sum(held[a] for a in agents) == 45  # and every place was filled
    assert world.scalar("select count(*) from public.crm_leads where assigned_agent_id is null "
                        "and claim_timer_expires_at is not null") == 0
    assert_leads_agree_with_audit(world)


# -- the shift calendar: open at an instant --------------------------------------------------

CALENDAR_CASES = [
    # New York, Monday to Friday 09:00-17:00: DST is followed (8 March 2026 it begins).
    ("ny", "2026-03-06 14:30+00", True),   # Friday 09:30 EST
    ("ny", "2026-03-06 13:30+00", False),  # Friday 08:30 EST
    ("ny", "2026-03-09 13:30+00", True),   # Monday 09:30 EDT
    ("ny", "2026-03-09 21:00+00", False),  # Monday 17:00 EDT: closed at its close
    ("ny", "2026-03-07 15:00+00", False),  # Saturday
    # UTC, Friday 22:00 to Saturday 06:00 (closes <= opens: overnight).
    ("night", "2026-11-27 21:59+00", False),
    ("night", "2026-11-27 23:00+00", True),
    ("night", "2026-11-28 05:59+00", True),
    ("night", "2026-11-28 06:00+00", False),
    ("night", "2026-11-28 23:00+00", False),  # Saturday night: no interval opens on Saturday
    # UTC, Sunday 18:00-24:00.
    ("late", "2026-11-29 23:59:59+00", True),
    ("late", "2026-11-30 00:00+00", False),
    ("late", "2026-11-29 17:59+00", False),
    # The same overnight hours with Saturday 5 December a holiday: cut at that midnight.
    ("night_holiday", "2026-12-04 23:30+00", True),
    ("night_holiday", "2026-12-05 01:00+00", False),
    # ... and with Friday 11 December a holiday: the part after midnight stays open.
    ("night_holiday", "2026-12-11 23:30+00", False),
    ("night_holiday", "2026-12-12 01:00+00", True),
    # 00:00-24:00: the whole of Wednesday (opens = closes is refused: SL010).
    ("allday", "2026-11-25 00:00+00", True),
    ("allday", "2026-11-25 23:59:59+00", True),
    ("allday", "2026-11-26 00:00+00", False),
    # Tokyo (UTC+9), Wednesday 09:00-18:00.
    ("tokyo", "2026-11-25 00:30+00", True),
    ("tokyo", "2026-11-24 23:30+00", False),
]


@pytest.fixture(scope="module")
def calendars(module_db_url):
    with connect(module_db_url) as conn:
        ids = {}
        for name, zone, hours, holidays in (
            ("ny", "America/New_York", [(d, "09:00", "17:00") for d in range(1, 6)], []),
            ("night", "UTC", [(5, "22:00", "06:00")], []),
            ("late", "UTC", [(0, "18:00", "24:00")], []),
            ("night_holiday", "UTC", [(5, "22:00", "06:00")], ["2026-12-05", "2026-12-11"]),
            ("allday", "UTC", [(3, "00:00", "24:00")], []),
            ("tokyo", "Asia/Tokyo", [(3, "09:00", "18:00")], []),
        ):
            ids[name] = conn.execute(
                "insert into public.crm_sla_calendars (name, time_zone) values (%s, %s) "
                "returning id", (f"test {name}", zone)).fetchone()["id"]
            for weekday, opens, closes in hours:
                conn.execute("insert into public.crm_sla_calendar_hours "
                             "values (%s, %s, %s, %s)", (ids[name], weekday, opens, closes))
            for day in holidays:
                conn.execute("insert into public.crm_sla_holidays (calendar_id, day) "
                             "values (%s, %s)", (ids[name], day))
        yield module_db_url, ids
        conn.execute("delete from public.crm_sla_calendars where name like 'test %'")


@pytest.mark.parametrize(("calendar", "at", "is_open"), CALENDAR_CASES)
def test_a_shift_calendar_is_open_at_an_instant(calendars, calendar, at, is_open):
    url, ids = calendars
    with connect(url) as conn:
        got = conn.execute("select public.crm_sla_calendar_is_open(%s, %s::timestamptz) as o",
                           (ids[calendar], at)).fetchone()["o"]
        always = conn.execute("select public.crm_sla_calendar_is_open(null, now()) as o"
                              ).fetchone()["o"]
    assert got is is_open
    assert always is True


# -- the router against a reference implementation -------------------------------------------

def reference_swrr(agents: list[dict], owners: list, rounds: int = 1) -> list:
    """Smooth weighted round robin as docs/routing.md words it, one lead at a time: candidates are
    the agents with room other than the owner; each earns its weight, the most credit wins (ties:
    least recently routed, then id) and pays the candidates' total weight."""
    picks = []
    seq = 0
    for owner in owners:
        cands = [a for a in agents if a["id"] != owner and (a["room"] is None or a["room"] > 0)]
        if not cands:
            picks.append(None)
            continue
        for a in cands:
            a["credit"] += a["weight"]
        best = max(cands, key=lambda a: (a["credit"], -a["seq"], [-b for b in a["id"].bytes]))
        best["credit"] -= sum(a["weight"] for a in cands)
        seq += 1
        best["seq"] = seq
        if best["room"] is not None:
            best["room"] -= 1
        picks.append(best["id"])
    return picks


@pytest.mark.parametrize("seed", range(8))
def test_the_router_matches_the_reference_smooth_weighted_round_robin(world, seed):
    rng = random.Random(seed)
    agents = []
    for i in range(rng.randint(2, 7)):
        agent = world.agent(f"Agent {i}")
        weight = rng.choice([1, 1, 2, 3, 5])
        cap = rng.choice([None, None, 3, 6, 12])
        routing(world, agent, weight=weight, cap=cap)
        agents.append({"id": agent, "weight": weight, "cap": cap})
    owners = [rng.choice([None, *[a["id"] for a in agents]]) for _ in range(rng.randint(5, 60))]
    # The leads are written without routing (nobody takes leads meanwhile: the unowned ones
    # wait), then handed to the router in one batch.
    world.db.execute("update public.crm_agents set accepting_leads = false")
    leads = [world.lead(owner, full_name=f"Lead {i:03d}") for i, owner in enumerate(owners)]
    world.db.execute("update public.crm_agents set accepting_leads = true")
    held = open_leads(world)
    for a in agents:
        a.update(credit=0.0, seq=0, room=None if a["cap"] is None else a["cap"] - held[a["id"]])
    expected = reference_swrr(agents, owners)
    got = [r["agent_id"] for r in world.db.execute(
        "select agent_id "
        "from public.crm_sla_route_leads(%s::uuid[], public.sla_now(), false, null)", (leads,))]
    assert got == expected
    state = {r["agent_id"]: r["routing_credit"] for r in world.db.execute(
        "select agent_id, routing_credit from public.crm_sla_agent_state").fetchall()}
    assert {a["id"]: a["credit"] for a in agents if a["credit"]} == {
        k: v for k, v in state.items() if v}
