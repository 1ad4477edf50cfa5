"""`crm-sla monitor`: the SLA monitor in a loop, for databases without pg_cron."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator

import psycopg
from psycopg.rows import tuple_row

from harness import locks
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


@contextlib.contextmanager
def paused(conn: psycopg.Connection, by: str) -> Iterator[None]:
    """Pauses the scheduled monitor while the block runs: `conn` (autocommit, the tables' owner or
    the service role) names itself in crm_sla_monitor_pause, and a running run_sla_monitor loop
    ends at its next pass; this waits for it. The pause ends with the block, or with the session
    if the process dies first."""
    conn.execute(
        "update public.crm_sla_monitor_pause set paused_by_pid = pg_backend_pid(), "
        "paused_by_backend_start = (select backend_start from pg_stat_activity "
        "where pid = pg_backend_pid()), paused_at = now(), paused_by = %s", (by,))
    key = locks.key_sql("monitor")
    conn.execute(f"select pg_advisory_lock({key})")  # a running loop has stepped aside
    try:
        yield
    finally:
        conn.execute(f"select pg_advisory_unlock({key})")
        conn.execute(
            "update public.crm_sla_monitor_pause set paused_by_pid = null, "
            "paused_by_backend_start = null, paused_at = null, paused_by = null "
            "where paused_by_pid = pg_backend_pid()")


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
