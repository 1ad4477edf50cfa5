"""Routing version 2 (issue 14): the router and its helpers (db/functions, ROUTING_OBJECTS), the
intake, monitor and reassign_lead that now use it, and the round-robin pieces it replaces
(crm_leads_090_intake_route, crm_sla_routing_queue, crm_sla_mark_routed) dropped.

Temporary loader in the old style (until `make migration` freezes function bodies): the rollback
drops the new functions but cannot give the reloaded ones their previous bodies.
"""

from yoyo import step

from harness.sqlfiles import ROUTING_OBJECTS, drop, engine_objects, load

__depends__ = {"0060_routing_v2"}

RELOADED = engine_objects(
    "crm_sla_apply_reassignments.sql",
    "trg_crm_leads_100_intake.sql",
    "trg_crm_leads_200_progress.sql",
    "trg_crm_leads_900_intake_done.sql",
    "reassign_lead.sql",
    "process_sla_timers.sql",
)
REPLACED = engine_objects(
    "crm_sla_routing_queue.sql",
    "crm_sla_mark_routed.sql",
    "trg_crm_leads_090_intake_route.sql",
)


def up(conn) -> None:
    cursor = conn.cursor()
    load(cursor, ROUTING_OBJECTS)
    load(cursor, RELOADED)
    drop(cursor, REPLACED)


def down(conn) -> None:
    cursor = conn.cursor()
    load(cursor, REPLACED)
    drop(cursor, ROUTING_OBJECTS)


steps = [step(up, down)]
