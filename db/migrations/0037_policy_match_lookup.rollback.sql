-- Undo 0037: the index goes (intake with many policies then reads them all; 0036's rollback
-- gives intake back its containment test over every match).
drop index if exists public.crm_sla_policies_match_lookup;
