-- Undo 0045.
drop index if exists public.idx_crm_leads_sla_step_due;
