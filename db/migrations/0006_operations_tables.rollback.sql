-- Undo the operations tables and view.
drop view if exists public.crm_lead_sla_timers;

drop table if exists public.crm_lead_sla_events;
