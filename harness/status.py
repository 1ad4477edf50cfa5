"""`crm-sla status`: is the engine installed, scheduled and keeping up? Plain text or --json."""

from __future__ import annotations

import json
from datetime import datetime

from psycopg.rows import dict_row

from harness import migrate, schedule
from harness.target import connect, with_database

RECENT_RUNS = 5


def _lead_figures(conn) -> dict:
    stages = conn.execute(
        "select stage, count(*) as leads, count(*) filter (where seconds_left < 0) as overdue "
        "from public.crm_lead_sla_timers where stage <> 'done' group by stage order by stage"
    ).fetchall()
    window = conn.execute(
        """
        select
            count(*) filter (where a.created_at >= c.now - interval '1 hour'
                             and a.reason <> 'manual') as breaches_hour,
            count(*) filter (where a.reason <> 'manual') as breaches_day,
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
    }


def _cron_figures(url: str) -> dict:
    info = schedule.probe(url)
    if not info.available:
        return {"available": False, "reason": info.reason}
    out: dict = {"available": True, "version": info.version, "database": info.cron_database}
    with connect(with_database(url, info.cron_database), row_factory=dict_row) as conn:
        for key, name in (("monitor", schedule.job_name(info.crm_database)),
                          ("purge", schedule.purge_job_name(info.crm_database))):
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


def collect(url: str) -> dict:
    applied, pending = migrate.status(url)
    report: dict = {"migrations": {"applied": applied, "pending": pending}}
    with connect(url, row_factory=dict_row) as conn:
        installed = conn.execute(
            "select to_regclass('public.crm_lead_sla_timers') is not null as ok").fetchone()["ok"]
        report["leads"] = _lead_figures(conn) if installed else None
    report["pg_cron"] = _cron_figures(url)
    return report


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else "-"


def render(report: dict) -> str:
    mig = report["migrations"]
    lines = [f"migrations   {len(mig['applied'])} applied, {len(mig['pending'])} pending"
             + (f" ({', '.join(mig['pending'])}: run make migrate)" if mig["pending"] else "")]
    cron = report["pg_cron"]
    if not cron["available"]:
        lines.append(f"pg_cron      not available: {cron['reason']}")
        lines.append("             run the monitor with: crm-sla monitor --interval 5")
    else:
        for key in ("monitor", "purge"):
            job = cron[key]
            if job is None:
                lines.append(f"{key:<12} no pg_cron job: run make migrate")
                continue
            state = "active" if job["active"] else "INACTIVE"
            lines.append(f"{key:<12} {job['name']} (job {job['jobid']}, {state}) "
                         f"'{job['schedule']}': {job['command']}")
            lines.append(f"             failures in the last day: {job['failures_last_day']}")
            for run in job["recent_runs"]:
                message = (run["return_message"] or "").strip().replace("\n", " ")[:70]
                lines.append(f"             {_when(run['start_time'])}  {run['status']:<9} "
                             f"{message}")
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
    lines.append(f"breaches     {leads['breaches_last_hour']} in the last hour, "
                 f"{leads['breaches_last_day']} in the last day")
    lines.append(f"reassigned   {leads['reassignments_last_hour']} in the last hour, "
                 f"{leads['reassignments_last_day']} in the last day")
    lines.append(f"waiting      {leads['waiting_past_due']} past due (for the next monitor pass, "
                 "or for an eligible agent)")
    lines.append(f"escalated    {leads['escalated']} with an admin")
    queue = leads["overflow_queue"]
    lines.append(f"overflow     {queue['leads']} waiting for an owner (nobody eligible yet)"
                 + (f", oldest since {queue['oldest'][:19].replace('T', ' ')}"
                    if queue["oldest"] else ""))
    return "\n".join(lines)


def show(url: str, as_json: bool) -> int:
    report = collect(url)
    print(json.dumps(report, default=str, indent=2) if as_json else render(report))
    return 0
