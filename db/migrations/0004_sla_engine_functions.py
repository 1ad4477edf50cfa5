"""The SLA engine's functions and triggers, loaded from db/functions (one object a file).

The rollback drops them in reverse order.
"""

from yoyo import step

from harness.sqlfiles import ENGINE_OBJECTS, drop_statement, read_function_file

__depends__ = {"0003_sla_engine_tables"}


def apply_step(conn):
    cursor = conn.cursor()
    for obj in ENGINE_OBJECTS:
        cursor.execute(read_function_file(obj.file))


def rollback_step(conn):
    cursor = conn.cursor()
    for obj in reversed(ENGINE_OBJECTS):
        cursor.execute(drop_statement(obj))


steps = [step(apply_step, rollback_step)]
