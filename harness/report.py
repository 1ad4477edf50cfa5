"""`crm-sla report`: the managers' numbers for a period, per team and per agent, as text, JSON or
CSV (for a weekly email or a spreadsheet). The board's /stats page reads the same `figures()`.

Every number comes from the database's own statistics functions (crm_agent_sla_stats,
crm_sla_team_stats, crm_sla_stats_by_hour, crm_sla_stats_timeline, and for the workflow of
version 3 crm_sla_workflow_stats and crm_sla_step_stats), which decide who sees what: an agent's
connection gets only its own numbers.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta

import psycopg

from harness.errors import HarnessError
from harness.table import render

AGENT_COLUMNS = (
    ("full_name", "agent"),
    ("leads_received", "received"),
    ("claimed_in_window", "claimed ok"),
    ("claimed_late", "claimed late"),
    ("contacted_in_window", "contacted ok"),
    ("contacted_late", "contacted late"),
    ("missed_claim", "missed claim"),
    ("missed_contact", "missed contact"),
    ("breach_rate", "breach rate"),
    ("median_seconds_to_claim", "median claim s"),
    ("median_seconds_to_contact", "median contact s"),
)
TEAM_COLUMNS = (
    ("team_name", "team"),
    ("agents", "agents"),
    ("leads_received", "received"),
    ("claimed_in_window", "claimed ok"),
    ("contacted_in_window", "contacted ok"),
    ("breach_rate", "breach rate"),
    ("median_seconds_to_claim", "median claim s"),
    ("median_seconds_to_contact", "median contact s"),
)
WORKFLOW_COLUMNS = (
    ("full_name", "agent"),
    ("declined", "declined"),
    ("handed_over", "handed over (absent)"),
    ("breaches_reassigned", "breaches reassigned"),
    ("breaches_to_manager", "breaches to manager"),
    ("breaches_flagged", "breaches flagged"),
    ("pauses", "pauses"),
    ("snoozes", "snoozes"),
    ("paused_seconds", "paused s"),
)
STEP_COLUMNS = (
    ("policy_name", "policy"),
    ("stage", "stage"),
    ("step", "step"),
    ("notify", "notify"),
    ("sent", "sent"),
    ("to_nobody", "no manager to tell"),
)
PERIODS = {"24h": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30)}
_RELATIVE = re.compile(r"^(\d+)([hd])$")


def parse_moment(text: str | None, what: str) -> datetime | timedelta | None:
    """An ISO date or timestamp, or a length back from the end of the period (`7d`, `12h`)."""
    if text is None:
        return None
    if m := _RELATIVE.match(text.strip()):
        amount = int(m.group(1))
        return timedelta(days=amount) if m.group(2) == "d" else timedelta(hours=amount)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise HarnessError(
            f"{what} {text!r}: give an ISO date or time (2026-11-23, 2026-11-23T09:00+01:00) or "
            "a length back from --to (7d, 12h)"
        ) from None
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment


def period(conn: psycopg.Connection, start: str | None, end: str | None
           ) -> tuple[datetime, datetime]:
    """[from, to) on the SLA clock: by default the last 24 hours up to sla_now()."""
    to = parse_moment(end, "--to")
    if isinstance(to, timedelta):
        raise HarnessError("--to takes a date or time, not a length")
    if to is None:
        to = conn.execute("select public.sla_now()").fetchone()[0]
    back = parse_moment(start, "--from")
    frm = to - (back or timedelta(days=1)) if back is None or isinstance(back, timedelta) else back
    if frm >= to:
        raise HarnessError(f"the period is empty: --from {frm.isoformat()} is not before --to "
                           f"{to.isoformat()}")
    return frm, to


QUERIES = {
    "agents": "select * from public.crm_agent_sla_stats(%(from)s, %(to)s)",
    "teams": "select * from public.crm_sla_team_stats(%(from)s, %(to)s)",
    "claims_by_hour": "select * from public.crm_sla_stats_by_hour(%(from)s, %(to)s, %(tz)s)",
    "timeline": "select * from public.crm_sla_stats_timeline(%(from)s, %(to)s, %(buckets)s)",
    "workflow": "select * from public.crm_sla_workflow_stats(%(from)s, %(to)s)",
    "steps": "select * from public.crm_sla_step_stats(%(from)s, %(to)s)",
}


def _params(frm: datetime, to: datetime, time_zone: str, buckets: int) -> dict:
    return {"from": frm, "to": to, "tz": time_zone, "buckets": buckets}


def _assemble(frm: datetime, to: datetime, time_zone: str, results: dict) -> dict:
    return {"from": frm.isoformat(), "to": to.isoformat(), "time_zone": time_zone,
            **{name: [_plain(r) for r in rows] for name, rows in results.items()}}


def figures(conn: psycopg.Connection, frm: datetime, to: datetime, time_zone: str = "UTC",
            buckets: int = 24) -> dict:
    """Every number of the report and the /stats charts, read with the connection's identity."""
    params = _params(frm, to, time_zone, buckets)
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        results = {name: cur.execute(sql, params).fetchall() for name, sql in QUERIES.items()}
    return _assemble(frm, to, time_zone, results)


async def figures_async(conn: psycopg.AsyncConnection, frm: datetime, to: datetime,
                        time_zone: str = "UTC", buckets: int = 24) -> dict:
    """The same, on an async connection (the board's /stats page)."""
    params = _params(frm, to, time_zone, buckets)
    results = {}
    async with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        for name, sql in QUERIES.items():
            await cur.execute(sql, params)
            results[name] = await cur.fetchall()
    return _assemble(frm, to, time_zone, results)


def _plain(row: dict) -> dict:
    out = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif hasattr(value, "as_integer_ratio") and not isinstance(value, int | float):
            value = float(value)  # Decimal
        elif value is not None and not isinstance(value, int | float | str | bool):
            value = str(value)  # UUID
        out[key] = value
    return out


def totals(data: dict) -> dict:
    """The period's workflow in a few numbers: breaches by how they were handled, steps sent,
    declines, absence hand-overs, pauses and snoozes (of the agents the caller sees)."""
    flow = data["workflow"]
    return {"reassigned": sum(r["breaches_reassigned"] for r in flow),
            "to_manager": sum(r["breaches_to_manager"] for r in flow),
            "flagged": sum(r["breaches_flagged"] for r in flow),
            "steps": sum(r["sent"] for r in data["steps"]),
            "declined": sum(r["declined"] for r in flow),
            "handed_over": sum(r["handed_over"] for r in flow),
            "pauses": sum(r["pauses"] for r in flow),
            "snoozes": sum(r["snoozes"] for r in flow)}


def _table(columns, rows: list[dict]) -> str:
    return render([h for _k, h in columns], [[r[k] for k, _h in columns] for r in rows])


def as_text(data: dict) -> str:
    parts = [f"SLA report from {data['from']} to {data['to']}", ""]
    if data["teams"]:
        parts += ["per team", _table(TEAM_COLUMNS, data["teams"]), ""]
    parts += ["per agent", _table(AGENT_COLUMNS, data["agents"]), "",
              "workflow per agent", _table(WORKFLOW_COLUMNS, data["workflow"])]
    if data["steps"]:
        parts += ["", "ladder steps sent", _table(STEP_COLUMNS, data["steps"])]
    windows = sum(r["claim_windows"] for r in data["claims_by_hour"])
    in_time = sum(r["claimed_in_window"] for r in data["claims_by_hour"])
    breaches = sum(r["breaches"] for r in data["timeline"])
    moves = sum(r["reassignments"] for r in data["timeline"])
    share = f"{in_time / windows:.0%}" if windows else "-"
    t = totals(data)
    parts += ["", f"claimed in time: {in_time} of {windows} claim windows ({share}); "
              f"breaches: {breaches}; reassignments: {moves}",
              f"breaches handled: {t['reassigned']} reassigned, {t['to_manager']} to a manager, "
              f"{t['flagged']} flagged; steps sent: {t['steps']}; declines: {t['declined']}; "
              f"absence hand-overs: {t['handed_over']}; pauses: {t['pauses']}; "
              f"snoozes: {t['snoozes']}"]
    return "\n".join(parts) + "\n"


# A text cell a spreadsheet would run as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A text cell that starts like a formula gets a leading single quote, which spreadsheets
    show as text; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def as_csv(data: dict) -> str:
    """One row per team and per agent, with a `scope` column: what a spreadsheet wants (an
    agent's row has its workflow numbers too; the ladder's steps are in the JSON). Names (written
    by admins, or by agents for their own row) never run as formulas."""
    out = io.StringIO()
    writer = csv.writer(out)
    keys = [k for k, _h in AGENT_COLUMNS + WORKFLOW_COLUMNS if k != "full_name"]
    writer.writerow(["scope", "name", *keys, "from", "to"])
    flow = {r["agent_id"]: r for r in data["workflow"]}
    agents = [{**row, **flow.get(row["agent_id"], {})} for row in data["agents"]]
    for scope, name_key, rows in (("team", "team_name", data["teams"]),
                                  ("agent", "full_name", agents)):
        for row in rows:
            writer.writerow([csv_cell(v) for v in (
                scope, row[name_key], *[row.get(k, "") for k in keys], data["from"],
                data["to"])])
    return out.getvalue()


def report(conn: psycopg.Connection, start: str | None, end: str | None, fmt: str) -> str:
    frm, to = period(conn, start, end)
    data = figures(conn, frm, to)
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    if fmt == "csv":
        return as_csv(data)
    return as_text(data)
