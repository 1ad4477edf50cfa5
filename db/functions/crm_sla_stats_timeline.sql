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
    v_from timestamptz;
    v_to timestamptz;
    v_everyone boolean;  -- false: an agent, who sees its own numbers only
    v_me constant uuid := auth.uid();
    v_step interval;
begin
    select s.period_from, s.period_to, s.everyone into v_from, v_to, v_everyone
    from public.crm_sla_stats_scope(p_from, p_to) as s;
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
