"""`crm-sla bench` (`make bench`): the engine measured against raw SQL, side by side in one run.

Every run works in a scratch database that it creates on the target server (the embedded cluster,
or the server in DATABASE_URL) and drops at the end, so real data is never touched; no monitor is
scheduled there except by `--latency`, which unschedules it again. Each workload (a module here)
is measured next to its baseline in the same run, rounds interleaved so that a noisy neighbour
hits both alike:

1. `intake`: leads inserted in batches through the SLA triggers, against the same INSERTs with
   the triggers disabled (owner given, and unowned leads that the weighted router routes);
2. `idle`: one `process_sla_timers()` pass with nothing due, at three table sizes (about 1% of
   leads open), and the plan auto_explain saw inside it;
3. `backlog`: due leads (claim and contact stages mixed) cleared by the monitor, against one
   hand-written statement doing the same writes (the floor); then a large backlog, batch by batch;
4. `claims`: `claim_lead()` against a plain UPDATE of lead_claimed, both as the service role;
5. `policies`: business-hours arithmetic with many holidays, and intake under a policy;
6. `breach` (`--latency`, a few minutes): breach, warning and ladder step latency, expiries
   spread over three minutes under the real pg_cron schedule, each lead warning 3 s and taking a
   step 2 s before its expiry;
7. `webhooks` (`--latency`): events from commit to receipt by a local HTTP endpoint, with
   `crm-sla deliver` running;
8. `absences`: routed intake with 100 absences on the books against none;
9. `ownership`: unowned leads under a policy whose owner_key is an indexed column, against the
   same policy without owner_key;
10. `ladder`: the idle pass at the largest size with three ladder steps planned, against none;
11. `pause`: a non-SLA UPDATE of leads on a policy with `pause_when` against the same UPDATE of
    leads on a policy without one (stop the clock).

It prints one table and writes the figures as JSON to bench-results/ (git-ignored). Timings are
never asserted anywhere: `make test` runs `--quick` once only to keep this package working.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from harness import table
from harness.bench import (
    absences,
    backlog,
    breach,
    claims,
    idle,
    intake,
    ladder,
    ownership,
    pause,
    policies,
    webhooks,
)
from harness.bench.common import FULL, QUICK, RESULTS_DIR, Row, machine, scratch_database, versions
from harness.bench.lab import Lab
from harness.errors import HarnessError
from harness.target import describe_db_error, redact

__all__ = ["FULL", "QUICK", "RESULTS_DIR", "Row", "render", "run"]

WORKLOADS = (intake, idle, backlog, claims, policies, absences, ownership, ladder, pause)
WITH_LATENCY = (breach, webhooks)


def render(rows: list[Row], header: dict) -> str:
    m = header["machine"]
    title = (f"crm-sla bench ({header['mode']}): PostgreSQL {header['postgres']}, pg_cron "
             f"{header['pg_cron']}; {m['nproc']} cores, {m['cpu']}")
    body = table.render(
        ("workload", "figure", "baseline", "ratio", "target", "result"),
        [(r.workload, r.figure, r.baseline, None if r.ratio is None else f"{r.ratio:.2f}",
          r.target, None if r.met is None else ("met" if r.met else "MISSED")) for r in rows])
    return f"{title}\n{body}"


def run(url: str, quick: bool = False, latency: bool = False, out: Path | None = None,
        report: Callable[[str], None] | None = None,
        only: tuple[str, ...] | None = None) -> tuple[list[Row], Path]:
    """Runs the bench against the server of `url` (`only`: these workloads, by module name);
    returns the rows and the JSON file written."""
    if report is None:
        def report(msg: str) -> None:
            print(f"bench: {msg}", file=sys.stderr, flush=True)
    sizes = QUICK if quick else FULL
    started = datetime.now(UTC)
    header = {"mode": "quick" if quick else "full", "started_at": started.isoformat(),
              "target": redact(url), "machine": machine(), **versions(url),
              "sizes": asdict(sizes), "only": list(only) if only else None}
    rows: list[Row] = []
    with scratch_database(url, report) as scratch:
        header["scratch_database"] = psycopg.conninfo.conninfo_to_dict(scratch)["dbname"]
        lab = Lab(scratch, sizes, report)
        try:
            lab.setup()
            for workload in WORKLOADS + (WITH_LATENCY if latency or only else ()):
                if only is None or workload.__name__.rsplit(".", 1)[-1] in only:
                    rows.extend(workload.measure(lab))
        except psycopg.Error as exc:
            raise HarnessError(f"bench failed: {describe_db_error(exc)}") from None
        finally:
            lab.close()
    header["seconds"] = round((datetime.now(UTC) - started).total_seconds(), 1)
    folder = out or RESULTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bench-{started.strftime('%Y%m%dT%H%M%SZ')}-{header['mode']}.json"
    path.write_text(json.dumps({**header, "rows": [asdict(r) for r in rows]}, indent=2,
                               default=str) + "\n")
    print(render(rows, header))
    for row in rows:
        if row.key == "idle_plan":
            print(f"\n{row.workload} ({row.data['how']}):")
            print("\n".join("    " + line for line in row.data["plan"].splitlines()))
    print(f"\nfigures written to {path}")
    return rows, path
