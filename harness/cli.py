"""`crm-sla`: deploy, schedule and run the lead SLA engine."""

from __future__ import annotations

import argparse
import os
import sys
import uuid

import psycopg

from harness import cluster, migrate, schedule
from harness.errors import HarnessError
from harness.target import database_url, describe_db_error, redact, using_embedded


def cmd_db(args: argparse.Namespace) -> int:
    if args.action == "start":
        print(cluster.DEV.start())
    elif args.action == "stop":
        print("stopped" if cluster.DEV.stop() else "not running")
    elif args.action == "status":
        lay = cluster.DEV.layout()
        state = "running" if cluster.DEV.running() else "stopped"
        print(f"{state}: data in {lay.data}, port {cluster.DEV.port}, socket folder {lay.socket}")
        return 0 if state == "running" else 3
    elif args.action == "url":
        print(cluster.DEV.url())
    elif args.action == "destroy":
        for instance in (cluster.DEV, cluster.TEST):
            base = instance.layout().base
            instance.destroy()
            print(f"removed {base}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    url = database_url()
    print(f"target: {redact(url)}" + (" (embedded)" if using_embedded() else ""))
    applied = migrate.apply(url, lock_timeout=args.lock_timeout)
    if applied:
        print(f"applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        print("nothing to apply: the database is up to date")
    from harness import owner_keys, policies

    for finding in policies.findings(url) or []:
        print(f"warning: {policies.describe(finding)}")
    for item in owner_keys.advice(url) or []:
        print(f"warning: {owner_keys.describe(item)}")
    if args.no_schedule:
        return 0
    info, jobid = schedule.schedule_monitor(url)
    if jobid is None:
        print(f"not scheduled: {info.reason}.")
        print("  Run the monitor yourself instead: crm-sla monitor --interval 5 "
              "(or call public.process_sla_timers() every few seconds from any scheduler).")
    else:
        where = "" if info.cron_database == info.crm_database else (
            f" (pg_cron lives in database {info.cron_database})")
        every, command = info.plan
        print(f"monitor scheduled: pg_cron {info.version} job "
              f"{schedule.job_name(info.crm_database)} (id {jobid}) runs `{command}` "
              f"on '{every}' in {info.crm_database}{where}")
        purge = schedule.schedule_purge(url, args.keep_run_days)
        print(f"run history: pg_cron job {schedule.purge_job_name(info.crm_database)} "
              f"(id {purge}) deletes this database's monitor runs older than "
              f"{args.keep_run_days} days, daily; "
              f"{schedule.outbox_purge_job_name(info.crm_database)} deletes finished events "
              "older than crm_sla_settings.outbox_keep_days")
        if info.plan == schedule.MINUTE_PASS_PLAN:
            print("  note: pg_cron 1.4 in background-worker mode cannot run a long job beside "
                  "others, so the monitor runs once a minute (breaches wait up to a minute). "
                  "pg_cron 1.5+, or cron.use_background_workers = off, acts within seconds.")
        elif info.version.startswith("1.4"):
            print("  note: the job loops for 59 s each minute; with pg_cron 1.4, DROP DATABASE "
                  "elsewhere in this cluster waits for the running loop meanwhile.")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    url = database_url()
    if args.dry_run:
        plan = migrate.plan_rollback(url, count=args.count, lock_timeout=args.lock_timeout)
        if not plan.ids:
            print("nothing to roll back")
            return 0
        print(f"would roll back {len(plan.ids)} migration(s), newest first: "
              f"{', '.join(plan.ids)}")
        print("would drop tables holding rows: " + (
            f"{plan.describe_tables()} (the rollback refuses without --force)"
            if plan.tables_with_rows else "none"))
        print("nothing was changed (--dry-run)")
        return 0
    done = migrate.rollback(url, count=args.count, force=args.force,
                            lock_timeout=args.lock_timeout)
    if not done:
        print("nothing to roll back")
        return 0
    print(f"rolled back: {', '.join(done)}")
    from harness import function_history

    monitor = function_history.first_frozen_in("run_sla_monitor.sql")  # what installed it
    if monitor in done and schedule.unschedule_monitor(url):
        print("the monitor job was removed (its function is gone)")
    return 0


def cmd_migration(args: argparse.Namespace) -> int:
    from harness import function_history

    paths = function_history.write_migration(args.name, number=args.number)
    for path in paths:
        print(f"wrote {path.relative_to(path.parents[2])}")
    print("next: review them, then `make schema` and `make test`")
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    from harness.monitor import run_forever

    return run_forever(database_url(), interval=args.interval, once=args.once)


def cmd_status(args: argparse.Namespace) -> int:
    from harness.status import show

    return show(database_url(quiet=True), as_json=args.json)


def cmd_report(args: argparse.Namespace) -> int:
    from harness.report import report
    from harness.target import connect

    with connect(database_url(quiet=True)) as conn:
        try:
            text = report(conn, args.start, args.end, args.format)
        except psycopg.Error as exc:
            raise HarnessError(f"report failed: {describe_db_error(exc)}") from None
    sys.stdout.write(text)
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from harness.simulate import simulate

    if not using_embedded() and not args.force:
        raise HarnessError(
            "simulate writes a demo team and leads and moves the SLA clock: it runs on the "
            "embedded database; to run it on DATABASE_URL, add --force"
        )
    return simulate(database_url(quiet=True), seed=args.seed, agents=args.agents,
                    minutes=args.minutes, leads_per_minute=args.leads_per_minute,
                    history_weeks=args.history_weeks)


def cmd_adopt(args: argparse.Namespace) -> int:
    from harness import adopt

    result = adopt.adopt(database_url(quiet=True), dry_run=args.dry_run)
    print(adopt.render(result, dry_run=args.dry_run))
    return 0


def cmd_test_sql(args: argparse.Namespace) -> int:
    from harness import sqltests

    return sqltests.run(database_url(quiet=True), verbose=args.verbose, extra=args.pg_prove_args)


def cmd_board(args: argparse.Namespace) -> int:
    from harness.board import serve

    if args.demo and not using_embedded():
        args.demo = False  # the demo writes a team and leads: never into DATABASE_URL unasked
    return serve(database_url(quiet=True), host=args.host, port=args.port,
                 as_agent=args.as_agent, demo=args.demo, token=args.token,
                 allow_hosts=tuple(args.allow_host))


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"not a number of seconds from 0 to 86400: {text!r}")
    return value


def _agent_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an agent id (a UUID): {text!r}") from None


BENCH_WORKLOADS = ("intake", "idle", "backlog", "claims", "policies", "absences", "ownership",
                   "ladder", "pause", "breach", "webhooks")


def bench_workloads(text: str) -> tuple[str, ...]:
    """`--only intake,backlog`: known workload names, in the bench's own order."""
    names = {n.strip() for n in text.split(",") if n.strip()}
    unknown = sorted(names - set(BENCH_WORKLOADS))
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown workload {', '.join(unknown) or repr(text)}; "
            f"choose from {', '.join(BENCH_WORKLOADS)}")
    return tuple(n for n in BENCH_WORKLOADS if n in names)


def cmd_bench(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness import bench

    url = database_url(quiet=True)
    print(f"bench: target {redact(url)}" + (" (embedded)" if using_embedded() else "")
          + "; working in a scratch database", file=sys.stderr, flush=True)
    bench.run(url, quick=args.quick, latency=args.latency,
              out=Path(args.out) if args.out else None, only=args.only)
    return 0


def cmd_soak(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness import soak

    url = database_url(quiet=True)
    print(f"soak: target {redact(url)}" + (" (embedded)" if using_embedded() else "")
          + "; working in a scratch database", file=sys.stderr, flush=True)
    soak.run(url, minutes=args.minutes, rate=args.rate, agents=args.agents, seed=args.seed,
             out=Path(args.out) if args.out else None)
    return 0


def cmd_deliver(args: argparse.Namespace) -> int:
    from harness import deliver

    return deliver.run(database_url(quiet=True), once=args.once)


def cmd_webhooks(args: argparse.Namespace) -> int:
    from harness import webhooks

    return webhooks.cli(database_url(quiet=True), args.action, args.target, args.events,
                        args.secret, args.format)


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness import export

    if args.target == "sql":
        sys.stdout.write(export.sql_script())
    else:
        export.write_supabase(Path(args.dir))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crm-sla", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="the embedded cluster (used when DATABASE_URL is unset)")
    db.add_argument("action", choices=["start", "stop", "status", "url", "destroy"],
                    help="start or stop it, show whether it runs, print its URL, or destroy it "
                    "and the test cluster (all their data)")
    db.set_defaults(func=cmd_db)

    mig = sub.add_parser("migrate", help="apply pending migrations, then schedule the monitor")
    mig.add_argument("--no-schedule", action="store_true", help="do not touch pg_cron")
    mig.add_argument("--lock-timeout", type=_seconds, default=migrate.DEFAULT_LOCK_TIMEOUT,
                     metavar="SECONDS", help="wait at most this long for another migrator, "
                     "then name it and stop (default 60)")
    mig.add_argument("--keep-run-days", type=int, default=schedule.DEFAULT_KEEP_DAYS,
                     help="days of pg_cron run history to keep (default 7)")
    mig.set_defaults(func=cmd_migrate)

    rb = sub.add_parser("rollback", help="undo the latest migration(s)")
    rb.add_argument("--count", type=int, default=1, help="how many (default 1)")
    rb.add_argument("--dry-run", action="store_true",
                    help="list the migrations it would undo and the tables holding rows it "
                    "would drop; change nothing")
    rb.add_argument("--force", action="store_true",
                    help="drop tables that hold rows too (without it, the rollback refuses and "
                    "names them)")
    rb.add_argument("--lock-timeout", type=_seconds, default=migrate.DEFAULT_LOCK_TIMEOUT,
                    metavar="SECONDS", help="wait at most this long for another migrator "
                    "(default 60)")
    rb.set_defaults(func=cmd_rollback)

    gen = sub.add_parser("migration", help="freeze the function files changed in db/functions "
                         "into a new migration (with a rollback restoring the previous bodies)")
    gen.add_argument("name", help="what changed, lowercase with underscores")
    gen.add_argument("--number", help="its four-digit number (default: after the latest)")
    gen.set_defaults(func=cmd_migration)

    mon = sub.add_parser("monitor", help="run the monitor in a loop (when pg_cron is unavailable)")
    mon.add_argument("--interval", type=float, default=5.0, help="seconds between passes")
    mon.add_argument("--once", action="store_true", help="one run (drains a backlog), then exit")
    mon.set_defaults(func=cmd_monitor)

    st = sub.add_parser("status", help="migrations, the pg_cron jobs and their runs, open timers")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    st.set_defaults(func=cmd_status)

    rep = sub.add_parser("report", help="SLA numbers per team and per agent for a period "
                         "(text, JSON or CSV)")
    rep.add_argument("--from", dest="start", metavar="WHEN",
                     help="start: an ISO date or time, or a length back from --to such as 7d "
                     "(default 24h)")
    rep.add_argument("--to", dest="end", metavar="WHEN",
                     help="end: an ISO date or time (default: now on the SLA clock)")
    rep.add_argument("--format", choices=["text", "json", "csv"], default="text")
    rep.set_defaults(func=cmd_report)

    sim = sub.add_parser("simulate", help="a guided demo: a team, a stream of leads, the clock")
    sim.add_argument("--seed", type=int, default=7, help="same seed, same story (default 7)")
    sim.add_argument("--agents", type=int, default=5, help="team size (default 5)")
    sim.add_argument("--minutes", type=int, default=20, help="simulated minutes (default 20)")
    sim.add_argument("--history-weeks", type=int, default=3, metavar="N",
                     help="weeks of history played first, for /stats (default 3; 0: none)")
    sim.add_argument("--leads-per-minute", type=float, default=1.5,
                     help="average new leads a minute (default 1.5)")
    sim.add_argument("--force", action="store_true", help="allow running on DATABASE_URL")
    sim.set_defaults(func=cmd_simulate)

    adopt = sub.add_parser("adopt", help="start the timers of leads that existed before the "
                           "install (no retroactive breach)")
    adopt.add_argument("--dry-run", action="store_true",
                       help="only say what would be started, change nothing")
    adopt.set_defaults(func=cmd_adopt)

    sql = sub.add_parser("test-sql", help="run the pgTAP suite (tests/sql) with pg_prove against "
                         "a migrated database")
    sql.add_argument("-v", "--verbose", action="store_true", help="print every test's line")
    sql.add_argument("pg_prove_args", nargs="*", metavar="PG_PROVE_ARG",
                     help="more pg_prove options (after --)")
    sql.set_defaults(func=cmd_test_sql)


    board = sub.add_parser("board", help="the lead board: a live web page of every open lead")
    board.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    board.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any)")
    board.add_argument("--as-agent", type=_agent_id, metavar="UUID",
                       help="read and act as this agent, through its row-level security "
                       "(default: the service role, every lead)")
    board.add_argument("--token", default=os.environ.get("CRM_SLA_BOARD_TOKEN") or None,
                       help="the secret readers and claims need (at least 16 characters; "
                       "default $CRM_SLA_BOARD_TOKEN, else a new one on a loopback --host; "
                       "required on any other)")
    board.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                       help="another Host header to answer (a DNS name or proxy in front); "
                       "repeatable")
    board.add_argument("--demo", action="store_true",
                       help="on an embedded database with no open leads, play `crm-sla "
                       "simulate` beside the board")
    board.set_defaults(func=cmd_board)

    dl = sub.add_parser("deliver", help="POST the engine's events to the webhooks (signed), "
                        "waking on each event; retries per crm_sla_settings")
    dl.add_argument("--once", action="store_true", help="deliver what is due now, then exit")
    dl.set_defaults(func=cmd_deliver)

    wh = sub.add_parser("webhooks", help="add, list or remove the endpoints that receive events")
    wh.add_argument("action", choices=["add", "list", "remove"],
                    help="add URL (prints its id and secret), list, or remove ID")
    wh.add_argument("target", nargs="?", metavar="URL|ID", help="the URL to add, the id to remove")
    wh.add_argument("--events", metavar="a,b",
                    help="only these events (assigned, reassigned, escalated, warning, "
                    "no_eligible_agent, claimed, contacted, step, breached); default: all")
    wh.add_argument("--secret", help="the signing secret, whsec_<base64> (default: generated)")
    wh.add_argument("--format", choices=["standard", "slack"], default="standard",
                    help="the body: standard (the event's JSON) or slack ({\"text\": one "
                    "sentence}, for a Slack incoming webhook)")
    wh.set_defaults(func=cmd_webhooks)

    bench = sub.add_parser("bench",
                           help="measure the engine against raw SQL, in a scratch database")
    bench.add_argument("--quick", action="store_true", help="small sizes (what make test runs)")
    bench.add_argument("--latency", action="store_true",
                       help="also measure breach latency under the real pg_cron schedule "
                       "(a few minutes)")
    bench.add_argument("--out", help="folder for the JSON figures (default bench-results/)")
    bench.add_argument("--only", type=bench_workloads, metavar="WORKLOAD[,...]",
                       help="run only these workloads (" + ", ".join(BENCH_WORKLOADS)
                       + "), e.g. when measuring one change before and after")
    bench.set_defaults(func=cmd_bench)

    soak = sub.add_parser("soak", help="everything at once for a while (intake, agents, pg_cron, "
                          "webhooks, the board), in a scratch database; checks nothing was lost")
    soak.add_argument("--minutes", type=float, default=10.0, help="how long (default 10)")
    soak.add_argument("--rate", type=float, default=50.0, help="new leads a second (default 50)")
    soak.add_argument("--agents", type=int, default=40, help="simulated agents (default 40)")
    soak.add_argument("--seed", type=int, default=17, help="same seed, same team and habits")
    soak.add_argument("--out", help="folder for the JSON figures (default bench-results/)")
    soak.set_defaults(func=cmd_soak)

    ex = sub.add_parser("export", help="the engine as SQL for other tools: Supabase CLI migration "
                        "files, or one script for psql (installs or upgrades; safe to run twice)")
    ex.add_argument("target", choices=["supabase", "sql"],
                    help="supabase: one file per release into --dir; sql: one script on stdout")
    ex.add_argument("--dir", default="supabase/migrations",
                    help="where `export supabase` writes (default supabase/migrations)")
    ex.set_defaults(func=cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except HarnessError as exc:
        print(f"crm-sla: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("crm-sla: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
