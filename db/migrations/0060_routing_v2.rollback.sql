-- Undoes 0060_routing_v2.
drop index if exists public.crm_leads_waiting_idx;

alter table public.crm_leads drop column if exists sla_waiting_since;

drop index if exists public.crm_leads_open_by_agent_idx;

alter table public.crm_sla_agent_state drop column if exists routing_credit;
