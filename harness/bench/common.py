"""What every measured run shares (the bench and the soak): sizes, the result row, figures'
formatting, the machine and versions in a report's header, and the scratch database."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness import schedule
from harness.paths import REPO_ROOT
from harness.target import connect, using_embedded

RESULTS_DIR = REPO_ROOT / "bench-results"


@dataclass(frozen=True)
class Sizes:
    intake: int  # leads per path
    intake_batch: int
    rounds: int  # of the backlog and claims workloads, each against its baseline
    idle: tuple[int, ...]
    idle_calls: int
    backlog: int
    big_backlog: int
    claims: int
    business_add_calls: int
    latency_leads: int = 360
    latency_spread: float = 180.0  # seconds over which the windows expire
    webhook_events: int = 300


FULL = Sizes(intake=50_000, intake_batch=1_000, rounds=3, idle=(10_000, 100_000, 1_000_000),
             idle_calls=300, backlog=10_000, big_backlog=100_000, claims=10_000,
             business_add_calls=4_000)
QUICK = Sizes(intake=2_000, intake_batch=500, rounds=1, idle=(1_000, 5_000, 20_000),
              idle_calls=30, backlog=1_000, big_backlog=3_000, claims=500,
              business_add_calls=400)


@dataclass
class Row:
    """One line of the table (and of the JSON)."""

    key: str  # stable id, e.g. "intake_owner_given"
    workload: str
    figure: str
    baseline: str = "-"
    ratio: float | None = None
    target: str = "-"
    met: bool | None = None
    data: dict = field(default_factory=dict)


def count(n: float) -> str:
    return f"{n:,.0f}"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms" if seconds < 0.01 else f"{seconds * 1000:,.1f} ms"


def secs(seconds: float) -> str:
    return f"{seconds:,.2f} s"


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by the nearest-rank method."""
    ordered = sorted(values)
    rank = max(1, round(q * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def latency_row(key: str, workload: str, waits: list[float], baseline: str, limit_s: float,
                data: dict) -> Row:
    """A latency workload's row: p50, p95 and max of `waits` (seconds), met when p95 <= limit."""
    p50, p95, worst = percentile(waits, 0.5), percentile(waits, 0.95), max(waits)
    return Row(key, workload, f"p50 {ms(p50)}, p95 {ms(p95)}, max {ms(worst)}", baseline,
               target=f"p95 <= {limit_s:g} s", met=p95 <= limit_s,
               data={**data, "p50_s": p50, "p95_s": p95, "max_s": worst})


def machine() -> dict:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu": cpu}


def versions(url: str) -> dict:
    with connect(url) as conn:
        pg = conn.execute("show server_version").fetchone()[0]
    info = schedule.probe(url)
    return {"postgres": pg, "pg_cron": info.version if info.available else f"none ({info.reason})"}


@contextlib.contextmanager
def scratch_database(url: str, report: Callable[[str], None], kind: str = "bench"
                     ) -> Iterator[str]:
    """A new, migrated database on the server of `url` (made the way the test suite makes its
    own: harness.scratch.ScratchServer), dropped on the way out, whatever happens, together with
    its template and any API role the migrations had to create. `url` itself is only used to
    issue CREATE and DROP DATABASE. Nothing is scheduled in the new database (but by --latency,
    which unschedules its job again), and DROP ... WITH (FORCE) ends whatever is left there.
    """
    from harness.scratch import ScratchServer

    server = ScratchServer(url, embedded=using_embedded())
    try:
        name = server.create(template=server.migrated_template(), kind=kind)
        report(f"scratch database {name} created and migrated")
        yield server.url_for(name)
    finally:
        with connect(url) as admin:
            # pg_cron 1.4 in libpq mode: while a job runs anywhere in the cluster, DROP DATABASE
            # waits for it to end (its launcher does not answer the drop's ProcSignalBarrier).
            busy = [r[0] for r in admin.execute(
                "select distinct datname from pg_stat_activity where application_name = 'pg_cron' "
                "and backend_type = 'client backend' and state = 'active' "
                "and not datname like 'crm_sla_%%'")]
        report("dropping the scratch database" + (
            f" (waits for the pg_cron job running in {', '.join(busy)} to end its minute: "
            "pg_cron 1.4 holds up DROP DATABASE)" if busy else ""))
        start = time.monotonic()
        server.close()
        if time.monotonic() - start > 1:
            report(f"dropped after {time.monotonic() - start:.0f} s")
