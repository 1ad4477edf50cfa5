-- Undoes 0038_one_due_index: the claim and contact timers' partial indexes again.
create index if not exists idx_crm_leads_claim_timer_expires
on public.crm_leads (claim_timer_expires_at)
where claim_timer_expires_at is not null and lead_claimed = false;

create index if not exists idx_crm_leads_contact_timer_expires
on public.crm_leads (contact_timer_expires_at)
where contact_timer_expires_at is not null and first_action_completed = false;

drop index if exists public.crm_leads_sla_due_idx;
