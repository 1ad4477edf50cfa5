"""1. Intake: leads inserted in batches through the SLA triggers, against the same INSERTs with
the triggers off (owner given, and unowned leads that the weighted router routes)."""

from __future__ import annotations

import contextlib
import statistics
import time

from harness.bench.common import Row, count
from harness.bench.lab import EMPTY_BATCH, INSERT, Lab

PATHS = ("raw", "engine", "unowned", "minimal", "no_outbox")


def measure(lab: Lab) -> list[Row]:
    """Leads inserted in batches by the service role: through the triggers, owner given or not,
    against the same INSERTs (owner given) with the triggers off, and with only the minimal
    PL/pgSQL trigger (for reference). The paths take turns batch by batch, so that whatever else
    the machine is doing hits them alike; a path's throughput is its median batch, a ratio the
    median of the batch-by-batch ratios."""
    s = lab.sizes
    times: dict[str, list[float]] = {p: [] for p in PATHS}
    lab.reset()
    with contextlib.closing(lab.service()) as conn:
        for b in lab.batches():
            if b % 10 == 0:
                lab.report(f"intake: {s.intake:,} leads each way, batches of "
                           f"{s.intake_batch:,}: batch {b + 1}")
            for path in PATHS if b % 2 == 0 else tuple(reversed(PATHS)):
                lab.triggers(path in ("engine", "unowned", "no_outbox"),
                             minimal=path == "minimal", outbox=path != "no_outbox")
                conn.execute(INSERT, EMPTY_BATCH)  # plans again after the ALTER, untimed
                batch = lab.batch(b, owned=path != "unowned")
                start = time.perf_counter()
                conn.execute(INSERT, batch)
                times[path].append(time.perf_counter() - start)
    lab.triggers(True)
    lab.reset()

    def ratio(path: str, base: str = "raw") -> float:
        return statistics.median(r / e for r, e in zip(times[base], times[path], strict=True))

    rate = {p: s.intake_batch / statistics.median(times[p]) for p in PATHS}
    data = {"leads_per_path": s.intake, "batch": s.intake_batch, "leads_per_s": rate,
            "batch_s": times}
    given = ratio("engine")
    outbox = ratio("engine", base="no_outbox")
    routed = ratio("unowned")
    raw = f"{count(rate['raw'])} leads/s (triggers off)"
    return [
        Row("intake_owner_given", "1 intake, owner given", f"{count(rate['engine'])} leads/s",
            raw, given, "ratio >= 0.85", given >= 0.85, data),
        Row("intake_round_robin", "1 intake, unowned (routed, weighted)",
            f"{count(rate['unowned'])} leads/s",
            f"{count(rate['raw'])} leads/s (triggers off, owner given)",
            routed, "ratio >= 0.5", routed >= 0.5, data={"see": "intake_owner_given"}),
        Row("intake_minimal_trigger", "1 intake, minimal PL/pgSQL trigger",
            f"{count(rate['minimal'])} leads/s", raw, ratio("minimal"), "reference",
            data={"see": "intake_owner_given"}),
        Row("intake_outbox_cost", "1 intake, with its events (outbox)",
            f"{count(rate['engine'])} leads/s",
            f"{count(rate['no_outbox'])} leads/s (without the outbox trigger)",
            outbox, "ratio >= 0.8", outbox >= 0.8, data={"see": "intake_owner_given"}),
    ]
