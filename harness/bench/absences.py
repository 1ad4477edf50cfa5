"""8. Absences: unowned leads routed at intake with 100 absences on the books (5 under way, the
rest ahead, across the agents) against the same INSERTs with none. The paths take turns batch
by batch; the ratio is the median of the batch-by-batch time ratios (absences / none)."""

from __future__ import annotations

import contextlib
import statistics
import time

from harness.bench.common import Row, count
from harness.bench.lab import EMPTY_BATCH, INSERT, Lab

ABSENCES = 100
UNDER_WAY = 5

# Absence i belongs to agent i mod the agents: the first UNDER_WAY started an hour ago, the others
# start on days to come (the routing pool reads every absence that has not ended).
BOOK = """
    insert into public.crm_sla_agent_absences (agent_id, starts_at, ends_at, reason)
    select (%(agents)s::uuid[])[1 + i %% cardinality(%(agents)s::uuid[])],
        public.sla_now() + case when i < %(under_way)s then interval '-1 hour'
            else i * interval '1 day' end,
        public.sla_now() + case when i < %(under_way)s then interval '1 day'
            else i * interval '1 day' + interval '8 hours' end,
        'bench'
    from generate_series(0, %(n)s - 1) as i
"""


def measure(lab: Lab) -> list[Row]:
    s = lab.sizes
    times: dict[str, list[float]] = {"none": [], "absences": []}
    lab.reset()
    with contextlib.closing(lab.service()) as conn:
        for b in lab.batches():
            if b % 10 == 0:
                lab.report(f"absences: routed intake, {s.intake:,} leads each way, batch {b + 1}")
            for path in ("none", "absences") if b % 2 == 0 else ("absences", "none"):
                lab.db.execute("delete from public.crm_sla_agent_absences")
                if path == "absences":
                    lab.db.execute(BOOK, {"agents": lab.agents, "under_way": UNDER_WAY,
                                          "n": ABSENCES})
                conn.execute(INSERT, EMPTY_BATCH)
                batch = lab.batch(b, owned=False)
                start = time.perf_counter()
                conn.execute(INSERT, batch)
                times[path].append(time.perf_counter() - start)
    absent = lab.db.execute(
        "select count(*) from public.crm_leads as l join public.crm_sla_agent_absences as b "
        "on l.assigned_agent_id = b.agent_id and b.starts_at <= l.claim_timer_started_at "
        "and l.claim_timer_started_at < b.ends_at").fetchone()[0]
    lab.db.execute("delete from public.crm_sla_agent_absences")
    lab.reset()
    ratio = statistics.median(a / n for a, n in zip(times["absences"], times["none"], strict=True))
    rate = {p: s.intake_batch / statistics.median(v) for p, v in times.items()}
    return [Row("intake_absences", f"8 intake, unowned, {ABSENCES} absences ({UNDER_WAY} now)",
                f"{count(rate['absences'])} leads/s", f"{count(rate['none'])} leads/s (none)",
                ratio, "time ratio <= 1.1", ratio <= 1.1,
                {"leads_per_path": s.intake, "batch": s.intake_batch, "batch_s": times,
                 "leads_per_s": rate, "routed_to_an_absent_agent": absent})]
