"""crm-sla: the harness that deploys, schedules, operates and tests the lead SLA engine."""
