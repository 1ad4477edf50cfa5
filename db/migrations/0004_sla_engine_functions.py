"""The SLA engine's functions and triggers, loaded from db/functions (one object a file).

The rollback drops them in reverse order.
"""

from yoyo import step

from harness.sqlfiles import ENGINE_OBJECTS, drop, load

__depends__ = {"0003_sla_engine_tables"}

steps = [step(lambda conn: load(conn.cursor(), ENGINE_OBJECTS),
              lambda conn: drop(conn.cursor(), ENGINE_OBJECTS))]
