"""Scheduling the SLA monitor with pg_cron.

pg_cron lives in one database of the cluster (`cron.database_name`), often not the CRM's; job names
are unique per user across the cluster, so the job is named after the CRM database and created with
`cron.schedule_in_database`, which runs it in the CRM database (or with plain `cron.schedule` when
the CRM lives in pg_cron's database, as on Supabase, where only the superuser may call the former).
Scheduling the same name again updates the job in place, so re-running `make migrate` never
makes a second one.

One plan on every pg_cron (a breach acted on within seconds of expiry): the job runs every
minute and calls `public.run_sla_monitor()`, a procedure that works for 59 seconds, committing each
pass and sleeping until the next timer falls due (at most two seconds) between passes: a breach is
acted on milliseconds after its instant, except in the second between one minute's loop and the
next. pg_cron 1.5+ could schedule every few seconds instead, but then
the path Supabase runs (pg_cron 1.6) would not be the path the test suite runs (Debian bookworm
has 1.4), and a job started every 5 seconds costs a connection and a run-history row each time:
the minute loop is as fast and is tested. A session advisory lock inside the procedure makes an
overlapping run exit at once, and pg_cron ends the session when the call returns, so nothing
leaks.

Two pg_cron 1.4 caveats. In background-worker mode (`cron.use_background_workers = on`) 1.4's
launcher waits for its longest job before starting any other (pg_cron issue #200, fixed in 1.5),
so there, and only there, the job makes one pass a minute instead, and `make migrate` says that
breaches then wait up to a minute. In the default libpq mode 1.4's launcher does not answer
ProcSignalBarriers while a job runs, so a DROP DATABASE elsewhere in the cluster waits until the
running loop's minute is over; `make migrate` says so too.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from harness.target import connect, with_database

MINUTE_LOOP_PLAN = ("* * * * *", "call public.run_sla_monitor()")
MINUTE_PASS_PLAN = ("* * * * *", "call public.run_sla_monitor(interval '0')")


PURGE_SCHEDULE = "17 3 * * *"  # daily, at an hour when little else runs
DEFAULT_KEEP_DAYS = 7


def job_name(database: str) -> str:
    return f"crm-sla-monitor:{database}"


def purge_job_name(database: str) -> str:
    return f"crm-sla-purge:{database}"


def outbox_purge_job_name(database: str) -> str:
    return f"crm-sla-outbox-purge:{database}"


# Runs in the CRM database: old outbox rows whose deliveries are finished (outbox_keep_days).
OUTBOX_PURGE_COMMAND = "call public.crm_sla_purge_outbox()"


def purge_command(database: str, keep_days: int) -> str:
    """SQL run in pg_cron's database: forget this CRM database's old run rows of both jobs."""
    names = ", ".join(f"'{n}'" for n in (job_name(database), purge_job_name(database)))
    return (
        "delete from cron.job_run_details where jobid in "
        f"(select jobid from cron.job where jobname in ({names}) and username = current_user) "
        f"and end_time < now() - interval '{int(keep_days)} days'"
    )


@dataclass
class CronInfo:
    available: bool
    reason: str = ""
    cron_database: str = ""
    crm_database: str = ""
    user: str = ""
    version: str = ""
    background_workers: bool = False

    @property
    def blocks_behind_long_jobs(self) -> bool:
        """pg_cron 1.4 in background-worker mode (issue #200): a long job holds up every other."""
        major, minor = (int(x) for x in self.version.split("-")[0].split(".")[:2])
        return self.background_workers and (major, minor) < (1, 5)

    @property
    def plan(self) -> tuple[str, str]:
        """(schedule, command) for this pg_cron: the minute loop, except where it would block."""
        return MINUTE_PASS_PLAN if self.blocks_behind_long_jobs else MINUTE_LOOP_PLAN


def probe(url: str, create_extension: bool = True) -> CronInfo:
    """Is pg_cron usable for this database, and where does it live? With `create_extension`
    (what `make migrate` does) a preloaded pg_cron is created in its database when missing."""
    with connect(url) as conn:
        database, user = conn.execute("select current_database(), current_user").fetchone()
        try:
            cron_db = conn.execute("select current_setting('cron.database_name')").fetchone()[0]
        except psycopg.Error:
            return CronInfo(False, "pg_cron is not loaded on this server "
                            "(shared_preload_libraries does not include pg_cron)",
                            crm_database=database, user=user)
    info = CronInfo(True, cron_database=cron_db, crm_database=database, user=user)
    try:
        with connect(with_database(url, cron_db)) as conn:
            if not conn.execute("select 1 from pg_extension where extname = 'pg_cron'").fetchone():
                if not create_extension:
                    return CronInfo(False, f"pg_cron is loaded but not created in database "
                                    f"{cron_db} (create extension pg_cron there)",
                                    crm_database=database, user=user)
                try:
                    conn.execute("create extension if not exists pg_cron")
                except psycopg.Error as exc:
                    return CronInfo(False, f"pg_cron is not installed in database {cron_db} and "
                                    f"could not be created ({exc.diag.message_primary})",
                                    crm_database=database, user=user)
            info.version = conn.execute(
                "select extversion from pg_extension where extname = 'pg_cron'").fetchone()[0]
            info.background_workers = conn.execute(
                "select current_setting('cron.use_background_workers', true)").fetchone()[0] == "on"
    except Exception as exc:  # noqa: BLE001 - any failure here means: cannot schedule
        return CronInfo(False, f"cannot reach pg_cron's database {cron_db}: {exc}",
                        crm_database=database, user=user)
    return info


def _schedule_in_crm(conn, info: CronInfo, name: str, schedule: str, command: str) -> int:
    """Create or update a job that runs in the CRM database (conn: pg_cron's database)."""
    if info.cron_database == info.crm_database:
        # The CRM lives beside pg_cron (Supabase): plain cron.schedule, which pg_cron grants to
        # everyone; schedule_in_database is the superuser's alone there.
        return conn.execute("select cron.schedule(%s, %s, %s)",
                            (name, schedule, command)).fetchone()[0]
    return conn.execute("select cron.schedule_in_database(%s, %s, %s, %s)",
                        (name, schedule, command, info.crm_database)).fetchone()[0]


def schedule_monitor(url: str) -> tuple[CronInfo, int | None]:
    """Create or update the monitor job; returns the probe and the job id (None without pg_cron)."""
    info = probe(url)
    if not info.available:
        return info, None
    schedule, command = info.plan
    with connect(with_database(url, info.cron_database)) as conn:
        try:
            jobid = _schedule_in_crm(conn, info, job_name(info.crm_database), schedule, command)
        except psycopg.errors.InsufficientPrivilege as exc:
            info.available = False
            info.reason = (f"{info.user} may not schedule pg_cron jobs in database "
                           f"{info.crm_database} ({exc.diag.message_primary}; a superuser can "
                           f"grant execute on function cron.schedule_in_database to {info.user})")
            return info, None
    return info, jobid


def schedule_purge(url: str, keep_days: int = DEFAULT_KEEP_DAYS) -> int | None:
    """Create or update the daily purges: this database's old pg_cron run rows (a job in pg_cron's
    database), and its old, finished outbox rows (a job in the CRM database, where they live).
    Returns the first job's id."""
    if keep_days < 1:
        from harness.errors import HarnessError

        raise HarnessError("--keep-run-days must be at least 1")
    info = probe(url)
    if not info.available:
        return None
    with connect(with_database(url, info.cron_database)) as conn:
        _schedule_in_crm(conn, info, outbox_purge_job_name(info.crm_database), PURGE_SCHEDULE,
                         OUTBOX_PURGE_COMMAND)
        return conn.execute(
            "select cron.schedule(%s, %s, %s)",
            (purge_job_name(info.crm_database), PURGE_SCHEDULE,
             purge_command(info.crm_database, keep_days)),
        ).fetchone()[0]


def unschedule_monitor(url: str) -> bool:
    """Remove this database's monitor and purge jobs; True when there was a monitor job."""
    info = probe(url)
    if not info.available:
        return False
    with connect(with_database(url, info.cron_database)) as conn:
        rows = conn.execute(
            "select jobname, cron.unschedule(jobid) from cron.job "
            "where jobname in (%s, %s, %s) and username = %s",
            (job_name(info.crm_database), purge_job_name(info.crm_database),
             outbox_purge_job_name(info.crm_database), info.user),
        ).fetchall()
    return any(name == job_name(info.crm_database) for name, _ in rows)
