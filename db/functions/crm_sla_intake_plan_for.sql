-- The timers a new lead starts at p_start under policy p_policy_id (NULL: no policy, the
-- settings' defaults), by the rules of the timers started later (crm_sla_timer_plan,
-- crm_sla_warn_instant, crm_sla_step_instant): deadlines, windows, calendar, warnings and the
-- ladders' first steps. Called by the intake triggers once a statement for the defaults (whose
-- start is the statement's SLA clock reading) and for each policy its leads match; once a lead
-- for API sessions.
create or replace function public.crm_sla_intake_plan_for(p_policy_id uuid, p_start timestamptz)
returns public.crm_sla_intake_plan
language sql
stable
set search_path = ''
as $$
    select row(
        p_policy_id,
        (extract(epoch from p_start) * 1000000)::bigint,
        (extract(epoch from claim.expires_at) * 1000000)::bigint,
        (extract(epoch from contact.expires_at) * 1000000)::bigint,
        (extract(epoch from claim.timer_window) * 1000000)::bigint,
        (extract(epoch from contact.timer_window) * 1000000)::bigint,
        claim.calendar_id,
        (extract(epoch from public.crm_sla_warn_instant(
            p_policy_id, claim.calendar_id, p_start, claim.timer_window
        )) * 1000000)::bigint,
        (extract(epoch from public.crm_sla_warn_instant(
            p_policy_id, contact.calendar_id, p_start, contact.timer_window
        )) * 1000000)::bigint,
        (extract(epoch from public.crm_sla_step_instant(
            p_policy_id, 'claim_window', claim.calendar_id, p_start, claim.timer_window, null
        )) * 1000000)::bigint,
        (extract(epoch from public.crm_sla_step_instant(
            p_policy_id, 'contact_window', contact.calendar_id, p_start, contact.timer_window, null
        )) * 1000000)::bigint
    )::public.crm_sla_intake_plan
    from public.crm_sla_timer_plan(p_policy_id, 'claim', p_start) as claim
    cross join public.crm_sla_timer_plan(p_policy_id, 'contact', p_start) as contact
$$;

comment on function public.crm_sla_intake_plan_for(uuid, timestamptz) is
'Internal: the timers a new lead starts at p_start under an SLA policy or the settings (intake)';

revoke execute on function public.crm_sla_intake_plan_for(uuid, timestamptz) from public, anon;
grant execute on function public.crm_sla_intake_plan_for(uuid, timestamptz)
to authenticated, service_role;
