"""`crm-sla soak` (`make soak`): everything at once, for a while, and proof that nothing was lost.

In a scratch database (made and dropped as the bench makes its own), with the real pg_cron monitor
job scheduled for it, `crm-sla deliver` (a subprocess) POSTing to a receiver on 127.0.0.1, the lead
board (a subprocess, for its memory) and a LISTEN observer (a process of its own, so that the load
generator's threads do not delay what it times):

- intake at `--rate` leads a second as the service role: single INSERTs, and every 15 s the last
  3 s of leads as one bulk INSERT; most unowned (routed), some with an owner given; sources that
  pick different SLA policies (a ladder of steps to the owner and its manager; a business-hours
  calendar's open time with breaches going to the manager; a team only; accounts routed to their
  owner by email, breaches flagged; the settings' defaults for the rest);
- `--agents` simulated agents (plus one admin), the first few managing the others, that hear of
  their leads on `crm_sla` and claim (or decline) and contact them after a share of the window
  their habit gives (prompt, steady, slow: often too late, away: now and then not accepting leads
  and not answering), with routing weights and caps, now and then booking an absence;
- an admin reassigning a lead by hand every few seconds.

The monitor starts in the soak's own session (`call run_sla_monitor()`) only until pg_cron's first
minute begins, then pg_cron runs it, as in production. What it reports, from the events as the
observer received them (a notification arrives when its transaction commits):

- breach lag: from a window's expiry (the `expires_at` of the event that started the timer) to the
  commit of the reassignment, escalation or no_eligible_agent event; warning lag likewise, from
  `warn_at` of the window (policies without a calendar);
- webhook lag: from an event's commit to the receiver's arrival;
- monitor pass time: each pass that wrote events, from its transaction's start (its events' `at`,
  the SLA clock being the wall clock here) to its commit. Idle passes write nothing and are not
  seen: they cost about a millisecond (`make bench`);
- the overflow queue (open leads without an owner) over time, dead tuples and table sizes at the
  start and the end, the resident memory of `crm-sla deliver` and the board, errors by SQLSTATE.

The end checks (harness.soak.analysis and, for the workflow of version 3, harness.soak.workflow)
raise (exit 2) when they fail; the goals are measured and printed, never asserted.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from harness import schedule
from harness.bench.common import RESULTS_DIR, machine, scratch_database, versions
from harness.errors import HarnessError
from harness.soak import workflow
from harness.soak.analysis import analyse, checks
from harness.soak.load import Soak
from harness.soak.observer import observe
from harness.soak.plan import Plan
from harness.soak.report import assemble, render
from harness.target import connect, describe_db_error, redact, with_database

__all__ = ["Plan", "run"]


def run(url: str, minutes: float = 10, rate: float = 50, agents: int = 40, seed: int = 17,
        out: Path | None = None, report: Callable[[str], None] | None = None) -> dict:
    """Runs the soak against the server of `url`; returns the JSON written. Raises HarnessError
    when an end check fails."""
    if report is None:
        def report(msg: str) -> None:
            print(f"soak: {msg}", file=sys.stderr, flush=True)
    if minutes <= 0 or rate <= 0 or agents < 4:
        raise HarnessError("soak needs --minutes > 0, --rate > 0 and --agents >= 4")
    plan = Plan(minutes, rate, agents, seed)
    started = datetime.now(UTC)
    header = {"started_at": started.isoformat(), "target": redact(url), "machine": machine(),
              **versions(url), "minutes": minutes, "rate": rate, "agents": agents, "seed": seed}
    folder = out or RESULTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    logs = folder / f"soak-{started.strftime('%Y%m%dT%H%M%SZ')}"
    with scratch_database(url, report, kind="soak") as scratch:
        header["scratch_database"] = psycopg.conninfo.conninfo_to_dict(scratch)["dbname"]
        try:
            result = _run(scratch, plan, header, logs, report)
        except psycopg.Error as exc:
            raise HarnessError(f"soak failed: {describe_db_error(exc)}") from None
    path = folder / f"soak-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(render(result))
    print(f"\nfigures written to {path}")
    failed = [c["check"] for c in result["checks"] if c["passed"] is False]
    if failed:
        raise HarnessError(f"soak: {len(failed)} check(s) failed: {'; '.join(failed)}")
    return result


def _run(url: str, plan: Plan, header: dict, logs: Path, report) -> dict:
    soak = Soak(url, plan, report)
    db = soak.db
    header["setup"] = soak.setup()
    header["engine"] = {}
    ctx = mp.get_context("spawn")
    ready, stop_obs, counts = ctx.Queue(), ctx.Event(), ctx.Array("d", 2)
    logs.mkdir(parents=True, exist_ok=True)
    seen_path = logs / "observer.json"
    observer = ctx.Process(target=observe, args=(url, ready, stop_obs, counts, str(seen_path)),
                           daemon=True)
    observer.start()
    port = ready.get(timeout=30)
    # The receiver is on 127.0.0.1, which the deliverer refuses unless the settings allow it.
    db.execute("update public.crm_sla_settings set webhook_allow_private = true")
    webhook = db.execute("insert into public.crm_sla_webhooks (url) values (%s) returning id::text",
                         (f"http://127.0.0.1:{port}/soak",)).fetchone()[0]
    soak.spawn("deliver", "deliver", log=logs / "deliver.log")
    soak.spawn("board", "board", "--port", "0", log=logs / "board.log")
    info, jobid = schedule.schedule_monitor(url)
    if jobid is None:
        raise HarnessError(f"the soak needs pg_cron: {info.reason}")
    cron_url = with_database(url, info.cron_database)
    # Until pg_cron's first run: the same procedure in a session of our own.
    bridge = threading.Thread(target=_bridge, args=(url, cron_url, jobid, soak), daemon=True)
    time.sleep(2.0)  # the subprocesses are up and listening
    soak.deadlocks_start = _deadlocks(db)
    start_tables = soak.tables()
    soak.sample_rss("start")
    soak.started = time.monotonic()
    t0_wall = time.time()
    report(f"running {plan.minutes:g} min at {plan.rate:g} leads/s with {plan.agents} agents "
           f"(windows {plan.claim_window:g} s / {plan.contact_window:g} s); pg_cron job {jobid} "
           "takes the monitor over at its first run")
    threads = [threading.Thread(target=t, daemon=True) for t in
               (soak.hear, soak.act, soak.act, soak.act, soak.manage)]
    threads.append(threading.Thread(target=soak.sample, args=(counts,), daemon=True))
    viewer = threading.Thread(target=soak.watch_board, args=(logs / "board.log",), daemon=True)
    viewer.start()
    bridge.start()
    for t in threads:
        t.start()
    time.sleep(0.5)
    intake = threading.Thread(target=soak.intake, daemon=True)
    intake.start()
    try:
        while time.monotonic() - soak.started < plan.seconds:
            time.sleep(0.5)
            for name, proc in soak.procs.items():
                if proc.poll() is not None:
                    raise HarnessError(f"{name} ended early ({proc.returncode}); see {logs}")
    finally:
        soak.sample_rss("end")
        soak.stop.set()
        for t in (intake, *threads):
            t.join(15)
    elapsed = time.monotonic() - soak.started
    report("load stopped; waiting for the last absence to end, then pausing the monitor")
    _absences_over(db)  # the scheduled monitor goes on meanwhile: timers still fall due
    pause = connect(url)
    with contextlib.closing(pause):
        from harness import monitor

        with monitor.paused(pause, by="crm-sla soak"):
            header["routed_after_the_load"] = _settle(db)
            deadline = time.monotonic() + 60
            while db.execute("select count(*) from public.crm_sla_webhook_deliveries "
                             "where status = 'pending'").fetchone()[0]:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            time.sleep(1.0)  # the last POSTs' answers and notifications
            stop_obs.set()
            observer.join(30)
            ended = {name: soak.end(name) for name in list(soak.procs)}
            soak.deadlocks_end = _deadlocks(db)
            end_tables = soak.tables()
            schedule.unschedule_monitor(url)
            with contextlib.closing(connect(cron_url)) as cron:
                runs = cron.execute(
                    "select status, coalesce(return_message, ''), "
                    "extract(epoch from end_time - start_time) from cron.job_run_details "
                    "where jobid = %s", (jobid,)).fetchall()
                cron.execute("delete from cron.job_run_details where jobid = %s", (jobid,))
            seen = json.loads(seen_path.read_text())
            lags = analyse(db, seen, t0_wall, elapsed, webhook)
            header["engine"]["policies_chosen"] = _policies_used(db)
            deliver_log = (logs / "deliver.log").read_text()
            result_checks = checks(
                db, soak, seen, lags, webhook, elapsed,
                [m for s, m, _ in runs if s == "failed"], deliver_log) + workflow.checks(db, soak)
    return assemble(header, plan, soak, lags, result_checks, start_tables, end_tables, runs,
                    ended, elapsed)


def _settle(db: psycopg.Connection) -> int:
    """With the load stopped and the scheduled monitor paused: passes of our own until one routes
    no waiting lead, so that a lead still unowned has no eligible agent (a slot freed by the last
    scheduled pass is taken). Returns how many leads these passes routed."""
    total = 0
    for _ in range(10):
        result = db.execute("select public.process_sla_timers()").fetchone()[0]
        total += int(result.get("routed", 0))
        moved = sum(int(result.get(k, 0)) for k in ("unclaimed", "no_contact", "escalated"))
        if not result.get("routed") and not moved:  # a move frees a slot for the next pass
            break
    return total


def _absences_over(db: psycopg.Connection) -> None:
    """Waits (at most 30 s) until every absence booked has ended: one that ended after the
    settling passes would make an agent eligible for leads still queued, with no pass to route
    them before the end checks."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and db.execute(
            "select exists (select from public.crm_sla_agent_absences "
            "where ends_at > public.sla_now())").fetchone()[0]:
        time.sleep(0.5)


def _policies_used(db: psycopg.Connection) -> bool:
    return db.execute("select exists (select from public.crm_leads "
                      "where sla_policy_id is not null)").fetchone()[0]


def _deadlocks(db: psycopg.Connection) -> int:
    return db.execute("select deadlocks from pg_stat_database "
                      "where datname = current_database()").fetchone()[0]


def _bridge(url: str, cron_url: str, jobid: int, soak: Soak) -> None:
    """The monitor in a session of our own until pg_cron has started its job (pg_cron 1.4 may
    skip the first minute after a job is made): the same procedure, ending a second before each
    minute so that pg_cron's call finds the lock free, then watching whether pg_cron started."""
    try:
        with contextlib.closing(connect(url)) as conn, \
                contextlib.closing(connect(cron_url)) as cron:
            while not soak.stop.is_set():
                now = time.time()
                boundary = (now // 60 + 1) * 60
                if boundary - now > 1.5:
                    conn.execute("call public.run_sla_monitor(%s::interval)",
                                 (f"{boundary - now - 1.0:.3f} seconds",))
                while time.time() < boundary + 1.5:
                    if cron.execute("select exists (select from cron.job_run_details "
                                    "where jobid = %s)", (jobid,)).fetchone()[0]:
                        soak.bridged = time.monotonic() - soak.started
                        return
                    time.sleep(0.1)
    except psycopg.Error as exc:
        soak.error(exc, "monitor (bridge)")
