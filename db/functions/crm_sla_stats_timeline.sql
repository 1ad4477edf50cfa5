-- For the managers' chart: breaches (missed windows, moved or flagged in place) and reassignments
-- in equal buckets of a period. Admins and the service role count every agent's, an agent only
-- those it lost, got or was flagged for.
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
    with marks as (
        select r.created_at as at, r.reason in ('unclaimed', 'no_contact') as breach, true as moved
        from public.crm_lead_reassignments as r
        where r.created_at >= v_from and r.created_at < v_to
            and (v_everyone or v_me in (r.from_agent_id, r.to_agent_id))
        union all
        -- on_breach 'flag': a breach that moved nothing
        select (o.payload ->> 'at')::timestamptz, true, false
        from public.crm_sla_outbox as o
        where o.event = 'breached'
            and (o.payload ->> 'at')::timestamptz >= v_from
            and (o.payload ->> 'at')::timestamptz < v_to
            and (v_everyone or o.agent_id = v_me)
    )

    select
        v_from + v_step * b.n,
        count(m.at) filter (where m.breach),
        count(m.at) filter (where m.moved)
    from pg_catalog.generate_series(0, p_buckets - 1) as b (n)
    left join marks as m
        on m.at >= v_from + v_step * b.n
        and m.at < v_from + v_step * (b.n + 1)
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
