-- When a timer of a lead of policy p_policy_id (NULL: leads without a policy) in stage p_stage
-- ('claim_window' or 'contact_window'), started at p_start with window p_window in calendar
-- p_calendar_id, takes its next ladder step: the first step whose share `at` is above p_done
-- (NULL: none taken yet), once that share of the window has passed in open time; NULL when no
-- step is left. Called where a timer starts (intake plans, the ladder trigger) and by calendar
-- re-planning.
create or replace function public.crm_sla_step_instant(
    p_policy_id uuid,
    p_stage text,
    p_calendar_id uuid,
    p_start timestamptz,
    p_window interval,
    p_done numeric
)
returns timestamptz
language plpgsql
stable
set search_path = ''
as $$
declare
    v_at numeric;
begin
    select min(s.at) into v_at
    from public.crm_sla_policy_steps as s
    where s.policy_id is not distinct from p_policy_id and s.stage = p_stage
        and s.at > coalesce(p_done, 0);
    if v_at is null or p_window is null or p_start is null then
        return null;
    end if;
    return public.crm_sla_deadline(p_calendar_id, p_start, p_window * v_at::double precision);
end
$$;

comment on function public.crm_sla_step_instant(uuid, text, uuid, timestamptz, interval, numeric) is
'Internal: when a timer takes its next ladder step (its share of the window in open time), or NULL';

revoke execute on function public.crm_sla_step_instant(
    uuid, text, uuid, timestamptz, interval, numeric
) from public, anon;
grant execute on function public.crm_sla_step_instant(
    uuid, text, uuid, timestamptz, interval, numeric
) to authenticated, service_role;
