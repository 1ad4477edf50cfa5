"""8. The SLA ladder: one idle `process_sla_timers()` pass at the bench's largest table size with
every open lead on a policy of three ladder steps (each lead's next step instant planned, none due)
against the same table with no steps, rounds interleaved (SPEC, performance of version 3: within
1.2x of none at 1M leads)."""

from __future__ import annotations

import statistics

from harness.bench import idle
from harness.bench.common import Row, ms
from harness.bench.lab import Lab

# A policy with three steps, and each open lead's next step as the engine plans it (the first
# step, at a quarter of its hour-long window: never due while measuring). Triggers off: the
# instants are written as intake would have written them.
LADDER_ON = """
    with pol as (
        insert into public.crm_sla_policies (name, match, claim_window, contact_window)
        values ('bench ladder', '{"source": "bench-ladder"}', '1 hour', '1 hour')
        on conflict (name) do update set name = excluded.name
        returning id
    ),
    steps as (
        insert into public.crm_sla_policy_steps (policy_id, stage, at, notify, name)
        select pol.id, s.stage, s.at, s.notify, s.name
        from pol, (values
            ('claim_window', 0.25, 'owner', 'remind'), ('claim_window', 0.5, 'owner', 'again'),
            ('claim_window', 0.75, 'manager', 'tell_manager')
        ) as s (stage, at, notify, name)
        on conflict on constraint crm_sla_policy_steps_name_key do nothing
    )
    update public.crm_leads as l
    set sla_policy_id = (select id from pol),
        sla_step_at = case when l.lead_claimed then l.contact_timer_started_at
            else l.claim_timer_started_at end + interval '15 minutes'
    where not l.first_action_completed
"""
LADDER_OFF = """
    update public.crm_leads set sla_policy_id = null, sla_step_at = null
    where sla_step_at is not null
"""


def switch(lab: Lab, on: bool) -> None:
    lab.triggers(False)
    try:
        lab.db.execute(LADDER_ON if on else LADDER_OFF)
    finally:
        lab.triggers(True)
    lab.analyze()


def measure(lab: Lab) -> list[Row]:
    s = lab.sizes
    size = s.idle[-1]
    lab.reset()
    lab.report(f"ladder: growing the table to {size:,} leads")
    idle.grow(lab, 0, size)
    times: dict[bool, list[float]] = {False: [], True: []}
    for round_no in range(2):
        for on in (False, True) if round_no % 2 == 0 else (True, False):
            switch(lab, on)
            lab.report(f"ladder: {s.idle_calls} idle passes, {'three steps' if on else 'no steps'}")
            times[on] += idle.pass_times(lab, s.idle_calls)
    none, three = statistics.median(times[False]), statistics.median(times[True])
    ratio = three / none
    switch(lab, False)
    lab.db.execute("delete from public.crm_sla_policy_steps")
    lab.db.execute("delete from public.crm_sla_policies where name = 'bench ladder'")
    lab.reset()
    lab.analyze()
    return [Row(
        "ladder_idle", f"8 idle pass, 3 ladder steps, {size:,} leads", f"{ms(three)} median",
        baseline=f"{ms(none)} no steps", ratio=ratio, target="ratio <= 1.2", met=ratio <= 1.2,
        data={"leads": size, "calls": len(times[True]), "median_s": three,
              "baseline_median_s": none})]
