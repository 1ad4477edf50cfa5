-- The timers a new lead of policy p_policy_id starts at p_now: '<policy id> <claim deadline>
-- <contact deadline> <claim window> <contact window> <calendar id or -> <claim warning or ->
-- <contact warning or -> <claim step or -> <contact step or ->' (the ladder's first steps), in
-- microseconds (since 1970-01-01 UTC for instants), as crm_sla_intake_clock has the defaults.
-- Called by the intake trigger once a statement for each policy its leads match (once a lead for
-- API sessions).
create or replace function public.crm_sla_intake_plan(p_policy_id uuid, p_now timestamptz)
returns text
language sql
stable
set search_path = ''
as $$
    select concat_ws(
        ' ',
        p.id,
        (extract(epoch from public.crm_sla_deadline(p.calendar_id, p_now, p.claim_window))
        * 1000000)::bigint,
        (extract(epoch from public.crm_sla_deadline(p.calendar_id, p_now, p.contact_window))
        * 1000000)::bigint,
        (extract(epoch from p.claim_window) * 1000000)::bigint,
        (extract(epoch from p.contact_window) * 1000000)::bigint,
        coalesce(p.calendar_id::text, '-'),
        coalesce((extract(epoch from public.crm_sla_warn_instant(
            p.id, p.calendar_id, p_now, p.claim_window
        )) * 1000000)::bigint::text, '-'),
        coalesce((extract(epoch from public.crm_sla_warn_instant(
            p.id, p.calendar_id, p_now, p.contact_window
        )) * 1000000)::bigint::text, '-'),
        coalesce((extract(epoch from public.crm_sla_step_instant(
            p.id, 'claim_window', p.calendar_id, p_now, p.claim_window, null
        )) * 1000000)::bigint::text, '-'),
        coalesce((extract(epoch from public.crm_sla_step_instant(
            p.id, 'contact_window', p.calendar_id, p_now, p.contact_window, null
        )) * 1000000)::bigint::text, '-')
    )
    from public.crm_sla_policies as p
    where p.id = p_policy_id
$$;

comment on function public.crm_sla_intake_plan(uuid, timestamptz) is
'Internal: the timers a new lead of an SLA policy starts at p_now (intake)';

revoke execute on function public.crm_sla_intake_plan(uuid, timestamptz) from public, anon;
grant execute on function public.crm_sla_intake_plan(uuid, timestamptz)
to authenticated, service_role;
