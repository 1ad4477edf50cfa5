-- Undoes 0036_intake_plan_types.
drop type if exists public.crm_sla_intake_plan;

drop type if exists public.crm_sla_timer_start;
