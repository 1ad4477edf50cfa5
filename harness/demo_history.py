"""The demo's history: a few simulated weeks of a team's work, played through the engine on the SLA
clock before the story starts, so that `/stats` and `crm-sla report` show real patterns (busy
mornings, a slow lunch hour, a tired Friday afternoon, a policy change) instead of one bar.

Nothing here writes a statistic: leads arrive by INSERT, agents claim and contact through
claim_lead / complete_first_action with their own JWT claims, and the monitor reassigns what they
miss. Only the instants where something happens are visited (an arrival, an agent's action, the
next deadline from crm_sla_next_due), so three weeks take seconds of real time, not weeks."""

from __future__ import annotations

import heapq
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from harness.monitor import drain

HISTORY_SOURCE = "crm-sla demo history"
HISTORY_POLICY = "Demo web leads"
# Minutes an agent of each habit takes to claim, and then to make the first contact, at its best
# (the hour of the day slows it down: see _slowness); the chance it never acts on a lead.
PACE = {"prompt": (1.5, 4.0, 0.02), "steady": (3.0, 7.0, 0.05), "slow": (4.5, 12.0, 0.10),
        "absent": (3.5, 9.0, 0.35)}
CLAIM_BEFORE, CLAIM_AFTER = timedelta(minutes=5), timedelta(minutes=8)  # the policy change
CONTACT_WINDOW = timedelta(minutes=20)
LEADS_PER_WEEKDAY = 36


@dataclass(order=True)
class _Action:
    at: datetime
    seq: int
    lead: uuid.UUID
    owner: uuid.UUID
    function: str  # claim_lead | complete_first_action


def _slowness(at: datetime) -> float:
    """How much slower than its best an agent is at this hour (UTC): the patterns the charts
    should show."""
    factor = 1.0
    if at.hour < 9:
        factor = 1.6  # coffee first
    elif 12 <= at.hour < 14:
        factor = 2.2  # lunch
    if at.weekday() == 4 and at.hour >= 15:
        factor *= 1.8  # Friday afternoon
    return factor


def _arrivals(rng: random.Random, start: datetime, weeks: int) -> list[datetime]:
    """New leads from the next Monday on: weekdays 08:00-18:00 UTC, busiest in the morning; a
    few at weekends."""
    out = []
    day0 = (start + timedelta(days=7 - start.weekday())).replace(hour=0, minute=0, second=0,
                                                                  microsecond=0)
    for d in range(7 * weeks):
        day = day0 + timedelta(days=d)
        n = LEADS_PER_WEEKDAY if day.weekday() < 5 else 3
        for _ in range(n):
            hour = 8 + min(9.99, rng.triangular(0, 10, 2))
            out.append(day + timedelta(hours=hour))
    return sorted(out)


def seed(conn: psycopg.Connection, rng: random.Random, team, act, weeks: int) -> dict:
    """Plays `weeks` of history for `team` (the demo's Agents, acting through `act`); returns
    what it did. The SLA clock ends a little after the last day."""
    start = conn.execute("select public.sla_now() as t").fetchone()["t"]
    conn.execute(
        "insert into public.crm_sla_policies (name, priority, match, claim_window, "
        "contact_window, max_reassignments) values (%s, 20, %s::jsonb, %s, %s, 2)",
        (HISTORY_POLICY, f'{{"source": "{HISTORY_SOURCE}"}}', CLAIM_BEFORE, CONTACT_WINDOW))
    arrivals = _arrivals(rng, start, weeks)
    monday = arrivals[0].replace(hour=0, minute=0, second=0, microsecond=0)
    change_at = monday + timedelta(days=7 * (weeks - 1)) if weeks > 1 else None
    by_id = {a.id: a for a in team}
    actions: list[_Action] = []
    owners: dict[uuid.UUID, uuid.UUID | None] = {}  # open leads and who the plan was made for
    seq = made = acted = 0
    next_arrival = 0
    last_week = -1

    def plan(lead: uuid.UUID, owner: uuid.UUID | None, claimed: bool, now: datetime) -> None:
        nonlocal seq
        owners[lead] = owner
        if owner not in by_id:
            return  # waiting, or escalated to the admin, who never answers in this story
        best_claim, best_contact, no_show = PACE[by_id[owner].habit]
        if rng.random() < no_show:
            return
        slow = _slowness(now)
        at = now
        if not claimed:
            at += timedelta(minutes=rng.uniform(0.3, 2.0) * best_claim * slow)
            seq += 1
            heapq.heappush(actions, _Action(at, seq, lead, owner, "claim_lead"))
        at += timedelta(minutes=rng.uniform(0.3, 2.0) * best_contact * slow)
        seq += 1
        heapq.heappush(actions, _Action(at, seq, lead, owner, "complete_first_action"))

    def refresh(now: datetime) -> None:
        """Re-plans the open leads whose owner changed (the monitor moved them)."""
        rows = conn.execute(
            "select id, assigned_agent_id, lead_claimed, first_action_completed, "
            "sla_escalated_at is not null as escalated from public.crm_leads "
            "where id = any(%s)", (list(owners),)).fetchall()
        for r in rows:
            if r["first_action_completed"] or r["escalated"]:
                owners.pop(r["id"], None)
            elif owners.get(r["id"]) != r["assigned_agent_id"]:
                plan(r["id"], r["assigned_agent_id"], r["lead_claimed"], now)

    while next_arrival < len(arrivals) or actions or owners:
        # Only what falls due later: what is due now, the pass before has done.
        due = conn.execute("select public.crm_sla_next_due(public.sla_now()) as t"
                           ).fetchone()["t"] if owners else None
        candidates = [t for t in (arrivals[next_arrival] if next_arrival < len(arrivals)
                                  else None, actions[0].at if actions else None, due) if t]
        if not candidates:
            break
        now = conn.execute(
            "select public.sla_clock_travel(greatest(interval '0', %s::timestamptz "
            "- public.sla_now())) as t", (min(candidates),)).fetchone()["t"]
        if change_at is not None and now >= change_at:
            conn.execute("update public.crm_sla_policies set claim_window = %s where name = %s",
                         (CLAIM_AFTER, HISTORY_POLICY))
            print(f"  history: {now:%a %d %b}: the team lead gives web leads "
                  f"{CLAIM_AFTER.seconds // 60} minutes to claim instead of "
                  f"{CLAIM_BEFORE.seconds // 60}", flush=True)
            change_at = None
        week = (now - monday).days // 7
        if week != last_week and week < weeks:
            last_week = week
            print(f"  history: week {week + 1}/{weeks} ({now:%a %d %b})", flush=True)
        while next_arrival < len(arrivals) and arrivals[next_arrival] <= now:
            next_arrival += 1
            made += 1
            lead = uuid.uuid5(uuid.NAMESPACE_URL, f"https://history.invalid/{start}/{made}")
            row = conn.execute(
                "insert into public.crm_leads (id, full_name, source, created_at) "
                "values (%s, %s, %s, public.sla_now()) returning assigned_agent_id",
                (lead, f"Web lead {made:04d}", HISTORY_SOURCE)).fetchone()
            plan(lead, row["assigned_agent_id"], False, now)
        while actions and actions[0].at <= now:
            action = heapq.heappop(actions)
            if owners.get(action.lead) == action.owner:
                acted += act(conn, action.owner, action.function, action.lead)
        drain(conn)
        refresh(now)
    return {"leads": made, "actions": acted, "days": 7 * weeks}


def clean(conn: psycopg.Connection) -> None:
    """Removes a previous demo's history (its leads first: a policy in use cannot go)."""
    conn.execute("delete from public.crm_leads where source = %s", (HISTORY_SOURCE,))
    conn.execute("delete from public.crm_sla_policies where name = %s", (HISTORY_POLICY,))
