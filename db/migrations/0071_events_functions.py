"""Events (issue 15): the function that writes every event to the outbox (crm_sla_emit), the
webhook checks and the outbox purge; and, reloaded from db/functions, the places events happen:
intake (assigned), claims and first actions (claimed, contacted), reassignments (reassigned,
escalated, assigned) and the monitor (assigned out of the overflow queue, no_eligible_agent).
The minute loop (run_sla_monitor) now sleeps until the next timer falls due (crm_sla_next_due).

Temporary loader in the old style until `make migration` (issue 12) lands: its rollback drops the
new objects and leaves the reloaded ones as they are (as 0010 does).
"""

from yoyo import step

from harness.sqlfiles import BOARD_OBJECTS, EVENTS_OBJECTS, drop, engine_objects, load

__depends__ = {"0070_events_tables"}

RELOADED = engine_objects("crm_sla_apply_reassignments.sql", "process_sla_timers.sql",
                          "run_sla_monitor.sql")


def apply(conn) -> None:
    cursor = conn.cursor()
    load(cursor, EVENTS_OBJECTS)
    load(cursor, RELOADED)
    load(cursor, BOARD_OBJECTS)


steps = [step(apply, lambda conn: drop(conn.cursor(), EVENTS_OBJECTS))]
