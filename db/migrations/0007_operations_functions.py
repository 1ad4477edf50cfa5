"""Operations: the SLA event trigger and the per-agent statistics, from db/functions."""

from yoyo import step

from harness.sqlfiles import OPERATIONS_OBJECTS, drop, load

__depends__ = {"0006_operations_tables"}

steps = [step(lambda conn: load(conn.cursor(), OPERATIONS_OBJECTS),
              lambda conn: drop(conn.cursor(), OPERATIONS_OBJECTS))]
