"""2. The idle monitor: one `process_sla_timers()` pass with nothing due, at three table sizes
(about 1% of leads open), and the plan auto_explain saw inside it."""

from __future__ import annotations

import contextlib
import re
import statistics

import psycopg

from harness.bench.common import Row, ms, percentile
from harness.bench.lab import Lab
from harness.target import connect

DUE_INDEXES = ("crm_leads_sla_breach_idx",)  # what is due: crm_sla_breach_at

# Leads as the engine would have left them: 1% open (half waiting for a claim, half for a first
# contact, with hour-long windows so that nothing falls due or warns while measuring), the rest
# done long ago.
GROW = """
    insert into public.crm_leads (
        assigned_agent_id, full_name, email, source, created_at,
        lead_claimed, first_action_completed,
        claim_timer_started_at, claim_timer_expires_at, claim_window_expires_at,
        contact_timer_started_at, contact_timer_expires_at, sla_warn_at
    )
    select
        (%(agents)s::uuid[])[1 + i %% %(n)s], 'Lead ' || i, 'lead' || i || '@b.example',
        'bench', t.created, t.claimed, not t.open,
        t.created, t.created + t.window, t.created + t.window,
        case when t.claimed then t.created end,
        case when t.claimed then t.created + t.window end,
        case when t.open then t.created + t.window * 0.8 end
    from generate_series(%(lo)s::bigint, %(hi)s::bigint) as i
    cross join lateral (
        select
            i %% 100 = 0 as open,
            i %% 100 <> 0 or i %% 200 = 0 as claimed,
            case when i %% 100 = 0 then now()
                else now() - (i %% 90) * interval '1 day' - interval '1 hour'
            end as created,
            case when i %% 100 = 0 then interval '1 hour'
                else interval '5 minutes'
            end as window
    ) as t
"""

# What the pass tests when nothing is due, for servers where auto_explain cannot be loaded.
DUE_TESTS = """
    explain select min(public.crm_sla_breach_at(l)) from public.crm_leads as l
        where public.crm_sla_breach_at(l) <= public.sla_now()
"""


def grow(lab: Lab, have: int, want: int) -> None:
    """Adds leads up to `want`. Written directly, triggers off: a million leads through the
    trigger path is the intake bench's business."""
    lab.triggers(False)
    try:
        lab.db.execute(GROW, {"agents": lab.agents, "n": len(lab.agents), "lo": have + 1,
                              "hi": want})
    finally:
        lab.triggers(True)
    lab.analyze()


def pass_times(lab: Lab, calls: int) -> list[float]:
    """Server-side execution time of one idle pass (each its own transaction), in seconds."""
    out = []
    for i in range(calls + 10):
        plan = lab.db.execute(
            "explain (analyze, timing off, summary) select public.process_sla_timers()"
        ).fetchall()
        if i >= 10:  # the first ones compile and plan
            text = "\n".join(r[0] for r in plan)
            out.append(float(re.search(r"Execution Time: ([\d.]+) ms", text).group(1)) / 1000)
    return out


def plans(lab: Lab) -> tuple[list[str], list[str], str]:
    """The plans of the statements inside one idle pass, as auto_explain logged them (needs a
    superuser to LOAD it); otherwise EXPLAIN of the same due-lead tests. Returns (plans, index
    names seen, how)."""
    found: list[str] = []
    with contextlib.closing(connect(lab.url)) as conn:
        try:
            conn.execute("load 'auto_explain'")
            conn.execute("set auto_explain.log_min_duration = 0")
            conn.execute("set auto_explain.log_nested_statements = on")
            conn.execute("set client_min_messages = log")
            conn.add_notice_handler(lambda d: found.append(d.message_primary or ""))
            conn.execute("select public.process_sla_timers()")
            how = "auto_explain inside process_sla_timers()"
        except psycopg.Error:
            found = ["\n".join(r[0] for r in conn.execute(DUE_TESTS).fetchall())]
            how = "EXPLAIN of the due-lead tests (auto_explain needs a superuser)"
    found = [p for p in found if "crm_leads" in p]
    seen = sorted(set(re.findall(r"using (\w+)", "\n".join(found))))
    return found, seen, how


def measure(lab: Lab) -> list[Row]:
    s = lab.sizes
    lab.reset()
    have = 0
    medians: dict[int, float] = {}
    rows = []
    found, seen, how = [], [], ""
    for size in s.idle:
        lab.report(f"idle monitor: growing the table to {size:,} leads")
        grow(lab, have, size)
        have = size
        lab.report(f"idle monitor: {s.idle_calls} passes at {size:,} leads")
        times = pass_times(lab, s.idle_calls)
        medians[size] = statistics.median(times)
        found, seen, how = plans(lab)
        rows.append(Row(
            f"idle_{size}", f"2 idle monitor pass, {size:,} leads",
            f"{ms(medians[size])} median", data={
                "leads": size, "open": lab.db.execute(
                    "select count(*) from public.crm_leads where not first_action_completed"
                ).fetchone()[0],
                "calls": len(times), "median_s": medians[size],
                "p95_s": percentile(times, 0.95), "indexes_in_plan": seen}))
    small, big = s.idle[0], s.idle[-1]
    ratio = medians[big] / medians[small]
    top = rows[-1]
    top.baseline = f"{ms(medians[small])} at {small:,}"
    top.ratio = ratio
    top.target = "<= 2 ms, ratio <= 1.5"
    uses_due_index = all(ix in seen for ix in DUE_INDEXES)
    top.met = medians[big] <= 0.002 and ratio <= 1.5 and uses_due_index
    due_test = [p for p in found if "crm_sla_breach_at(l)" in p] or found
    rows.append(Row(
        "idle_plan", f"2 idle monitor plan, {big:,} leads",
        ", ".join(ix for ix in DUE_INDEXES if ix in seen) or "not the due index",
        target="the due index", met=uses_due_index,
        data={"how": how, "indexes": seen, "plan": "\n".join(due_test), "plans": found}))
    lab.reset()
    lab.analyze()
    return rows
