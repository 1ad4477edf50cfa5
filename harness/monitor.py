"""`crm-sla monitor`: the SLA monitor in a loop, for databases without pg_cron."""

from __future__ import annotations

import json
import time

import psycopg
from psycopg.rows import tuple_row

from harness.errors import HarnessError
from harness.signals import stop_on_signals
from harness.target import connect, describe_db_error


def drain(conn: psycopg.Connection, pass_seconds: list[float] | None = None) -> dict:
    """Run passes until no full batch is left; returns the summed counts. Each pass's duration
    (how long it held its locks, give or take a round trip) goes to `pass_seconds` if given."""
    totals: dict[str, int] = {}
    while True:
        start = time.perf_counter()
        with conn.cursor(row_factory=tuple_row) as cur:  # whatever the connection's row factory
            result = cur.execute("select public.process_sla_timers()").fetchone()[0]
        if pass_seconds is not None:
            pass_seconds.append(time.perf_counter() - start)
        for key, value in result.items():
            if isinstance(value, int) and key != "remaining":
                totals[key] = totals.get(key, 0) + value
        totals["at"] = result["at"]
        moved = result["unclaimed"] + result["no_contact"] + result["escalated"]
        if result["remaining"] == 0 or moved == 0:
            totals["remaining"] = result["remaining"]
            return totals


def run_forever(url: str, interval: float, once: bool = False) -> int:
    if interval <= 0:
        raise HarnessError("--interval must be a positive number of seconds")
    with connect(url) as conn, stop_on_signals():
        if not once:
            print(f"crm-sla monitor: a pass every {interval:g}s; Ctrl-C or SIGTERM stops it",
                  flush=True)
        try:
            while True:
                try:
                    totals = drain(conn)
                except psycopg.Error as exc:
                    raise HarnessError(f"monitor pass failed: {describe_db_error(exc)}") from None
                if once or any(v for k, v in totals.items() if k not in ("remaining", "at")):
                    print(json.dumps(totals, sort_keys=True), flush=True)
                if once:
                    return 0
                time.sleep(interval)
        except KeyboardInterrupt:
            print("crm-sla monitor: stopped", flush=True)
            return 0
