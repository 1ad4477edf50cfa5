"""What the engine's SQL promises its Python callers, stated once for the harness and the tests."""

import uuid

# The actor the monitor records in crm_lead_reassignments.reassigned_by (process_sla_timers,
# reassign_lead without a caller); the SQL in db/functions writes the same literal.
SYSTEM_ACTOR = uuid.UUID("00000000-0000-0000-0000-000000000000")

# A lead waits in the overflow queue when nobody could take it: no owner yet, or a window that ran
# out while nobody was eligible (the monitor marks it with sla_waiting_since). An SQL condition on
# crm_leads as `l`; the board and the demo both read it.
WAITING = "(l.assigned_agent_id is null or l.sla_waiting_since is not null)"
