"""crm_sla_policy_findings(): the CRM's own permissive policies on crm_leads and the audit table
that widen the engine's promise, with what each does and how to fix it. From db/functions.

Temporary loader in the old style, until main's `make migration` freezes function files."""

from yoyo import step

from harness.sqlfiles import POLICY_OBJECTS, drop, load

__depends__ = {"0041_agents_read_their_own_row"}

steps = [step(lambda conn: load(conn.cursor(), POLICY_OBJECTS),
              lambda conn: drop(conn.cursor(), POLICY_OBJECTS))]
