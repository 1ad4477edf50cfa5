-- For the managers' chart: how many claim windows ended in each hour of the week (local time of
-- the claim or of the missed window's reassignment) and how many of them with a claim in time.
-- Admins and the service role count every agent's windows, an agent only its own (the /stats page).
create or replace function public.crm_sla_stats_by_hour(
    p_from timestamptz default null,
    p_to timestamptz default null,
    p_time_zone text default 'UTC'
)
returns table (weekday smallint, hour smallint, claim_windows bigint, claimed_in_window bigint)
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
    v_from timestamptz;
    v_to timestamptz;
    v_everyone boolean;  -- false: an agent, who sees its own numbers only
    v_me constant uuid := auth.uid();
begin
    select s.period_from, s.period_to, s.everyone into v_from, v_to, v_everyone
    from public.crm_sla_stats_scope(p_from, p_to) as s;
    if p_time_zone is null
        or not exists (select from pg_catalog.pg_timezone_names as z where z.name = p_time_zone)
        then
        raise exception 'unknown time zone %', coalesce(p_time_zone, 'NULL')
            using errcode = 'SL010',
                hint = 'Use a name from pg_timezone_names, such as Europe/Berlin.';
    end if;
    return query
    with ended as (
        select e.at as at, not e.late as in_window
        from public.crm_lead_sla_events as e
        where e.event = 'claimed' and e.at >= v_from and e.at < v_to
            and (v_everyone or e.agent_id = v_me)
        union all
        select r.created_at, false
        from public.crm_lead_reassignments as r
        where r.reason = 'unclaimed' and r.created_at >= v_from and r.created_at < v_to
            and (v_everyone or r.from_agent_id = v_me)
    )

    select
        extract(dow from e.at at time zone p_time_zone)::smallint,
        extract(hour from e.at at time zone p_time_zone)::smallint,
        count(*),
        count(*) filter (where e.in_window)
    from ended as e
    group by 1, 2
    order by 1, 2;
end
$$;

comment on function public.crm_sla_stats_by_hour(timestamptz, timestamptz, text) is
'Claim windows ended and claimed in time, per weekday (0 = Sunday) and local hour';

revoke execute on function public.crm_sla_stats_by_hour(timestamptz, timestamptz, text)
from public, anon, authenticated, service_role;
grant execute on function public.crm_sla_stats_by_hour(timestamptz, timestamptz, text)
to authenticated, service_role;
