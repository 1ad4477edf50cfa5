-- Undo the monitor pause row.
drop table if exists public.crm_sla_monitor_pause;
