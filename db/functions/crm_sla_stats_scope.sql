-- What the statistics functions (crm_agent_sla_stats, crm_sla_team_stats, crm_sla_stats_by_hour,
-- crm_sla_stats_timeline) may show their caller, and over which period: anon gets SL006; the
-- period is [p_from, p_to) on the SLA clock, by default the last 24 hours, and an empty one is
-- SL010; `everyone` is true for admins, the service role and trusted sessions, false for an
-- agent (who sees only its own numbers).
create or replace function public.crm_sla_stats_scope(
    p_from timestamptz,
    p_to timestamptz,
    out period_from timestamptz,
    out period_to timestamptz,
    out everyone boolean
)
language plpgsql
stable
set search_path = ''
as $$
declare
    v_caller constant text := public.crm_sla_caller();
begin
    if v_caller = 'anon' then
        raise exception 'SLA statistics are for signed-in agents and admins'
            using errcode = 'SL006', hint = 'Sign in, or use the service role.';
    end if;
    period_to := coalesce(p_to, public.sla_now());
    period_from := coalesce(p_from, period_to - interval '1 day');
    if period_from >= period_to then
        raise exception 'the period is empty: % is not before %', period_from, period_to
            using errcode = 'SL010', hint = 'Pass p_from < p_to.';
    end if;
    everyone := v_caller <> 'user' or public.is_admin(auth.uid());
end
$$;

comment on function public.crm_sla_stats_scope(timestamptz, timestamptz) is
'Internal: the period of the statistics functions and whether the caller sees every agent';

revoke execute on function public.crm_sla_stats_scope(timestamptz, timestamptz)
from public, anon, authenticated, service_role;
