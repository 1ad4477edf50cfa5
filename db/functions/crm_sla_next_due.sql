-- The earliest SLA-clock instant after p_after at which the monitor has work on a lead
-- (crm_sla_due_at: a running timer breaches, or a warning falls due), or NULL when none is
-- pending: one read of the first entry of crm_leads_sla_due_idx, whatever the table size.
-- Called by run_sla_monitor() (pg_cron, or the service role) to sleep until then.
create or replace function public.crm_sla_next_due(p_after timestamptz)
returns timestamptz
language sql
stable
security definer
set search_path = ''
as $$
    select min(public.crm_sla_due_at(
        l.lead_claimed, l.first_action_completed, l.sla_escalated_at,
        l.claim_timer_expires_at, l.contact_timer_expires_at, l.sla_warn_at, l.sla_warned_at
    ))
    from public.crm_leads as l
    where public.crm_sla_due_at(
        l.lead_claimed, l.first_action_completed, l.sla_escalated_at,
        l.claim_timer_expires_at, l.contact_timer_expires_at, l.sla_warn_at, l.sla_warned_at
    ) > p_after
$$;

comment on function public.crm_sla_next_due(timestamptz) is
'Internal: the next instant (SLA clock) after p_after at which a running timer falls due or warns';

revoke execute on function public.crm_sla_next_due(timestamptz)
from public, anon, authenticated;
grant execute on function public.crm_sla_next_due(timestamptz) to service_role;
