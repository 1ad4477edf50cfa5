"""`crm-sla simulate`: a guided demo. A team of agents with different habits, a stream of leads,
the SLA clock moved minute by minute, the monitor reassigning what was missed; then the audit
trail, per-agent statistics and the status summary. Every third lead is a partner referral, under
an SLA policy on office hours that close halfway through the story, so its timers pause; the
first and third agents (a prompt one and, with the default habits, the absent one) are its
team, the partners desk, so some of its leads sit paused. For the story's last minutes the
whole team stops taking new leads (a stand-up), so new leads and missed ones wait in the
overflow queue. The same --seed tells the same story."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field

import psycopg
from psycopg.rows import dict_row

from harness import demo_history, status
from harness.engine import WAITING
from harness.monitor import drain, paused
from harness.table import render
from harness.target import connect

DEMO_SOURCE = "crm-sla demo"
DEMO_DOMAIN = "demo.crm-sla.invalid"
DEMO_PARTNER = f"referral@partner.{DEMO_DOMAIN}"  # the e-mail the demo's partner policy matches
DEMO_POLICY = "Demo partners (office hours)"
DEMO_CALENDAR = "Demo office"
DEMO_TEAMS = ("Demo partners desk", "Demo inbound desk")  # agents 1 and 3, the others
ACT_AT, MONITOR_AT = 20, 40  # seconds into each of the story's minutes (see _story_time)
STANDUP_MINUTES = 2  # the team's stand-up at the end of the story: nobody takes new leads
NAMES = ["Ana Silva", "Ben Okafor", "Cara Diaz", "Dev Patel", "Eli Novak", "Fay Moreau",
         "Gus Berg", "Hana Ito", "Ivo Costa", "Jo Lindqvist"]
# Habits, as (claim after, contact after claim) ranges in minutes; None never acts.
HABITS = {
    "prompt": ((1, 2), (1, 3)),
    "steady": ((2, 4), (2, 4)),
    "slow": ((3, 7), (4, 7)),
    "absent": (None, None),
}


@dataclass
class Agent:
    id: uuid.UUID
    name: str
    habit: str


@dataclass
class Stint:
    """One owner's time with one lead, and when (in minutes of the stint) it will act."""

    owner: uuid.UUID
    start: int
    claim_at: int | None
    contact_at: int | None
    done: set[str] = field(default_factory=set)


def _plan(rng: random.Random, habit: str) -> tuple[int | None, int | None]:
    claim, contact = HABITS[habit]
    if claim is None:
        return None, None
    if habit == "steady" and rng.random() < 0.2:
        return rng.randint(*claim), None  # claims, then gets pulled into a meeting
    at = rng.randint(*claim)
    return at, at + rng.randint(*contact)


def _clean_previous_demo(conn: psycopg.Connection) -> None:
    demo_history.clean(conn)
    conn.execute("delete from public.crm_leads where source = %s", (DEMO_SOURCE,))
    conn.execute("delete from public.crm_sla_policies where name = %s", (DEMO_POLICY,))
    conn.execute("delete from public.crm_sla_calendars where name = %s", (DEMO_CALENDAR,))
    conn.execute("delete from public.crm_sla_teams where name = any(%s)", (list(DEMO_TEAMS),))
    conn.execute(
        "delete from public.crm_sla_agent_state where agent_id in "
        "(select id from public.crm_agents where email like %s)", (f"%@{DEMO_DOMAIN}",))
    conn.execute("delete from public.crm_agents where email like %s", (f"%@{DEMO_DOMAIN}",))
    conn.execute(
        "delete from public.crm_sla_agent_state where agent_id in "
        "(select id from public.crm_agents where email like %s)", (f"%@{DEMO_DOMAIN}",))
    conn.execute("delete from public.crm_agents where email like %s", (f"%@{DEMO_DOMAIN}",))


def _team(conn: psycopg.Connection, rng: random.Random, size: int, seed: int) -> list[Agent]:
    habits = (["prompt", "steady", "slow", "absent"] * size)[:size]
    rng.shuffle(habits)
    team = []
    for i in range(size):
        agent_id = uuid.uuid5(uuid.NAMESPACE_URL, f"https://{DEMO_DOMAIN}/{seed}/agent/{i}")
        name = NAMES[i % len(NAMES)] + ("" if i < len(NAMES) else f" {i // len(NAMES) + 1}")
        conn.execute(
            "insert into public.crm_agents (id, full_name, email, role) values (%s, %s, %s, %s)",
            (agent_id, name, f"agent{i:02d}@{DEMO_DOMAIN}", "agent"))
        team.append(Agent(agent_id, name, habits[i]))
    admin_id = uuid.uuid5(uuid.NAMESPACE_URL, f"https://{DEMO_DOMAIN}/{seed}/admin")
    conn.execute(
        "insert into public.crm_agents (id, full_name, email, role) values (%s, %s, %s, 'admin')",
        (admin_id, "Max Admin", f"admin@{DEMO_DOMAIN}"))
    return team


def _act(conn: psycopg.Connection, agent: uuid.UUID, function: str, lead: uuid.UUID) -> bool:
    """Call claim_lead / complete_first_action as the agent would, with its JWT claims."""
    claims = json.dumps({"sub": str(agent), "role": "authenticated"})
    try:
        with conn.transaction():
            conn.execute("set local role authenticated")
            conn.execute("select set_config('request.jwt.claims', %s, true)", (claims,))
            conn.execute(f"select public.{function}(%s)", (lead,))
        return True
    except psycopg.Error:
        return False  # e.g. reassigned away a moment ago (SL004): the agent moves on


def _story_time(conn: psycopg.Connection, t0, minute: int, seconds: int = 0) -> None:
    """The SLA clock to the story's `minute` plus `seconds`, from its start (not on from now: the
    real time each step took, more on a busy machine, does not add up). Within a minute new leads
    come first, the agents act ACT_AT seconds in and the monitor runs MONITOR_AT seconds in, so a
    deadline (a whole number of minutes after a lead came, plus the milliseconds its INSERT
    took) always falls before the acts of its minute and is always seen by its monitor pass:
    the same seed tells the same story on a loaded machine too."""
    conn.execute("select public.sla_clock_travel(greatest(interval '0', %s::timestamptz "
                 "+ %s * interval '1 minute' + %s * interval '1 second' - public.sla_now()))",
                 (t0, minute, seconds))


def _offset(t0, when) -> str:
    """The story's minute an event happened in: every move happens at a minute's step, and the
    seconds past it are only how long the step took on this machine (so a seed tells one story)."""
    minutes = int((when - t0).total_seconds()) // 60
    return f"+{minutes:02d}:00"


def simulate(url: str, seed: int, agents: int, minutes: int, leads_per_minute: float,
             history_weeks: int = 0) -> int:
    from harness.errors import HarnessError

    if not 2 <= agents <= 50 or not 1 <= minutes <= 240 or not 0 < leads_per_minute <= 20 \
            or not 0 <= history_weeks <= 8:
        raise HarnessError("use 2-50 --agents, 1-240 --minutes, 0-20 --leads-per-minute and "
                           "0-8 --history-weeks")
    rng = random.Random(seed)
    with connect(url, row_factory=dict_row) as conn:
        if conn.execute("select to_regclass('public.crm_lead_sla_timers') as t").fetchone()["t"] \
                is None:
            raise HarnessError("the engine is not installed in this database: run make migrate")
        print(f"crm-sla simulate: seed {seed}, {agents} agents, {minutes} simulated minutes, "
              f"about {leads_per_minute:g} new leads a minute", flush=True)
        # Pause the scheduled monitor so the story is ours alone (and the same every run).
        with paused(conn, "crm-sla simulate"):
            _play(conn, rng, seed, agents, minutes, leads_per_minute, history_weeks)
    print()
    print(status.render(status.collect(url)))
    print(f"\nThe SLA clock is left {minutes} minutes ahead of the wall clock, so the demo's "
          "timers keep running; `select public.sla_clock_reset()` puts it back.")
    return 0


def _desks(conn: psycopg.Connection, team: list[Agent]) -> uuid.UUID:
    """The demo's two teams (the partners desk: the first and third agents; the inbound desk:
    the others); returns the partners desk's id."""
    ids = []
    desk = [team[0], *team[2:3]]
    for name, members in zip(DEMO_TEAMS, (desk, [a for a in team if a not in desk]),
                             strict=True):
        team_id = conn.execute("insert into public.crm_sla_teams (name) values (%s) returning id",
                               (name,)).fetchone()["id"]
        conn.execute("insert into public.crm_sla_team_members (team_id, agent_id) "
                     "select %s, unnest(%s::uuid[])", (team_id, [a.id for a in members]))
        ids.append(team_id)
    return ids[0]


def _office_policy(conn: psycopg.Connection, minutes: int, team_id: uuid.UUID) -> None:
    """The demo's partner policy: 3 minutes to claim and 5 to contact, in office hours that open
    as the story starts and close halfway through it (every day, UTC)."""
    cal = conn.execute(
        "insert into public.crm_sla_calendars (name, time_zone) values (%s, 'UTC') returning id",
        (DEMO_CALENDAR,)).fetchone()["id"]
    conn.execute(
        "insert into public.crm_sla_calendar_hours (calendar_id, weekday, opens, closes) "
        "select %s, d, o.t::time, (o.t + %s * interval '1 minute')::time "
        "from generate_series(0, 6) as d, "
        "(select date_trunc('minute', public.sla_now() at time zone 'UTC') as t) as o",
        (cal, max(minutes // 2, 1)))
    conn.execute(
        "insert into public.crm_sla_policies (name, priority, match, claim_window, "
        "contact_window, max_reassignments, calendar_id, team_id) values (%s, 10, %s, "
        "'3 minutes', '5 minutes', 2, %s, %s)",
        (DEMO_POLICY, json.dumps({"source": DEMO_SOURCE, "email": DEMO_PARTNER}), cal, team_id))


def _play(conn: psycopg.Connection, rng: random.Random, seed: int, agents: int, minutes: int,
          leads_per_minute: float, history_weeks: int) -> None:
    """The story itself: the team (and its past weeks), the leads minute by minute, the
    report."""
    _clean_previous_demo(conn)
    team = _team(conn, rng, agents, seed)
    by_id = {a.id: a for a in team}
    print("team: " + ", ".join(f"{a.name} ({a.habit})" for a in team), flush=True)
    t0 = conn.execute("select public.sla_clock_reset() as t").fetchone()["t"]
    if history_weeks:
        print(f"history: {history_weeks} weeks of web leads, played through the engine so "
              "that /stats and crm-sla report have a past", flush=True)
        done = demo_history.seed(conn, random.Random(seed), team, _act, history_weeks)
        print(f"history: {done['leads']} leads, {done['actions']} claims and contacts", flush=True)
        t0 = conn.execute("select public.sla_now() as t").fetchone()["t"]
    _office_policy(conn, minutes, _desks(conn, team))
    print(f"policy: every third lead is a partner referral: {DEMO_POLICY}, 3 minutes "
          f"to claim, 5 to contact, counted only while the office is open (it closes "
          f"at minute {max(minutes // 2, 1)}); its team: "
          f"{' and '.join(a.name for a in [team[0], *team[2:3]])}", flush=True)
    standup = minutes - STANDUP_MINUTES if minutes > 2 * STANDUP_MINUTES else None
    stints: dict[uuid.UUID, Stint] = {}
    made = 0
    for minute in range(minutes + 1):
        if minute == standup:
            conn.execute("update public.crm_agents set accepting_leads = false "
                         "where email like %s", (f"%@{DEMO_DOMAIN}",))
            print(f"  minute {minute:>3}: the team's stand-up: nobody takes new leads, so new "
                  "leads and missed ones wait in the overflow queue", flush=True)
        new = sum(1 for _ in range(20) if rng.random() < leads_per_minute / 20)
        for _ in range(new):
            made += 1
            lead_id = uuid.uuid5(uuid.NAMESPACE_URL, f"https://{DEMO_DOMAIN}/{seed}/{made}")
            conn.execute(
                # created_at on the story's clock, as a lead made at that moment would have.
                "insert into public.crm_leads (id, full_name, source, email, created_at) "
                "values (%s, %s, %s, %s, public.sla_now())",
                (lead_id, f"Lead {made:03d}", DEMO_SOURCE,
                 DEMO_PARTNER if made % 3 == 0 else None))
        _story_time(conn, t0, minute, ACT_AT)
        claimed = contacted = 0
        open_leads = conn.execute(
            "select id, assigned_agent_id from public.crm_leads "
            "where source = %s and not first_action_completed and sla_escalated_at is null "
            "order by full_name", (DEMO_SOURCE,)).fetchall()
        for lead in open_leads:
            owner = lead["assigned_agent_id"]
            stint = stints.get(lead["id"])
            if owner not in by_id:
                continue
            if stint is None or stint.owner != owner:
                stint = Stint(owner, minute, *_plan(rng, by_id[owner].habit))
                stints[lead["id"]] = stint
            age = minute - stint.start
            if stint.claim_at is not None and age >= stint.claim_at \
                    and "claim" not in stint.done:
                stint.done.add("claim")
                claimed += _act(conn, owner, "claim_lead", lead["id"])
            if stint.contact_at is not None and age >= stint.contact_at \
                    and "contact" not in stint.done:
                stint.done.add("contact")
                contacted += _act(conn, owner, "complete_first_action", lead["id"])
        _story_time(conn, t0, minute, MONITOR_AT)
        moved = drain(conn)
        on_hold = conn.execute(
            "select count(*) filter (where t.timer_paused) as n from "
            "public.crm_lead_sla_timers as t join public.crm_leads as l on l.id = t.lead_id "
            "where l.source = %s", (DEMO_SOURCE,)).fetchone()["n"]
        print(f"  minute {minute:>3}/{minutes}: {new} new, {claimed} claimed, "
              f"{contacted} contacted, {moved['unclaimed'] + moved['no_contact']} "
              f"reassigned, {moved['escalated']} escalated"
              + (f", {on_hold} paused (office closed)" if on_hold else ""), flush=True)
        if minute < minutes:
            _story_time(conn, t0, minute + 1)
    _report(conn, t0)
    if standup is not None:
        waiting = conn.execute(
            "select count(*) as n from public.crm_lead_sla_timers as t join public.crm_leads as l "
            f"on l.id = t.lead_id where l.source = %s and t.stage <> 'done' and {WAITING}",
            (DEMO_SOURCE,)).fetchone()["n"]
        print(f"\nThe team is still in its stand-up, so {waiting} lead(s) wait in the overflow "
              "queue; `update public.crm_agents set accepting_leads = true where email like "
              f"'%@{DEMO_DOMAIN}'` ends it (the monitor then routes them).")


def _report(conn: psycopg.Connection, t0) -> None:
    audit = conn.execute(
        """
        select r.created_at, l.full_name as lead, f.full_name as from_agent,
               t.full_name as to_agent, r.reason, r.stage
        from public.crm_lead_reassignments r
        join public.crm_leads l on l.id = r.lead_id
        left join public.crm_agents f on f.id = r.from_agent_id
        join public.crm_agents t on t.id = r.to_agent_id
        where l.source = %s
        order by r.created_at, l.full_name
        """, (DEMO_SOURCE,)).fetchall()
    print("\naudit trail (crm_lead_reassignments)")
    print(render(["time", "lead", "from", "to", "reason", "stage"],
                 [(_offset(t0, r["created_at"]), r["lead"], r["from_agent"], r["to_agent"],
                   r["reason"], r["stage"]) for r in audit]))
    stats = conn.execute(
        "select * from public.crm_agent_sla_stats(%s, public.sla_now() + interval '1 second') "
        "where agent_id in (select id from public.crm_agents where email like %s)",
        (t0, f"%@{DEMO_DOMAIN}")).fetchall()
    print("\nper-agent statistics (crm_agent_sla_stats over the simulated period)")
    print(render(
        ["agent", "received", "by reassignment", "claimed ok", "claimed late", "contacted ok",
         "contacted late", "missed claim", "missed contact", "breach rate", "median claim s",
         "median contact s"],
        [(s["full_name"], s["leads_received"], s["received_by_reassignment"],
          s["claimed_in_window"], s["claimed_late"], s["contacted_in_window"],
          s["contacted_late"], s["missed_claim"], s["missed_contact"], s["breach_rate"],
          s["median_seconds_to_claim"], s["median_seconds_to_contact"]) for s in stats]))
