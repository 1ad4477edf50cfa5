-- Undo the engine's tables.
drop index if exists public.crm_leads_unowned_idx;

alter table public.crm_leads drop column if exists sla_escalated_at;

drop table if exists public.crm_sla_agent_state;

drop table if exists public.crm_sla_clock;
