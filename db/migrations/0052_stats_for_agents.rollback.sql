-- Undo: the view's comment as it was.
comment on view public.crm_agent_sla_stats is
'Per-agent SLA statistics over the last 24 hours (admins and the service role)';
