-- Undo 0040: the auto-pause setting and the miss counts go.
drop table if exists public.crm_sla_agent_misses;

alter table public.crm_sla_settings drop column if exists auto_pause_after;
