"""What the engine's SQL promises its Python callers, stated once for the harness and the tests."""

import uuid

# The actor the monitor records in crm_lead_reassignments.reassigned_by (process_sla_timers,
# reassign_lead without a caller); the SQL in db/functions writes the same literal.
SYSTEM_ACTOR = uuid.UUID("00000000-0000-0000-0000-000000000000")
