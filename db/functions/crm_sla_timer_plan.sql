-- The timer a lead of policy p_policy_id (NULL: no policy, the settings' defaults) starts at
-- p_start for stage 'claim' or 'contact': its window, its calendar and its deadline. Called by
-- the progress trigger, reassignments and the monitor (once per policy, not per lead).
create or replace function public.crm_sla_timer_plan(
    p_policy_id uuid,
    p_stage text,
    p_start timestamptz,
    out expires_at timestamptz,
    out timer_window interval,
    out calendar_id uuid
)
language plpgsql
stable
set search_path = ''
as $$
begin
    select
        case when p_stage = 'claim' then p.claim_window else p.contact_window end,
        p.calendar_id
    into timer_window, calendar_id
    from public.crm_sla_policies as p
    where p.id = p_policy_id;
    if not found then
        select
            case when p_stage = 'claim' then s.claim_window else s.contact_window end,
            s.calendar_id
        into timer_window, calendar_id
        from public.crm_sla_settings as s;
    end if;
    timer_window := coalesce(timer_window, interval '5 minutes');
    expires_at := public.crm_sla_deadline(calendar_id, p_start, timer_window);
end
$$;

comment on function public.crm_sla_timer_plan(uuid, text, timestamptz) is
'Internal: window, calendar and deadline of a claim or contact timer under a policy (or the '
'settings)';

revoke execute on function public.crm_sla_timer_plan(uuid, text, timestamptz) from public, anon;
grant execute on function public.crm_sla_timer_plan(uuid, text, timestamptz)
to authenticated, service_role;
