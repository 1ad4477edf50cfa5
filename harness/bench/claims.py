"""4. Claims: `claim_lead()` against a plain UPDATE of lead_claimed, both as the service role,
pipelined one statement a lead."""

from __future__ import annotations

import contextlib
import statistics
import time

from harness.bench.common import Row, count
from harness.bench.lab import Lab
from harness.errors import HarnessError

CALLS = {
    "claim_lead": "select public.claim_lead(%s)",
    "update": "update public.crm_leads set lead_claimed = true where id = %s",
}


def measure(lab: Lab) -> list[Row]:
    s = lab.sizes
    times: dict[str, list[float]] = {k: [] for k in CALLS}
    with contextlib.closing(lab.service()) as conn:
        for r in range(s.rounds):
            lab.report(f"claims: round {r + 1} of {s.rounds}, {s.claims:,} claims each way")
            for path, stmt in CALLS.items():
                lab.reset()
                lab.insert_leads(s.claims)
                lab.analyze()
                ids = [(row[0],) for row in lab.db.execute(
                    "select id from public.crm_leads order by created_at, id")]
                start = time.perf_counter()
                with conn.pipeline():
                    for params in ids:
                        conn.execute(stmt, params)
                times[path].append(time.perf_counter() - start)
                left = lab.db.execute(
                    "select count(*) from public.crm_leads where not lead_claimed").fetchone()
                if left[0]:
                    raise HarnessError(f"{left[0]} leads were left unclaimed by {path}")
    fn = s.claims / statistics.median(times["claim_lead"])
    raw = s.claims / statistics.median(times["update"])
    lab.reset()
    return [Row(
        "claims", "4 claims (service role)", f"{count(fn)} claims/s (claim_lead)",
        f"{count(raw)} /s (plain UPDATE)", fn / raw, "-", None,
        {"claims": s.claims, "rounds": s.rounds, "claim_lead_per_s": fn, "update_per_s": raw,
         "claim_lead_round_s": times["claim_lead"], "update_round_s": times["update"]})]
