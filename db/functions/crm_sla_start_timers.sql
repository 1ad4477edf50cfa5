-- How a new lead's timers start at p_start under SLA policy p_policy_id (NULL: the settings):
-- each stage's window, deadline and warning instant in the policy's calendar, by the rules every
-- timer start follows (crm_sla_timer_plan, crm_sla_warn_instant). Called by intake once a
-- statement for the settings and for each policy its leads match (once a lead for API sessions).
create or replace function public.crm_sla_start_timers(p_policy_id uuid, p_start timestamptz)
returns public.crm_sla_timer_start
language sql
stable
set search_path = ''
as $$
    select row(
        p_policy_id,
        claim.calendar_id,
        claim.timer_window,
        claim.expires_at,
        public.crm_sla_warn_instant(p_policy_id, claim.calendar_id, p_start, claim.timer_window),
        contact.timer_window,
        contact.expires_at,
        public.crm_sla_warn_instant(p_policy_id, contact.calendar_id, p_start, contact.timer_window)
    )::public.crm_sla_timer_start
    from public.crm_sla_timer_plan(p_policy_id, 'claim', p_start) as claim
    cross join public.crm_sla_timer_plan(p_policy_id, 'contact', p_start) as contact
$$;

comment on function public.crm_sla_start_timers(uuid, timestamptz) is
'Internal: how a new lead''s claim and contact timers start at p_start under a policy (or the '
'settings)';

revoke execute on function public.crm_sla_start_timers(uuid, timestamptz) from public, anon;
grant execute on function public.crm_sla_start_timers(uuid, timestamptz)
to authenticated, service_role;
