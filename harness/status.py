"""`crm-sla status`: is the engine installed, scheduled and keeping up? Plain text or --json."""

from __future__ import annotations

import json
from datetime import datetime

from psycopg.rows import dict_row

from harness import migrate, owner_keys, policies, schedule
from harness.errors import HarnessError
from harness.target import connect, with_database

RECENT_RUNS = 5
MIGRATION_LOCK_WAIT = 5.0  # seconds status waits for a running migrator before saying so
# A lead's stage and its running timer's deadline, as the view crm_lead_sla_timers has them
# (read off crm_leads here: the view also counts each timer's open time, which status needs not).
STAGE_SQL = ("case when l.first_action_completed then 'done' when l.sla_escalated_at is not null "
             "then 'escalated' when l.lead_claimed then 'contact' else 'claim' end")
EXPIRES_SQL = "public.crm_sla_breach_at(l)"  # what is due, stated once in the database
# A database not yet upgraded to crm_sla_breach_at (status still reports it, pending migrations
# and all): the rule as those releases wrote it.
EXPIRES_BEFORE_0059_SQL = ("case when l.first_action_completed or l.sla_escalated_at is not null "
                           "then null when l.lead_claimed then l.contact_timer_expires_at "
                           "else l.claim_timer_expires_at end")


def _expires_sql(conn) -> str:
    new = conn.execute("select to_regprocedure('public.crm_sla_breach_at(public.crm_leads)') "
                       "is not null as new").fetchone()["new"]
    return EXPIRES_SQL if new else EXPIRES_BEFORE_0059_SQL


def _policy_figures(conn, expires_sql: str) -> dict:
    """Open timers per SLA policy, and the calendars whose timers run on plain time (no open
    time in the next year), where the engine has policies (migration 0052 and later)."""
    if conn.execute("select to_regprocedure('public.crm_sla_timer_left(uuid, timestamptz, "
                    "timestamptz)') is null as old").fetchone()["old"]:
        return {}
    per_policy = conn.execute(
        "select coalesce(p.name, '(no policy)') as policy, count(*) as leads, "
        f"count(*) filter (where {expires_sql} < public.sla_now()) as overdue "
        "from public.crm_leads as l left join public.crm_sla_policies as p "
        "on l.sla_policy_id = p.id "
        "where not l.first_action_completed and l.sla_escalated_at is null "
        "group by p.name order by p.name nulls last").fetchall()
    plain = conn.execute(
        """
        select c.name as calendar, (
            select count(*) from public.crm_leads as l
            where l.sla_timer_calendar_id = c.id and l.sla_escalated_at is null
                and not l.first_action_completed
        ) as running_timers
        from public.crm_sla_calendars as c
        where public.sla_business_add(c.id, public.sla_now(), interval '1 microsecond')
            > public.sla_now() + interval '1 year'
            and (
                exists (select from public.crm_sla_policies as p where p.calendar_id = c.id)
                or exists (select from public.crm_sla_settings as s where s.calendar_id = c.id)
                or exists (select from public.crm_leads as l where l.sla_timer_calendar_id = c.id)
            )
        order by c.name
        """).fetchall()
    return {
        "open_timers_by_policy": {r["policy"]: {"leads": r["leads"], "overdue": r["overdue"]}
                                  for r in per_policy},
        "plain_time_calendars": plain,
    }


def _locked_overdue(conn, expires_sql: str) -> int:
    """Overdue leads another session holds a row lock on right now: the monitor skips them
    (skipped_locked) until it lets go. Probed with FOR SHARE SKIP LOCKED, which waits for nobody,
    in a transaction rolled back at once; at most 10,000 leads are looked at."""
    with conn.transaction(force_rollback=True):
        row = conn.execute(
            f"""
            with overdue as (
                select l.id from public.crm_leads as l
                where {expires_sql} < public.sla_now() and l.sla_waiting_since is null
                limit 10000
            ), free as (
                select l.id from public.crm_leads as l
                where l.id in (select o.id from overdue as o)
                for share skip locked
            )
            select (select count(*) from overdue) - (select count(*) from free) as held
            """).fetchone()
    return row["held"]


def _paused_figures(conn) -> dict:
    """Running timers stopped by their policy's pause_when (status) or by a snooze, where the
    engine can pause them (version 3 and later)."""
    if conn.execute("select to_regprocedure('public.crm_sla_snooze(uuid, timestamptz, text)') "
                    "is null as old").fetchone()["old"]:
        return {}
    row = conn.execute(
        "select count(*) filter (where sla_snoozed_until is null) as status, "
        "count(*) filter (where sla_snoozed_until is not null) as snoozed "
        "from public.crm_leads where sla_paused_at is not null").fetchone()
    return {"paused_timers": {"status": row["status"], "snoozed": row["snoozed"]}}


def _lead_figures(conn) -> dict:
    expires_sql = _expires_sql(conn)  # one look at the schema for the three queries below
    stages = conn.execute(
        "select stage, count(*) as leads, count(*) filter (where timer_expires_at < sla_now) "
        "as overdue from (select k.*, public.sla_now() as sla_now from (select "
        f"{STAGE_SQL} as stage, {expires_sql} as timer_expires_at "
        "from public.crm_leads as l) as k"
        ") as t where stage <> 'done' group by stage order by stage"
    ).fetchall()
    window = conn.execute(
        """
        select
            count(*) filter (where a.created_at >= c.now - interval '1 hour'
                             and a.reason in ('unclaimed', 'no_contact')) as breaches_hour,
            count(*) filter (where a.reason in ('unclaimed', 'no_contact')) as breaches_day,
            count(*) filter (where a.created_at >= c.now - interval '1 hour') as moves_hour,
            count(*) as moves_day
        from public.crm_lead_reassignments as a, (select public.sla_now() as now) as c
        where a.created_at >= c.now - interval '1 day'
        """
    ).fetchone()
    # The overflow queue: leads nobody could take when they arrived wait without an owner.
    queue = conn.execute(
        "select count(*) as leads, min(created_at) as oldest from public.crm_leads "
        "where assigned_agent_id is null").fetchone()
    return {
        "sla_now": conn.execute("select public.sla_now() as t").fetchone()["t"].isoformat(),
        "overflow_queue": {"leads": queue["leads"],
                           "oldest": queue["oldest"].isoformat() if queue["oldest"] else None},
        "open_timers": {r["stage"]: {"leads": r["leads"], "overdue": r["overdue"]}
                        for r in stages},
        "breaches_last_hour": window["breaches_hour"],
        "breaches_last_day": window["breaches_day"],
        "reassignments_last_hour": window["moves_hour"],
        "reassignments_last_day": window["moves_day"],
        "waiting_past_due": sum(r["overdue"] for r in stages if r["stage"] in ("claim", "contact")),
        "escalated": next((r["leads"] for r in stages if r["stage"] == "escalated"), 0),
        "locked_overdue": _locked_overdue(conn, expires_sql),
        "paused_agents": _paused_agents(conn),
        **_policy_figures(conn, expires_sql),
        **_paused_figures(conn),
    }


def _paused_agents(conn) -> list[dict]:
    """Active agents not accepting leads, and when auto-pause stopped them (NULL: by hand)."""
    if conn.execute("select to_regclass('public.crm_sla_agent_misses') is null as old"
                    ).fetchone()["old"]:
        return []
    rows = conn.execute(
        """
        select a.full_name, a.id, p.at as auto_paused_at
        from public.crm_agents as a
        left join (
            select o.agent_id, max(o.created_at) as at from public.crm_sla_outbox as o
            where o.event = 'agent_paused' group by o.agent_id
        ) as p on a.id = p.agent_id
        where a.role = 'agent' and a.is_active and not a.accepting_leads
        order by a.full_name, a.id
        """).fetchall()
    return [{"agent": r["full_name"], "id": str(r["id"]),
             "auto_paused_at": r["auto_paused_at"].isoformat() if r["auto_paused_at"] else None}
            for r in rows]


def _delivery_figures(conn) -> dict:
    row = conn.execute(
        """
        select
            (select count(*) from public.crm_sla_webhooks where is_active) as webhooks,
            (select count(*) from public.crm_sla_webhooks
             where not is_active and deactivated_reason is not null) as deactivated,
            count(*) filter (where d.status = 'pending') as pending,
            count(*) filter (where d.status = 'dead') as dead,
            extract(epoch from now() - min(o.created_at) filter (where d.status = 'pending'))
                as oldest_pending_seconds
        from public.crm_sla_webhook_deliveries as d
        inner join public.crm_sla_outbox as o on d.outbox_id = o.id
        """
    ).fetchone()
    age = row["oldest_pending_seconds"]
    return {**row, "oldest_pending_seconds": None if age is None else round(float(age), 1)}


def _cron_figures(url: str) -> dict:
    info = schedule.probe(url)
    if not info.available:
        return {"available": False, "reason": info.reason}
    out: dict = {"available": True, "version": info.version, "database": info.cron_database}
    with connect(with_database(url, info.cron_database), row_factory=dict_row) as conn:
        for key, name in (("monitor", schedule.job_name(info.crm_database)),
                          ("purge", schedule.purge_job_name(info.crm_database)),
                          ("outbox_purge", schedule.outbox_purge_job_name(info.crm_database))):
            job = conn.execute(
                "select jobid, schedule, command, active from cron.job "
                "where jobname = %s and username = %s", (name, info.user)).fetchone()
            if job is None:
                out[key] = None
                continue
            runs = conn.execute(
                "select status, start_time, end_time, return_message from cron.job_run_details "
                "where jobid = %s order by runid desc limit %s", (job["jobid"], RECENT_RUNS)
            ).fetchall()
            failures = conn.execute(
                "select count(*) as n, max(start_time) as last from cron.job_run_details "
                "where jobid = %s and status = 'failed' and start_time > now() - interval '1 day'",
                (job["jobid"],)).fetchone()
            out[key] = {
                "name": name, **job,
                "recent_runs": runs,
                "failures_last_day": failures["n"],
            }
    return out


def _pause(conn) -> dict | None:
    """Who paused the scheduled monitor (harness.monitor.paused), while that session lives."""
    if conn.execute("select to_regclass('public.crm_sla_monitor_pause') as t").fetchone()["t"] \
            is None:
        return None
    return conn.execute(
        "select p.paused_by as by, p.paused_by_pid as pid, p.paused_at as since "
        "from public.crm_sla_monitor_pause as p "
        "inner join pg_catalog.pg_stat_activity as a on p.paused_by_pid = a.pid "
        "where a.backend_start is null or a.backend_start = p.paused_by_backend_start"
    ).fetchone()


NOTIFY_QUEUE_WARN = 0.5  # share of pg_notify's queue (8 GB) in use above which status warns


def _notification_queue(conn) -> dict:
    """How full pg_notify's queue is: a session that LISTENs and then never reads (in a
    transaction it keeps open) holds every later notification there, and once it is full every
    transaction that emits an SLA event fails at commit."""
    usage = float(conn.execute("select pg_catalog.pg_notification_queue_usage() as u"
                               ).fetchone()["u"])
    return {"usage": usage, "warning": usage > NOTIFY_QUEUE_WARN}


def _share(fraction: float) -> str:
    return "< 0.01 %" if 0 < fraction < 0.0001 else f"{fraction * 100:.2f} %"


def collect(url: str) -> dict:
    try:
        applied, pending = migrate.status(url, lock_timeout=MIGRATION_LOCK_WAIT)
        report: dict = {"migrations": {"applied": applied, "pending": pending}}
    except HarnessError as exc:  # a migration is running: say so, and report the rest
        report = {"migrations": {"unknown": str(exc)}}
    with connect(url, row_factory=dict_row) as conn:
        installed = conn.execute(
            "select to_regclass('public.crm_lead_sla_timers') is not null as ok").fetchone()["ok"]
        report["leads"] = _lead_figures(conn) if installed else None
        report["monitor_paused"] = _pause(conn)
        report["notification_queue"] = _notification_queue(conn)
        has_webhooks = conn.execute(
            "select to_regclass('public.crm_sla_webhook_deliveries') is not null as ok"
        ).fetchone()["ok"]
        report["deliveries"] = _delivery_figures(conn) if has_webhooks else None
    report["pg_cron"] = _cron_figures(url)
    report["policies"] = policies.findings(url)
    report["owner_keys"] = owner_keys.advice(url)
    return report


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else "-"


def render(report: dict) -> str:
    mig = report["migrations"]
    if "unknown" in mig:
        lines = [f"migrations   unknown: {mig['unknown']}"]
    else:
        lines = [f"migrations   {len(mig['applied'])} applied, {len(mig['pending'])} pending"
                 + (f" ({', '.join(mig['pending'])}: run make migrate)" if mig["pending"] else "")]
    cron = report["pg_cron"]
    if not cron["available"]:
        lines.append(f"pg_cron      not available: {cron['reason']}")
        lines.append("             run the monitor with: crm-sla monitor --interval 5")
    else:
        for key in ("monitor", "purge", "outbox_purge"):
            job = cron[key]
            if job is None:
                lines.append(f"{key.replace('_', ' '):<12} no pg_cron job: run make migrate")
                continue
            state = "active" if job["active"] else "INACTIVE"
            lines.append(f"{key.replace('_', ' '):<12} {job['name']} (job {job['jobid']}, {state}) "
                         f"'{job['schedule']}': {job['command']}")
            lines.append(f"             failures in the last day: {job['failures_last_day']}")
            for run in job["recent_runs"]:
                message = (run["return_message"] or "").strip().replace("\n", " ")[:70]
                lines.append(f"             {_when(run['start_time'])}  {run['status']:<9} "
                             f"{message}")
    pause = report.get("monitor_paused")
    if pause:
        lines.append(f"paused       the monitor, by {pause['by']} (backend {pause['pid']}) since "
                     f"{_when(pause['since'])}: it steps aside until that session ends")
    queue = report.get("notification_queue")
    if queue is not None:
        lines.append(f"notify queue {_share(queue['usage'])} of pg_notify's queue in use" + (
            f": WARNING above {NOTIFY_QUEUE_WARN:.0%}: a session LISTENs without reading (look "
            "for 'idle in transaction' in pg_stat_activity and end it); when the queue is full, "
            "every transaction that emits an SLA event fails" if queue["warning"] else ""))
    found = report["policies"]
    if found == []:
        lines.append("policies     none of yours widen the engine's on crm_leads or "
                     "crm_lead_reassignments")
    for finding in found or []:
        lines.append(f"policies     WARNING {policies.describe(finding)}")
    for item in report.get("owner_keys") or []:
        lines.append(f"owner keys   WARNING {owner_keys.describe(item)}")
    leads = report["leads"]
    if leads is None:
        lines.append("leads        the engine is not installed here: run make migrate")
        return "\n".join(lines)
    lines.append(f"sla clock    {leads['sla_now']}")
    lines.append("open timers  stage       leads  overdue")
    for stage in ("claim", "contact", "escalated"):
        fig = leads["open_timers"].get(stage, {"leads": 0, "overdue": 0})
        overdue = fig["overdue"] if stage != "escalated" else "-"
        lines.append(f"             {stage:<10} {fig['leads']:>6}  {overdue:>7}")
    by_policy = leads.get("open_timers_by_policy")
    if by_policy:
        width = max(len(name) for name in by_policy)
        lines.append(f"per policy   {'policy':<{width}}  leads  overdue")
        for name, fig in by_policy.items():
            lines.append(f"             {name:<{width}}  {fig['leads']:>5}  {fig['overdue']:>7}")
    for cal in leads.get("plain_time_calendars", []):
        lines.append(f"calendar     {cal['calendar']!r} has no open time in the next year: its "
                     f"{cal['running_timers']} running timer(s) count plain time")
    lines.append(f"breaches     {leads['breaches_last_hour']} in the last hour, "
                 f"{leads['breaches_last_day']} in the last day")
    lines.append(f"reassigned   {leads['reassignments_last_hour']} in the last hour, "
                 f"{leads['reassignments_last_day']} in the last day")
    lines.append(f"waiting      {leads['waiting_past_due']} past due (for the next monitor pass, "
                 "or for an eligible agent)")
    if leads["locked_overdue"]:
        lines.append(f"locked       {leads['locked_overdue']} overdue lead(s) held by another "
                     "session's row lock: the monitor skips them (skipped_locked) until released")
    paused = leads.get("paused_timers")
    if paused is not None:
        lines.append(f"clock stop   {paused['status'] + paused['snoozed']} timer(s): "
                     f"{paused['status']} by status, {paused['snoozed']} snoozed")
    lines.append(f"escalated    {leads['escalated']} with an admin")
    queue = leads["overflow_queue"]
    lines.append(f"overflow     {queue['leads']} waiting for an owner (nobody eligible yet)"
                 + (f", oldest since {queue['oldest'][:19].replace('T', ' ')}"
                    if queue["oldest"] else ""))
    paused = [p["agent"] + (f" (auto-paused {p['auto_paused_at'][:19].replace('T', ' ')})"
                            if p["auto_paused_at"] else "")
              for p in leads.get("paused_agents") or []]
    lines.append(f"away         {len(paused)} agent(s) not accepting leads"
                 + (": " + ", ".join(paused) if paused else ""))
    deliveries = report.get("deliveries")
    if deliveries is not None:
        age = deliveries["oldest_pending_seconds"]
        lines.append(f"webhooks     {deliveries['webhooks']} active"
                     + (f", {deliveries['deactivated']} deactivated by their endpoint (410 Gone;"
                        " see crm-sla webhooks list)" if deliveries["deactivated"] else "")
                     + "; deliveries: "
                     f"{deliveries['pending']} pending"
                     + (f" (oldest {age:g} s)" if age is not None else "")
                     + f", {deliveries['dead']} dead"
                     )
    return "\n".join(lines)


def show(url: str, as_json: bool) -> int:
    report = collect(url)
    print(json.dumps(report, default=str, indent=2) if as_json else render(report))
    return 0
