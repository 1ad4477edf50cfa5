"""`crm-sla simulate`: a guided demo. A team of agents with different habits, a stream of leads,
the SLA clock moved minute by minute, the monitor reassigning what was missed; then the audit
trail, per-agent statistics and the status summary. Every third lead is a partner referral, under
an SLA policy on office hours that close halfway through the story, so its timers pause; the
first and third agents (a prompt one and, with the default habits, the absent one) are its
team, the partners desk, so some of its leads sit paused. For the story's last minutes the
whole team stops taking new leads (a stand-up), so new leads and missed ones wait in the
overflow queue. The same --seed tells the same story.

Version 3's workflow, each with a line at its minute: a team lead manages both desks (the
manager chain); the other leads follow a policy with a ladder (a reminder to the owner at half
the claim window, the team lead near its end) and route an account's leads to its owner
(owner_key on the e-mail: Northwind's second lead goes to the rep who has its first); a rep
declines a lead with a reason; halfway through, the rep holding the most unclaimed leads goes on
vacation (an absence), and the monitor hands those leads over; a rep sets a lead to 'waiting on
customer', which stops its clock (pause_when)."""

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
DEMO_LADDER = "Demo web leads (ladder)"  # the other story leads: steps and owner_key
DEMO_TEAM_LEAD = "Lena Park"  # manages both desks; takes no leads herself
# The ladder's steps, as fractions of the claim window (2:15 and 3:22 of 4:30: off the instants
# the story moves the clock to, see below).
REMINDER_AT, MANAGER_AT = 0.5, 0.75
DECLINE_REASON = "outside my territory"
WAITING_STATUS = "waiting on customer"  # the ladder policy's pause_when: {"status": this}
ACCOUNT = ("Northwind Traders", f"ops@northwind.{DEMO_DOMAIN}")  # the account with two leads
# Each story minute has three instants: at :00 leads arrive (and the minute's moments happen),
# at :20 agents act, at :40 the monitor runs. Claim windows end between them (2:30 for partner
# leads, 4:30 for the others; their steps too), never on one: whatever the machine's speed, a
# claim or a breach falls on the same side of its deadline, so a seed tells one story.
ACT_AT, MONITOR_AT = 20, 40  # seconds past the story's minute
PARTNER_CLAIM, LADDER_CLAIM = "2 minutes 30 seconds", "4 minutes 30 seconds"
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
    conn.execute("delete from public.crm_sla_policies where name = any(%s)",
                 ([DEMO_POLICY, DEMO_LADDER],))
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


def _team_lead(conn: psycopg.Connection, seed: int) -> uuid.UUID:
    """The reps' team lead: an agent who takes no leads but manages both desks (so she is the
    first step up every rep's manager chain)."""
    lead_id = uuid.uuid5(uuid.NAMESPACE_URL, f"https://{DEMO_DOMAIN}/{seed}/team-lead")
    conn.execute(
        "insert into public.crm_agents (id, full_name, email, role, accepting_leads) "
        "values (%s, %s, %s, 'agent', false)", (lead_id, DEMO_TEAM_LEAD, f"lead@{DEMO_DOMAIN}"))
    conn.execute("update public.crm_sla_teams set manager_id = %s where name = any(%s)",
                 (lead_id, list(DEMO_TEAMS)))
    return lead_id


def _ladder_policy(conn: psycopg.Connection) -> None:
    """The other story leads' policy: 4½ minutes to claim and 5 to contact, a
    reminder to the owner at half the claim window and the team lead near its end, an account's
    next lead to the owner of its latest (owner_key on the e-mail), and the clock stopped while
    a lead waits on the customer (pause_when on a `status` column: the demo adds one to a
    crm_leads that has none, as a CRM would have)."""
    if conn.execute("select count(*) as n from pg_catalog.pg_attribute where attrelid = "
                    "'public.crm_leads'::regclass and attname = 'status' and attnum > 0 "
                    "and not attisdropped").fetchone()["n"] == 0:
        conn.execute("alter table public.crm_leads add column status text")
    policy = conn.execute(
        "insert into public.crm_sla_policies (name, priority, match, owner_key, pause_when, "
        "claim_window, contact_window) values (%s, 20, %s, 'email', %s, %s, '5 minutes') "
        "returning id",
        (DEMO_LADDER, json.dumps({"source": DEMO_SOURCE}), json.dumps({"status": WAITING_STATUS}),
         LADDER_CLAIM)).fetchone()["id"]
    conn.execute(
        "insert into public.crm_sla_policy_steps (policy_id, stage, at, notify, name) values "
        "(%s, 'claim_window', %s, 'owner', 'reminder'), "
        "(%s, 'claim_window', %s, 'manager', 'team lead nudge')",
        (policy, REMINDER_AT, policy, MANAGER_AT))


def _as_agent(conn: psycopg.Connection, agent: uuid.UUID, sql: str, params: tuple) -> str | None:
    """Runs `sql` as the agent's client would, with its JWT claims; the refusal's SQLSTATE and
    message, or None when it went through."""
    claims = json.dumps({"sub": str(agent), "role": "authenticated"})
    try:
        with conn.transaction():
            conn.execute("set local role authenticated")
            conn.execute("select set_config('request.jwt.claims', %s, true)", (claims,))
            conn.execute(sql, params)
        return None
    except psycopg.Error as exc:
        return f"{exc.diag.sqlstate} {exc.diag.message_primary}"


def _act(conn: psycopg.Connection, agent: uuid.UUID, function: str, lead: uuid.UUID) -> bool:
    """Call claim_lead / complete_first_action as the agent would, with its JWT claims."""
    # A refusal is e.g. a lead reassigned away a moment ago (SL004): the agent moves on.
    return _as_agent(conn, agent, f"select public.{function}(%s)", (lead,)) is None


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


def _office_policy(conn: psycopg.Connection, t0, minutes: int, team_id: uuid.UUID) -> None:
    """The demo's partner policy: 2½ minutes to claim and 5 to contact, in office hours that open
    as the story starts (t0, to the microsecond) and close at its middle minute (every day,
    UTC)."""
    cal = conn.execute(
        "insert into public.crm_sla_calendars (name, time_zone) values (%s, 'UTC') returning id",
        (DEMO_CALENDAR,)).fetchone()["id"]
    conn.execute(
        "insert into public.crm_sla_calendar_hours (calendar_id, weekday, opens, closes) "
        "select %s, d, o.t::time, (o.t + %s * interval '1 minute')::time "
        "from generate_series(0, 6) as d, "
        "(select %s::timestamptz at time zone 'UTC' as t) as o",
        (cal, max(minutes // 2, 1), t0))
    conn.execute(
        # Warned at 70 % (1:45), not 80 % (2:00, on the minute's mark where the monitor runs).
        "insert into public.crm_sla_policies (name, priority, match, claim_window, "
        "contact_window, max_reassignments, calendar_id, team_id, warn_at) values (%s, 10, %s, "
        "%s, '5 minutes', 2, %s, %s, 0.7)",
        (DEMO_POLICY, json.dumps({"source": DEMO_SOURCE, "email": DEMO_PARTNER}), PARTNER_CLAIM,
         cal, team_id))


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
    _office_policy(conn, t0, minutes, _desks(conn, team))
    print(f"policy: every third lead is a partner referral: {DEMO_POLICY}, 2½ minutes "
          f"to claim, 5 to contact, counted only while the office is open (it closes "
          f"at minute {max(minutes // 2, 1)}); its team: "
          f"{' and '.join(a.name for a in [team[0], *team[2:3]])}", flush=True)
    manager = _team_lead(conn, seed)
    print(f"manager chain: {DEMO_TEAM_LEAD} leads both desks (crm_sla_teams.manager_id), so "
          "she is the first step up every rep's chain: manager steps and escalations go to her; "
          f"her board with its bell: crm-sla board --as-agent {manager}", flush=True)
    _ladder_policy(conn)
    print(f"policy: the other leads follow {DEMO_LADDER}: 4½ minutes to claim, 5 to contact; "
          f"a ladder step reminds the owner at {REMINDER_AT:.0%} of the claim window and nudges "
          f"the team lead at {MANAGER_AT:.0%}; owner_key email sends an account's next lead to "
          f"the rep who has its latest; status '{WAITING_STATUS}' stops the clock (pause_when)",
          flush=True)
    standup = minutes - STANDUP_MINUTES if minutes > 2 * STANDUP_MINUTES else None
    # Version 3's moments, each at its minute (before the stand-up, whatever the length).
    account_first, decline_at = 1, max(minutes - STANDUP_MINUTES - 1, 2)
    account_again, vacation_at = max(minutes // 3, 3), max(minutes // 2, 4)
    waiting_at = vacation_at + 1
    stints: dict[uuid.UUID, Stint] = {}
    made = 0
    away: set[uuid.UUID] = set()
    first_step: set[str] = set()  # the ladder's steps already told
    for minute in range(minutes + 1):
        if minute == standup:
            conn.execute("update public.crm_agents set accepting_leads = false "
                         "where email like %s", (f"agent%@{DEMO_DOMAIN}",))
            print(f"  minute {minute:>3}: the team's stand-up: nobody takes new leads, so new "
                  "leads and missed ones wait in the overflow queue", flush=True)
        if minute == vacation_at:
            away.add(_vacation(conn, minute, by_id, seed))
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
        if minute in (account_first, account_again):
            _account_lead(conn, minute, seed, by_id, second=minute == account_again)
        if minute == decline_at:
            _decline_one(conn, minute, by_id, away)
        if minute == waiting_at:
            _wait_on_customer(conn, minute, by_id, away)
        _story_time(conn, t0, minute, ACT_AT)
        claimed = contacted = 0
        open_leads = conn.execute(
            "select id, assigned_agent_id from public.crm_leads "
            "where source = %s and not first_action_completed and sla_escalated_at is null "
            "and sla_paused_at is null order by full_name", (DEMO_SOURCE,)).fetchall()
        for lead in open_leads:
            owner = lead["assigned_agent_id"]
            stint = stints.get(lead["id"])
            if owner not in by_id or owner in away:
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
        mark = conn.execute("select coalesce(max(id), 0) as n from public.crm_sla_outbox"
                            ).fetchone()["n"]
        moved = drain(conn)
        _tell_new_moves(conn, minute, mark, by_id, first_step)
        on_hold = conn.execute(
            "select count(*) filter (where t.paused_reason = 'closed') as closed, "
            "count(*) filter (where t.paused_reason = 'status') as status from "
            "public.crm_lead_sla_timers as t join public.crm_leads as l on l.id = t.lead_id "
            "where l.source = %s", (DEMO_SOURCE,)).fetchone()
        print(f"  minute {minute:>3}/{minutes}: {new} new, {claimed} claimed, "
              f"{contacted} contacted, {moved['unclaimed'] + moved['no_contact']} "
              f"reassigned, {moved['escalated']} escalated"
              + (f", {moved['steps']} ladder step(s)" if moved.get("steps") else "")
              + (f", {on_hold['closed']} paused (office closed)" if on_hold["closed"] else "")
              + (f", {on_hold['status']} {WAITING_STATUS}" if on_hold["status"] else ""),
              flush=True)
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
              f"'agent%@{DEMO_DOMAIN}'` ends it (the monitor then routes them).")


def _story_time(conn: psycopg.Connection, t0, minute: int, seconds: int = 0) -> None:
    """The SLA clock to the story's `minute` plus `seconds`, from its start (not on from now: the
    real time each step took, more on a busy machine, does not add up). Within a minute new leads
    come first, the agents act ACT_AT seconds in and the monitor runs MONITOR_AT seconds in; the
    story's windows and steps end between those instants (see ACT_AT), so the same seed tells the
    same story on a loaded machine too."""
    conn.execute("select public.sla_clock_travel(greatest(interval '0', %s::timestamptz "
                 "+ %s * interval '1 minute' + %s * interval '1 second' - public.sla_now()))",
                 (t0, minute, seconds))


def _name(conn: psycopg.Connection, agent: uuid.UUID | None) -> str:
    if agent is None:
        return "nobody"
    row = conn.execute("select full_name from public.crm_agents where id = %s",
                       (agent,)).fetchone()
    return row["full_name"] if row else str(agent)


def _account_lead(conn: psycopg.Connection, minute: int, seed: int, by_id: dict,
                  second: bool) -> None:
    """Northwind's leads: the first is routed as any other; the second goes to the rep who has
    the first (owner_key email), when that rep can take it."""
    name, email = ACCOUNT
    lead_id = uuid.uuid5(uuid.NAMESPACE_URL, f"https://{DEMO_DOMAIN}/{seed}/account/{second}")
    owner = conn.execute(
        "insert into public.crm_leads (id, full_name, source, email, created_at) "
        "values (%s, %s, %s, %s, public.sla_now()) returning assigned_agent_id",
        (lead_id, name + (" (again)" if second else ""), DEMO_SOURCE, email)
    ).fetchone()["assigned_agent_id"]
    if not second:
        print(f"  minute {minute:>3}: {name} ({email}) sends its first lead: routed as any "
              f"other, to {_name(conn, owner)}", flush=True)
        return
    holder = conn.execute(
        "select assigned_agent_id from public.crm_leads where email = %s and id <> %s "
        "order by created_at desc limit 1", (email, lead_id)).fetchone()["assigned_agent_id"]
    how = ("the account's owner, who has its first lead (owner_key email)" if owner == holder
           else f"as {_name(conn, holder)}, who has its first lead, cannot take it now")
    print(f"  minute {minute:>3}: {name} writes again: its second lead goes to "
          f"{_name(conn, owner)}, {how}", flush=True)


def _decline_one(conn: psycopg.Connection, minute: int, by_id: dict, away: set) -> None:
    """A rep hands back an unclaimed lead it has just received, with a reason (a lead of the
    ladder policy, which any rep may take: the partners desk may have nobody else)."""
    row = conn.execute(
        "select l.id, l.full_name, l.assigned_agent_id from public.crm_leads as l "
        "join public.crm_sla_policies as p on p.id = l.sla_policy_id and p.name = %s "
        "where l.source = %s and not l.lead_claimed and l.sla_escalated_at is null "
        "and l.sla_waiting_since is null and l.assigned_agent_id = any(%s) "
        "and l.email is distinct from %s order by l.created_at desc, l.full_name limit 1",
        (DEMO_LADDER, DEMO_SOURCE, [a for a in by_id if a not in away], ACCOUNT[1])).fetchone()
    if row is None:
        print(f"  minute {minute:>3}: nobody has an unclaimed lead to decline", flush=True)
        return
    who = by_id[row["assigned_agent_id"]].name
    refused = _as_agent(conn, row["assigned_agent_id"], "select public.decline_lead(%s, %s)",
                        (row["id"], DECLINE_REASON))
    if refused:
        print(f"  minute {minute:>3}: {who} tries to decline {row['full_name']}: refused "
              f"({refused})", flush=True)
        return
    to = conn.execute("select assigned_agent_id from public.crm_leads where id = %s",
                      (row["id"],)).fetchone()["assigned_agent_id"]
    print(f"  minute {minute:>3}: {who} declines {row['full_name']} (\"{DECLINE_REASON}\"): "
          f"it goes to {_name(conn, to)} at once, the reason in its audit row", flush=True)


def _wait_on_customer(conn: psycopg.Connection, minute: int, by_id: dict, away: set) -> None:
    """A rep reaches a customer who asks to be called back: the rep sets the lead's status, and
    the policy's pause_when stops its clock until the status changes."""
    row = conn.execute(
        "select l.id, l.full_name, l.assigned_agent_id, l.lead_claimed from public.crm_leads as l "
        "join public.crm_sla_policies as p on p.id = l.sla_policy_id and p.name = %s "
        "where l.source = %s and not l.first_action_completed and l.sla_escalated_at is null "
        "and l.sla_waiting_since is null and l.assigned_agent_id = any(%s) "
        "order by l.lead_claimed desc, coalesce(l.contact_timer_expires_at, "
        "l.claim_timer_expires_at) desc, l.full_name limit 1",
        (DEMO_LADDER, DEMO_SOURCE, [a for a in by_id if a not in away])).fetchone()
    if row is None:
        print(f"  minute {minute:>3}: no lead to wait on its customer", flush=True)
        return
    who = by_id[row["assigned_agent_id"]].name
    refused = _as_agent(conn, row["assigned_agent_id"],
                        "update public.crm_leads set status = %s where id = %s",
                        (WAITING_STATUS, row["id"]))
    stage = "contact" if row["lead_claimed"] else "claim"
    print(f"  minute {minute:>3}: {who} sets {row['full_name']} to '{WAITING_STATUS}' "
          + (f"(refused: {refused})" if refused else
             f"(the customer asked to be called back): its {stage} clock stops, the open time "
             "left kept until the status changes"), flush=True)


def _vacation(conn: psycopg.Connection, minute: int, by_id: dict, seed: int) -> uuid.UUID:
    """The rep holding the most unclaimed leads (not one of Northwind's) goes on vacation until
    three days later at 09:00 UTC: an absence starting now, so the monitor's next pass hands
    its unclaimed leads to others (reason unavailable)."""
    owners = conn.execute(
        "select l.assigned_agent_id as id, count(*) filter (where not l.lead_claimed) as n "
        "from public.crm_leads as l where l.source = %s and not l.first_action_completed "
        "and l.assigned_agent_id = any(%s) group by 1", (DEMO_SOURCE, list(by_id))).fetchall()
    account = {r["assigned_agent_id"] for r in conn.execute(
        "select assigned_agent_id from public.crm_leads where email = %s", (ACCOUNT[1],))}
    unclaimed = {r["id"]: r["n"] for r in owners}
    choice = max([a for a in by_id if a not in account] or list(by_id),
                 key=lambda a: (unclaimed.get(a, 0), by_id[a].name))
    until = conn.execute(
        "insert into public.crm_sla_agent_absences (id, agent_id, starts_at, ends_at, reason) "
        "values (%s, %s, public.sla_now(), date_trunc('day', public.sla_now()) "
        "+ interval '3 days 9 hours', 'vacation') returning ends_at",
        (uuid.uuid5(uuid.NAMESPACE_URL, f"https://{DEMO_DOMAIN}/{seed}/vacation"), choice)
    ).fetchone()["ends_at"]
    print(f"  minute {minute:>3}: {by_id[choice].name} goes on vacation until "
          f"{until:%a %d %b %H:%M} UTC (an absence): no new leads meanwhile, and the "
          f"monitor's next pass hands the {unclaimed.get(choice, 0)} unclaimed lead(s) to others "
          "(reason unavailable; unclaimed where the window ran out as well)", flush=True)
    return choice


def _tell_new_moves(conn: psycopg.Connection, minute: int, after: int, by_id: dict,
                    told: set[str]) -> None:
    """The first time each ladder step is taken, a line saying to whom."""
    steps = conn.execute(
        "select o.payload ->> 'step' as step, o.agent_id, l.full_name, l.assigned_agent_id "
        "from public.crm_sla_outbox as o join public.crm_leads as l on l.id = o.lead_id "
        "where o.id > %s and o.event = 'step' and l.source = %s order by o.id",
        (after, DEMO_SOURCE)).fetchall()
    for s in steps:
        if s["step"] in told:
            continue
        told.add(s["step"])
        if s["step"] == "reminder":
            what = (f"{s['full_name']} is halfway through its claim window: a reminder to "
                    f"its owner, {_name(conn, s['agent_id'])} (the card flashes)")
        else:
            what = (f"{s['full_name']} nears the end of its claim window with "
                    f"{_name(conn, s['assigned_agent_id'])}: the team lead "
                    f"{_name(conn, s['agent_id'])} is notified (her board's bell)")
        print(f"  minute {minute:>3}: ladder step \"{s['step']}\": {what}", flush=True)


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
