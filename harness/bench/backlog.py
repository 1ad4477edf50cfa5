"""3. Backlog: due leads (claim and contact stages mixed) cleared by the monitor, against one
hand-written statement doing the same writes (the floor: leads, audit rows, events); then a large
backlog, batch by batch."""

from __future__ import annotations

import statistics
import time

from harness import monitor
from harness.bench.common import Row, ms, secs
from harness.bench.lab import AGENTS, Lab
from harness.engine import SYSTEM_ACTOR
from harness.errors import HarnessError

# The floor: what the monitor writes for a backlog (the lead UPDATE with its new claim timer and
# warning instant, the audit INSERT and the `reassigned` events in the outbox), as one
# hand-written statement with a plain round robin and no batching.
FLOOR = f"""
    with due as (
        select
            l.id, l.assigned_agent_id as owner,
            case when l.lead_claimed then 'contact_window' else 'claim_window' end as stage,
            row_number() over (order by l.id) as k
        from public.crm_leads as l
        where (l.claim_timer_expires_at <= public.sla_now()
                and l.claim_timer_expires_at is not null and l.lead_claimed = false)
            or (l.contact_timer_expires_at <= public.sla_now()
                and l.contact_timer_expires_at is not null
                and l.first_action_completed = false)
    ),
    agents as (
        select array_agg(a.id order by a.id) as ids, count(*)::int as n
        from public.crm_agents as a
        where a.role = 'agent' and a.is_active and a.accepting_leads
    ),
    picked as (
        select d.id, d.stage,
            case when g.ids[1 + d.k % g.n] = d.owner then g.ids[1 + (d.k + 1) % g.n]
                else g.ids[1 + d.k % g.n] end as to_agent
        from due as d cross join agents as g
    ),
    moved as (
        update public.crm_leads as l
        set previous_agent_id = l.assigned_agent_id,
            assigned_agent_id = p.to_agent,
            reassignment_count = coalesce(l.reassignment_count, 0) + 1,
            reassignment_reason = case p.stage when 'claim_window' then 'unclaimed'
                else 'no_contact' end,
            reassigned_at = public.sla_now(),
            lead_claimed = false,
            first_action_completed = false,
            claim_timer_started_at = public.sla_now(),
            claim_timer_expires_at = public.sla_now()
                + (select s.claim_window from public.crm_sla_settings as s),
            claim_window_expires_at = public.sla_now()
                + (select s.claim_window from public.crm_sla_settings as s),
            sla_warn_at = public.sla_now()
                + (select s.claim_window * s.warn_at from public.crm_sla_settings as s),
            contact_timer_started_at = null,
            contact_timer_expires_at = null,
            claim_sla_breached = l.claim_sla_breached or p.stage = 'claim_window',
            contact_sla_breached = l.contact_sla_breached or p.stage = 'contact_window',
            sla_breached = true
        from picked as p
        where l.id = p.id
        returning l.id, l.previous_agent_id, l.assigned_agent_id, l.reassignment_reason,
            p.stage, l.reassigned_at, l.claim_timer_expires_at
    ),
    audit as (
        insert into public.crm_lead_reassignments (
            lead_id, from_agent_id, to_agent_id, reassigned_by, reason, stage, created_at
        )
        select m.id, m.previous_agent_id, m.assigned_agent_id,
            '{SYSTEM_ACTOR}', m.reassignment_reason, m.stage,
            m.reassigned_at
        from moved as m
    )
    insert into public.crm_sla_outbox (event, lead_id, agent_id, payload)
    select 'reassigned', m.id, m.assigned_agent_id, jsonb_build_object(
        'event', 'reassigned', 'lead_id', m.id, 'agent_id', m.assigned_agent_id,
        'stage', m.stage, 'expires_at', m.claim_timer_expires_at, 'at', m.reassigned_at,
        'from_agent_id', m.previous_agent_id, 'to_agent_id', m.assigned_agent_id,
        'reason', m.reassignment_reason)
    from moved as m
"""


def build(lab: Lab, n: int) -> None:
    """n due leads among the agents: about half waiting for a claim, half for a contact."""
    lab.reset()
    lab.insert_leads(n, claimed_every=2)
    lab.db.execute("select public.sla_clock_travel(interval '6 minutes')")
    lab.analyze()


def drain(lab: Lab) -> tuple[float, list[float], dict]:
    """Monitor passes until the backlog is gone: (total s, each pass's s, summed counts)."""
    passes: list[float] = []
    start = time.perf_counter()
    totals = monitor.drain(lab.db, passes)
    counts = {k: totals[k] for k in ("unclaimed", "no_contact", "escalated",
                                     "no_eligible_agent")}
    return time.perf_counter() - start, passes, counts


def floor(lab: Lab) -> float:
    start = time.perf_counter()
    cur = lab.db.execute(FLOOR)
    elapsed = time.perf_counter() - start
    if cur.rowcount <= 0:
        raise HarnessError("the backlog floor statement moved no lead")
    return elapsed


def caps(lab: Lab, n: int | None) -> None:
    """Every agent's cap on open leads (None: no caps). The backlog bench sets caps that the
    backlog never reaches, so that the monitor counts them as it routes and moves every lead."""
    lab.db.execute("update public.crm_sla_agent_routing set max_open_leads = %s", (n,))


def measure(lab: Lab) -> list[Row]:
    s = lab.sizes
    n = s.backlog
    caps(lab, 2 * max(n, s.big_backlog) // AGENTS + 10)
    runs: dict[str, list[float]] = {"monitor": [], "floor": []}
    details = {}
    for r in range(s.rounds):
        lab.report(f"backlog: round {r + 1}, {n:,} due leads, monitor then floor")
        build(lab, n)
        total, passes, counts = drain(lab)
        moved = counts["unclaimed"] + counts["no_contact"]
        if moved != n:
            raise HarnessError(f"the monitor moved {moved} of {n} due leads")
        runs["monitor"].append(total)
        details = {"passes": len(passes), "counts": counts}
        build(lab, n)
        runs["floor"].append(floor(lab))
    engine, least = statistics.median(runs["monitor"]), statistics.median(runs["floor"])
    ratio = engine / least
    rows = [Row(
        "backlog", f"3 backlog, {n:,} due leads (weighted, capped)",
        f"{secs(engine)} ({details['passes']} passes)",
        f"{secs(least)} (one statement)", ratio, "<= 1.5 x floor", ratio <= 1.5,
        {"due": n, "monitor_s": engine, "floor_s": least, "monitor_runs_s": runs["monitor"],
         "floor_runs_s": runs["floor"], **details})]

    big = s.big_backlog
    lab.report(f"backlog: {big:,} due leads, pass by pass")
    build(lab, big)
    batch = lab.db.execute("select monitor_batch_size from public.crm_sla_settings"
                           ).fetchone()[0]
    total, passes, counts = drain(lab)
    rows.append(Row(
        "backlog_big", f"3 backlog, {big:,} due leads",
        f"{secs(total)}; longest batch {ms(max(passes))}",
        f"{len(passes)} passes of <= {batch:,}", target="-",
        data={"due": big, "total_s": total, "passes": len(passes), "batch_size": batch,
              "longest_pass_s": max(passes), "median_pass_s": statistics.median(passes),
              "counts": counts}))
    caps(lab, None)
    lab.reset()
    lab.analyze()
    return rows
