-- One index for "what is due": crm_leads_sla_due_idx on crm_sla_due_at() of each lead's timer
-- columns, which the monitor's idle test, candidates and counts and crm_sla_next_due read. It
-- replaces the claim and contact timers' partial indexes (idx_crm_leads_sla_warn_due stays: the
-- warnings' own work list, ordered by warning instant). Sorts after the function migration that
-- creates crm_sla_due_at. No table rewrite; CREATE INDEX holds a SHARE lock on crm_leads while
-- it builds (writes wait, reads go on): 0.6 s at 1,000,000 leads of which 1% open, 2.3 s when all
-- are open (see CHANGELOG); plain CREATE INDEX, as migrations run in a transaction.
-- depends: 0037_readable_core

create index if not exists crm_leads_sla_due_idx
on public.crm_leads (public.crm_sla_due_at(
    lead_claimed, first_action_completed, sla_escalated_at, claim_timer_expires_at,
    contact_timer_expires_at, sla_warn_at, sla_warned_at
))
where public.crm_sla_due_at(
    lead_claimed, first_action_completed, sla_escalated_at, claim_timer_expires_at,
    contact_timer_expires_at, sla_warn_at, sla_warned_at
) is not null;

comment on index public.crm_leads_sla_due_idx is
'What is due and when (crm_sla_due_at): the monitor''s idle test, candidates, counts and next wake';

drop index if exists public.idx_crm_leads_claim_timer_expires;

drop index if exists public.idx_crm_leads_contact_timer_expires;
