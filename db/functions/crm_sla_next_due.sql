-- The earliest SLA-clock instant after p_after at which the monitor has work: a running timer's
-- breach (crm_sla_breach_at), a warning instant not yet warned, a ladder step, or the end of a
-- snooze; NULL when none is pending. Four reads of the first entry of partial indexes, whatever
-- the table size. Called by run_sla_monitor() (pg_cron, or the service role) to sleep until then.
create or replace function public.crm_sla_next_due(p_after timestamptz)
returns timestamptz
language sql
stable
security definer
set search_path = ''
as $$
    select least(
        (
            select min(public.crm_sla_breach_at(l)) from public.crm_leads as l
            where public.crm_sla_breach_at(l) > p_after
        ),
        (
            select min(l.sla_warn_at) from public.crm_leads as l
            where l.sla_warn_at > p_after
                and l.sla_warn_at is not null and l.sla_warned_at is null
        ),
        (
            select min(l.sla_step_at) from public.crm_leads as l
            where l.sla_step_at > p_after and l.sla_step_at is not null
        ),
        (
            select min(l.sla_snoozed_until) from public.crm_leads as l
            where l.sla_snoozed_until > p_after and l.sla_snoozed_until is not null
        )
    )
$$;

comment on function public.crm_sla_next_due(timestamptz) is
'Internal: the next instant (SLA clock) after p_after at which a running timer falls due or warns';

revoke execute on function public.crm_sla_next_due(timestamptz)
from public, anon, authenticated;
grant execute on function public.crm_sla_next_due(timestamptz) to service_role;
