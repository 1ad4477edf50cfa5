"""Board events: new leads (once per INSERT statement) and claims / first actions announce
themselves on the crm_sla channel, beside the engine's reassignment events. From db/functions."""

from yoyo import step

from harness.sqlfiles import BOARD_OBJECTS, drop, load

__depends__ = {"0008_agent_stats_view"}

steps = [step(lambda conn: load(conn.cursor(), BOARD_OBJECTS),
              lambda conn: drop(conn.cursor(), BOARD_OBJECTS))]
