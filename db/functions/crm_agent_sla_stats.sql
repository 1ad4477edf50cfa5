-- Per-agent SLA statistics over [p_from, p_to) on the SLA clock: leads received, claims and first
-- contacts within the window, breach rate, medians, reassignments away and in. Admins and the
-- service role see every agent, an agent only itself; the view crm_agent_sla_stats shows the last
-- 24 hours.
create or replace function public.crm_agent_sla_stats(
    p_from timestamptz default null, p_to timestamptz default null
)
returns table (
    agent_id uuid,
    full_name text,
    leads_received bigint,
    received_by_reassignment bigint,
    claimed_in_window bigint,
    claimed_late bigint,
    contacted_in_window bigint,
    contacted_late bigint,
    missed_claim bigint,
    missed_contact bigint,
    reassigned_away bigint,
    breach_rate numeric,
    median_seconds_to_claim numeric,
    median_seconds_to_contact numeric
)
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
    v_from timestamptz;
    v_to timestamptz;
    v_everyone boolean;  -- false: an agent, who sees its own numbers only
begin
    select s.period_from, s.period_to, s.everyone into v_from, v_to, v_everyone
    from public.crm_sla_stats_scope(p_from, p_to) as s;
    return query
    with first_owner as (
        select
            l.id,
            l.created_at,
            coalesce((
                select r.from_agent_id from public.crm_lead_reassignments as r
                where r.lead_id = l.id
                order by r.created_at, r.id
                limit 1
            ), l.assigned_agent_id) as agent_id
        from public.crm_leads as l
        where l.created_at >= v_from and l.created_at < v_to
    ),

    moves as (
        select r.from_agent_id, r.to_agent_id, r.reason
        from public.crm_lead_reassignments as r
        where r.created_at >= v_from and r.created_at < v_to
    ),

    events as (
        select e.agent_id, e.event, e.late, e.elapsed
        from public.crm_lead_sla_events as e
        where e.at >= v_from and e.at < v_to
    ),

    per_agent as (
        select
            a.id,
            a.full_name,
            (select count(*) from first_owner as f where f.agent_id = a.id) as initial,
            (select count(*) from moves as m where m.to_agent_id = a.id) as moved_in,
            (select count(*) from events as e
             where e.agent_id = a.id and e.event = 'claimed' and not e.late) as claim_ok,
            (select count(*) from events as e
             where e.agent_id = a.id and e.event = 'claimed' and e.late) as claim_late,
            (select count(*) from events as e
             where e.agent_id = a.id and e.event = 'contacted' and not e.late) as contact_ok,
            (select count(*) from events as e
             where e.agent_id = a.id and e.event = 'contacted' and e.late) as contact_late,
            (select count(*) from moves as m
             where m.from_agent_id = a.id and m.reason = 'unclaimed') as miss_claim,
            (select count(*) from moves as m
             where m.from_agent_id = a.id and m.reason = 'no_contact') as miss_contact,
            (select count(*) from moves as m where m.from_agent_id = a.id) as away,
            (select percentile_cont(0.5) within group (order by extract(epoch from e.elapsed))
             from events as e where e.agent_id = a.id and e.event = 'claimed') as med_claim,
            (select percentile_cont(0.5) within group (order by extract(epoch from e.elapsed))
             from events as e where e.agent_id = a.id and e.event = 'contacted') as med_contact
        from public.crm_agents as a
        where a.role <> 'system'
            and (v_everyone or a.id = auth.uid())
    )

    select
        p.id,
        p.full_name,
        p.initial + p.moved_in,
        p.moved_in,
        p.claim_ok,
        p.claim_late,
        p.contact_ok,
        p.contact_late,
        p.miss_claim,
        p.miss_contact,
        p.away,
        round(
            (p.claim_late + p.contact_late + p.miss_claim + p.miss_contact)::numeric
            / nullif(p.initial + p.moved_in, 0), 3
        ),
        round(p.med_claim::numeric),
        round(p.med_contact::numeric)
    from per_agent as p
    order by p.full_name, p.id;
end
$$;

comment on function public.crm_agent_sla_stats(timestamptz, timestamptz) is
'Per-agent SLA statistics over a period of the SLA clock (default: the last 24 hours); '
'an agent sees only its own row';

revoke execute on function public.crm_agent_sla_stats(timestamptz, timestamptz)
from public, anon;
grant execute on function public.crm_agent_sla_stats(timestamptz, timestamptz)
to authenticated, service_role;
