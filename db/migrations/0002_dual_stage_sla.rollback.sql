-- Undo the seed migration: the audit table, its indexes and policies, the new lead columns.
drop table if exists public.crm_lead_reassignments;

drop index if exists public.idx_crm_leads_claim_timer_expires;

drop index if exists public.idx_crm_leads_contact_timer_expires;

alter table public.crm_leads
drop column if exists claim_timer_started_at,
drop column if exists claim_timer_expires_at,
drop column if exists claim_sla_breached,
drop column if exists contact_timer_started_at,
drop column if exists contact_timer_expires_at,
drop column if exists contact_sla_breached,
drop column if exists reassignment_count,
drop column if exists previous_agent_id,
drop column if exists reassignment_reason,
drop column if exists reassigned_at;
