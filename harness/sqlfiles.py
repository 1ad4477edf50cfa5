"""The engine's SQL objects under db/functions, in the order they are created.

Migrations load these files (CREATE OR REPLACE), so a function's history is its file's history.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.paths import FUNCTIONS_DIR


@dataclass(frozen=True)
class SqlObject:
    file: str
    kind: str  # function, procedure, or trigger (a trigger file holds its function too)
    signature: str  # what DROP needs
    table: str = ""  # for triggers


ENGINE_OBJECTS: tuple[SqlObject, ...] = (
    SqlObject("sla_now.sql", "function", "public.sla_now()"),
    SqlObject("sla_clock_travel.sql", "function", "public.sla_clock_travel(interval)"),
    SqlObject("sla_clock_reset.sql", "function", "public.sla_clock_reset()"),
    SqlObject("crm_sla_caller.sql", "function", "public.crm_sla_caller()"),
    SqlObject("crm_sla_routing_queue.sql", "function", "public.crm_sla_routing_queue(text)"),
    SqlObject("crm_sla_mark_routed.sql", "function", "public.crm_sla_mark_routed(uuid[])"),
    SqlObject("crm_sla_intake_clock.sql", "function", "public.crm_sla_intake_clock()"),
    SqlObject(
        "crm_sla_apply_reassignments.sql",
        "function",
        "public.crm_sla_apply_reassignments(uuid[], uuid[], text[], boolean[], uuid, text, "
        "timestamptz)",
    ),
    SqlObject(
        "crm_sla_explain_refusal.sql", "function",
        "public.crm_sla_explain_refusal(text, uuid, uuid, text)",
    ),
    SqlObject("crm_sla_progress_lead.sql", "function", "public.crm_sla_progress_lead(uuid, text)"),
    SqlObject("trg_crm_leads_050_intake_clock.sql", "trigger", "public.crm_leads_intake_clock()",
              "crm_leads_050_intake_clock on public.crm_leads"),
    SqlObject("trg_crm_leads_090_intake_route.sql", "trigger", "public.crm_leads_intake_route()",
              "crm_leads_090_intake_route on public.crm_leads"),
    SqlObject("trg_crm_leads_100_intake.sql", "trigger", "public.crm_leads_intake()",
              "crm_leads_100_intake on public.crm_leads"),
    SqlObject("trg_crm_leads_900_intake_done.sql", "trigger", "public.crm_leads_intake_done()",
              "crm_leads_900_intake_done on public.crm_leads"),
    SqlObject("trg_crm_leads_200_progress.sql", "trigger", "public.crm_leads_progress()",
              "crm_leads_200_progress on public.crm_leads"),
    SqlObject(
        "trg_crm_lead_reassignments_append_only.sql", "trigger",
        "public.crm_lead_reassignments_append_only()",
        "crm_lead_reassignments_100_append_only on public.crm_lead_reassignments",
    ),
    SqlObject("claim_lead.sql", "function", "public.claim_lead(uuid)"),
    SqlObject("complete_first_action.sql", "function", "public.complete_first_action(uuid)"),
    SqlObject("reassign_lead.sql", "function", "public.reassign_lead(uuid, uuid, text)"),
    SqlObject("process_sla_timers.sql", "function", "public.process_sla_timers()"),
    SqlObject("run_sla_monitor.sql", "procedure", "public.run_sla_monitor(interval, interval)"),
)


OPERATIONS_OBJECTS: tuple[SqlObject, ...] = (
    SqlObject("trg_crm_leads_300_sla_events.sql", "trigger", "public.crm_leads_sla_events()",
              "crm_leads_300_sla_events on public.crm_leads"),
    SqlObject("crm_agent_sla_stats.sql", "function",
              "public.crm_agent_sla_stats(timestamptz, timestamptz)"),
)


def engine_objects(*files: str) -> tuple[SqlObject, ...]:
    """The ENGINE_OBJECTS in these files, in creation order: what a later migration reloads."""
    unknown = set(files) - {obj.file for obj in ENGINE_OBJECTS}
    if unknown:
        raise ValueError(f"not in ENGINE_OBJECTS: {', '.join(sorted(unknown))}")
    return tuple(obj for obj in ENGINE_OBJECTS if obj.file in files)


# Events for the lead board: new leads and claims announce themselves on the crm_sla channel too.
BOARD_OBJECTS: tuple[SqlObject, ...] = (
    SqlObject("trg_crm_leads_400_announce_intake.sql", "trigger",
              "public.crm_leads_announce_intake()",
              "crm_leads_400_announce_intake on public.crm_leads"),
    SqlObject("trg_crm_leads_410_announce_progress.sql", "trigger",
              "public.crm_leads_announce_progress()",
              "crm_leads_410_announce_progress on public.crm_leads"),
)


# Routing version 2 (issue 14): one router behind intake, the monitor and reassign_lead.
ROUTING_OBJECTS: tuple[SqlObject, ...] = (
    SqlObject("crm_sla_calendar_is_open.sql", "function",
              "public.crm_sla_calendar_is_open(uuid, timestamptz)"),
    SqlObject("crm_sla_routing_pool.sql", "function", "public.crm_sla_routing_pool(timestamptz)"),
    SqlObject("crm_sla_route.sql", "function",
              "public.crm_sla_route(uuid[], timestamptz, boolean)"),
    SqlObject("crm_sla_route_waiting.sql", "function",
              "public.crm_sla_route_waiting(integer, timestamptz)"),
    SqlObject("crm_sla_explain_routing.sql", "function", "public.crm_sla_explain_routing(uuid)"),
)


def load(cursor, objects: tuple[SqlObject, ...]) -> None:
    """Create (or replace) the objects, in order."""
    for obj in objects:
        cursor.execute(read_function_file(obj.file))


def drop(cursor, objects: tuple[SqlObject, ...]) -> None:
    """Drop the objects, in reverse order."""
    for obj in reversed(objects):
        cursor.execute(drop_statement(obj))


def read_function_file(name: str) -> str:
    return (FUNCTIONS_DIR / name).read_text(encoding="utf-8")


def drop_statement(obj: SqlObject) -> str:
    if obj.kind == "trigger":
        return f"drop trigger if exists {obj.table}; drop function if exists {obj.signature};"
    return f"drop {obj.kind} if exists {obj.signature};"
