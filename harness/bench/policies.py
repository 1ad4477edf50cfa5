"""5. SLA policies and calendars: `sla_business_add` on a calendar with one holiday against one
with 1,500; then intake of leads that all match a business-hours policy against the same INSERTs
with no active policy (the settings' defaults); then the same leads' intake with 1,000 more
active policies that match none of them (tried first, by priority) against that policy alone."""

from __future__ import annotations

import contextlib
import statistics
import time

from harness.bench.common import Row, count
from harness.bench.lab import EMPTY_BATCH, INSERT, Lab
from harness.errors import HarnessError

OFFICE = """
    insert into public.crm_sla_calendars (name, time_zone) values (%s, 'Europe/Berlin')
    returning id
"""

ADD_CALLS = """
    select max(public.sla_business_add(
        %s, timestamptz '2026-11-02 08:00+01' + i * interval '37 minutes',
        (array['5 minutes', '30 minutes', '2 hours', '3 days']::interval[])[1 + i %% 4]))
    from generate_series(1, %s) as i
"""


def office(lab: Lab, name: str, holidays: int) -> str:
    """A Monday-to-Friday 9-to-5 calendar with `holidays` holidays, one every fifth day from 2020
    on (1,500 of them reach 2040)."""
    cal = lab.db.execute(OFFICE, (name,)).fetchone()[0]
    lab.db.execute("insert into public.crm_sla_calendar_hours select %s, d, '09:00', "
                   "'17:00' from generate_series(1, 5) as d", (cal,))
    lab.db.execute("insert into public.crm_sla_holidays (calendar_id, day) select %s, "
                   "date '2020-01-01' + 5 * i from generate_series(0, %s - 1) as i",
                   (cal, holidays))
    return cal


def business_add(lab: Lab, few: str, many: str) -> Row:
    """The same calls on both calendars, rounds taking turns."""
    s = lab.sizes
    calls = s.business_add_calls
    times: dict[str, list[float]] = {"few": [], "many": []}
    for r in range(2 * s.rounds + 1):
        lab.report(f"policies: sla_business_add, round {r + 1}, {calls:,} calls each")
        for key, cal in (("few", few), ("many", many))[:: 1 if r % 2 == 0 else -1]:
            start = time.perf_counter()
            lab.db.execute(ADD_CALLS, (cal, calls))
            times[key].append(time.perf_counter() - start)
    per_call = {k: statistics.median(v) / calls for k, v in times.items()}
    ratio = per_call["many"] / per_call["few"]
    return Row("business_add_holidays", "5 sla_business_add, 1,500 holidays",
               f"{per_call['many'] * 1e6:,.0f} us a call",
               f"{per_call['few'] * 1e6:,.0f} us (1 holiday)", ratio, "ratio <= 1.2",
               ratio <= 1.2, {"calls": calls, "round_s": times, "per_call_s": per_call})


FILLERS = 1_000


def _alternate(lab: Lab, what: str, paths: tuple[str, str], switch: str
               ) -> tuple[dict[str, list[float]], tuple]:
    """Batch by batch, `switch` (an UPDATE taking the path's name) before each path's INSERT,
    the paths in turns so a noisy neighbour hits both alike; returns each path's batch times and
    (leads with a policy, leads)."""
    intake: dict[str, list[float]] = {p: [] for p in paths}
    with contextlib.closing(lab.service()) as conn:
        for b in lab.batches():
            if b % 10 == 0:
                lab.report(f"policies: {what}, {lab.sizes.intake:,} leads each way, batch {b + 1}")
            batch = lab.batch(b)
            for path in paths if b % 2 == 0 else paths[::-1]:
                lab.db.execute(switch, (path,))
                conn.execute(INSERT, EMPTY_BATCH)
                start = time.perf_counter()
                conn.execute(INSERT, batch)
                intake[path].append(time.perf_counter() - start)
    matched = lab.db.execute("select count(*) filter (where sla_policy_id is not null), "
                             "count(*) from public.crm_leads").fetchone()
    lab.reset()
    return intake, matched


def _row(lab: Lab, key: str, workload: str, intake: dict, base: str, other: str, note: str,
         goal: float) -> Row:
    s = lab.sizes
    rate = {p: s.intake_batch / statistics.median(v) for p, v in intake.items()}
    ratio = statistics.median(
        b / o for b, o in zip(intake[base], intake[other], strict=True))
    return Row(key, workload, f"{count(rate[other])} leads/s",
               f"{count(rate[base])} leads/s ({note})", ratio, f"ratio >= {goal}",
               ratio >= goal, {"leads_per_path": s.intake, "batch": s.intake_batch,
                               "leads_per_s": rate, "batch_s": intake})


def policy_intake(lab: Lab, calendar: str) -> list[Row]:
    """The policy switched on for one path and off for the other; then 1,000 policies that
    match nothing switched on for one path and off for the other."""
    lab.reset()
    lab.db.execute("insert into public.crm_sla_policies (name, match, calendar_id, is_active) "
                   "values ('Bench office hours', '{\"source\": \"web\"}', %s, false)",
                   (calendar,))
    intake, matched = _alternate(
        lab, "intake", ("default", "policy"),
        "update public.crm_sla_policies set is_active = (%s = 'policy')")
    if matched[0] * 2 != matched[1]:
        raise HarnessError(f"{matched[0]} of {matched[1]} bench leads got the policy")
    rows = [_row(lab, "intake_business_hours", "5 intake, business-hours policy", intake,
                 "default", "policy", "no policy", 0.75)]
    lab.db.execute("update public.crm_sla_policies set is_active = true")
    lab.db.execute(
        "insert into public.crm_sla_policies (name, match, priority, is_active) "
        "select 'Bench filler ' || i, jsonb_build_object('source', 'filler-' || i), -1, false "
        "from generate_series(1, %s) as i", (FILLERS,))
    lab.db.execute("analyze public.crm_sla_policies")
    intake, matched = _alternate(
        lab, f"intake among {FILLERS:,} more policies", ("one", "many"),
        "update public.crm_sla_policies set is_active = (%s = 'many') "
        "where name like 'Bench filler %%'")
    lab.db.execute("delete from public.crm_sla_policies")
    if matched[0] != matched[1]:
        raise HarnessError(f"{matched[0]} of {matched[1]} bench leads got the policy")
    rows.append(_row(lab, "intake_many_policies",
                     f"5 intake, {FILLERS:,} policies that match nothing", intake, "one",
                     "many", "that policy alone", 0.5))
    return rows


def measure(lab: Lab) -> list[Row]:
    few = office(lab, "Bench few holidays", 1)
    many = office(lab, "Bench 1,500 holidays", 1_500)
    return [business_add(lab, few, many), *policy_intake(lab, few)]
