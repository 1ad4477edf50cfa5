-- For the managers' chart: breaches (missed windows) and reassignments in equal buckets of a
-- period. Admins and the service role count every agent's, an agent only those it lost or got.
create or replace function public.crm_sla_stats_timeline(
    p_from timestamptz default null,
    p_to timestamptz default null,
    p_buckets integer default 24
)
returns table (bucket_start timestamptz, breaches bigint, reassignments bigint)
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
    v_caller constant text := public.crm_sla_caller();
    v_to constant timestamptz := coalesce(p_to, public.sla_now());
    v_from constant timestamptz := coalesce(p_from, v_to - interval '1 day');
    v_everyone constant boolean := v_caller <> 'user' or public.is_admin(auth.uid());
    v_me constant uuid := auth.uid();
    v_step interval;
begin
    if v_caller = 'anon' then
        raise exception 'SLA statistics are for signed-in agents and admins'
            using errcode = 'SL006', hint = 'Sign in, or use the service role.';
    end if;
    if v_from >= v_to then
        raise exception 'the period is empty: % is not before %', v_from, v_to
            using errcode = 'SL010', hint = 'Pass p_from < p_to.';
    end if;
    if p_buckets is null or p_buckets not between 1 and 1000 then
        raise exception 'p_buckets must be between 1 and 1000, not %',
            coalesce(p_buckets::text, 'NULL')
            using errcode = 'SL010', hint = 'For example 24 buckets for a day, 7 for a week.';
    end if;
    v_step := (v_to - v_from) / p_buckets;
    return query
    select
        v_from + v_step * b.n,
        count(r.id) filter (where r.reason in ('unclaimed', 'no_contact')),
        count(r.id)
    from pg_catalog.generate_series(0, p_buckets - 1) as b (n)
    left join public.crm_lead_reassignments as r
        on r.created_at >= v_from + v_step * b.n
        and r.created_at < v_from + v_step * (b.n + 1)
        and (v_everyone or v_me in (r.from_agent_id, r.to_agent_id))
    group by b.n
    order by b.n;
end
$$;

comment on function public.crm_sla_stats_timeline(timestamptz, timestamptz, integer) is
'Breaches and reassignments per bucket of a period; an agent sees those it lost or received';

revoke execute on function public.crm_sla_stats_timeline(timestamptz, timestamptz, integer)
from public, anon, authenticated, service_role;
grant execute on function public.crm_sla_stats_timeline(timestamptz, timestamptz, integer)
to authenticated, service_role;
