"""6. Breach, warning and ladder step latency (`--latency`, a few minutes): expiries spread over
three minutes under the real pg_cron schedule, each lead warning 3 s and taking a ladder step 2 s
before its expiry."""

from __future__ import annotations

import contextlib
import time
from datetime import timedelta

from harness import schedule
from harness.bench.common import Row, latency_row
from harness.bench.lab import Lab
from harness.errors import HarnessError
from harness.target import connect, with_database

# Half wait for a claim, half for a contact; their windows end one after another over the next
# minutes, each warning 3 s before its end, between other leads' ends (written directly: the
# table owner may set timers).
SPREAD = """
    update public.crm_leads as l
    set claim_timer_expires_at = case when l.lead_claimed
            then l.claim_timer_expires_at else x.due end,
        claim_window_expires_at = case when l.lead_claimed
            then l.claim_window_expires_at else x.due end,
        contact_timer_expires_at = case when l.lead_claimed then x.due end,
        sla_warn_at = x.due - interval '3 seconds',
        sla_warned_at = null,
        sla_step_at = x.due - interval '2 seconds',
        sla_step_done = null
    from (
        select id, clock_timestamp() + interval '5 seconds'
            + (row_number() over (order by id) - 1) * %s * interval '1 second' as due
        from public.crm_leads
    ) as x
    where l.id = x.id
"""
# The ladder step each of those leads takes (leads without a policy: policy_id NULL).
STEPS = """
    insert into public.crm_sla_policy_steps (policy_id, stage, at, notify, name)
    values (null, 'claim_window', 0.5, 'owner', 'bench'),
        (null, 'contact_window', 0.5, 'owner', 'bench')
"""
LIMIT_S = 0.5  # p95 of the breaches and warnings acted on after their instant


def wait_for_first_run(cron, jobid: int) -> None:
    deadline = time.monotonic() + 90
    while not cron.execute("select 1 from cron.job_run_details where jobid = %s",
                           (jobid,)).fetchone():
        if time.monotonic() > deadline:
            raise HarnessError("pg_cron never started the monitor job")
        time.sleep(0.5)


def wait_until_all_moved(lab: Lab) -> None:
    deadline = time.monotonic() + lab.sizes.latency_spread + 90
    while True:
        left = lab.db.execute(
            "select count(*) from public.crm_leads where reassignment_count = 0").fetchone()[0]
        if left == 0:
            return
        if time.monotonic() > deadline:
            raise HarnessError(f"{left} expired leads were never reassigned")
        time.sleep(2)


def measure(lab: Lab) -> list[Row]:
    s = lab.sizes
    lab.reset()
    info, jobid = schedule.schedule_monitor(lab.url)
    if jobid is None:
        return [Row("latency", "6 breach latency", f"not measured: {info.reason}",
                    target=f"p95 <= {LIMIT_S:g} s")]
    every, command = info.plan
    try:
        with contextlib.closing(connect(with_database(lab.url, info.cron_database))) as cron:
            lab.report(f"latency: waiting for pg_cron to start `{command}` (up to a minute)")
            wait_for_first_run(cron, jobid)
        lab.insert_leads(s.latency_leads, claimed_every=2)
        lab.db.execute(STEPS)
        lab.db.execute(SPREAD, (s.latency_spread / s.latency_leads,))
        expiry = dict(lab.db.execute(
            "select id, case when lead_claimed then contact_timer_expires_at "
            "else claim_timer_expires_at end from public.crm_leads").fetchall())
        lab.report(f"latency: {len(expiry)} windows expire over the next "
                   f"{s.latency_spread:.0f} s; waiting for the monitor")
        wait_until_all_moved(lab)
        moved = dict(lab.db.execute(
            "select lead_id, min(created_at) from public.crm_lead_reassignments "
            "group by lead_id").fetchall())
        # When each warning was written (the pass's SLA clock, as for the reassignments).
        warned = dict(lab.db.execute(
            "select lead_id, min((payload ->> 'at')::timestamptz) from public.crm_sla_outbox "
            "where event = 'warning' group by lead_id").fetchall())
        stepped = dict(lab.db.execute(
            "select lead_id, min((payload ->> 'at')::timestamptz) from public.crm_sla_outbox "
            "where event = 'step' group by lead_id").fetchall())
    finally:
        lab.db.execute("delete from public.crm_sla_policy_steps")
        schedule.unschedule_monitor(lab.url)
        with contextlib.closing(connect(with_database(lab.url, info.cron_database))) as cron:
            cron.execute("delete from cron.job_run_details where jobid = %s", (jobid,))
    waits = [(moved[i] - expiry[i]).total_seconds() for i in expiry]
    over = f"{len(waits)} leads over {s.latency_spread:.0f} s"
    rows = [latency_row("latency", "6 breach latency (pg_cron)", waits, over, LIMIT_S,
                        {"leads": len(waits), "pg_cron_schedule": every,
                         "pg_cron_command": command})]
    warn_waits = [(warned[i] - expiry[i] + timedelta(seconds=3)).total_seconds()
                  for i in expiry if i in warned]
    if len(warn_waits) < len(expiry):
        rows.append(Row("warning_latency", "6 warning latency (pg_cron)",
                        f"{len(expiry) - len(warn_waits)} of {len(expiry)} leads not warned",
                        target=f"p95 <= {LIMIT_S:g} s", met=False))
    else:
        rows.append(latency_row("warning_latency", "6 warning latency (pg_cron)", warn_waits,
                                f"{len(warn_waits)} leads over {s.latency_spread:.0f} s",
                                LIMIT_S, {"leads": len(warn_waits)}))
    step_waits = [(stepped[i] - expiry[i] + timedelta(seconds=2)).total_seconds()
                  for i in expiry if i in stepped]
    if not step_waits:
        rows.append(Row("step_latency", "6 ladder step latency (pg_cron)", "no step taken",
                        target=f"p95 <= {LIMIT_S:g} s", met=False))
    else:
        rows.append(latency_row("step_latency", "6 ladder step latency (pg_cron)", step_waits,
                                f"{len(step_waits)} of {len(expiry)} leads", LIMIT_S,
                                {"leads": len(step_waits)}))
    return rows
