-- Undo 0062: intake's plan is no longer a type (the functions that used it are dropped first, by
-- the rollback of the function migration that came after).
drop type if exists public.crm_sla_intake_plan;
