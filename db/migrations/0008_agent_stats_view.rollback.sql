-- Undo the statistics view.
drop view if exists public.crm_agent_sla_stats;
