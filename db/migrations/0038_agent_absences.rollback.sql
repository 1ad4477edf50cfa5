-- Undo 0038: the absences go (crm-sla rollback refuses while the table holds rows, unless --force).
drop table if exists public.crm_sla_agent_absences;
