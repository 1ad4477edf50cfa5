-- Per-team SLA statistics over [p_from, p_to) on the SLA clock: the team's members' figures added
-- up, with the breach rate and the medians over all their claims and first contacts. Admins and
-- the service role (an agent gets no team rows: it sees only its own numbers).
create or replace function public.crm_sla_team_stats(
    p_from timestamptz default null, p_to timestamptz default null
)
returns table (
    team_id uuid,
    team_name text,
    agents bigint,
    leads_received numeric,
    claimed_in_window numeric,
    contacted_in_window numeric,
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
    v_everyone boolean;
begin
    select s.period_from, s.period_to, s.everyone into v_from, v_to, v_everyone
    from public.crm_sla_stats_scope(p_from, p_to) as s;
    if not v_everyone then
        return;  -- an agent: no team rows
    end if;
    return query
    with per_agent as (
        select s.* from public.crm_agent_sla_stats(v_from, v_to) as s
    )

    select
        t.id,
        t.name,
        count(a.agent_id),
        coalesce(sum(a.leads_received), 0),
        coalesce(sum(a.claimed_in_window), 0),
        coalesce(sum(a.contacted_in_window), 0),
        round(
            sum(a.claimed_late + a.contacted_late + a.missed_claim + a.missed_contact)::numeric
            / nullif(sum(a.leads_received), 0), 3
        ),
        (
            select round(percentile_cont(0.5) within group (
                order by extract(epoch from e.elapsed))::numeric)
            from public.crm_lead_sla_events as e
            inner join public.crm_sla_team_members as m2 on e.agent_id = m2.agent_id
            where m2.team_id = t.id and e.event = 'claimed' and e.at >= v_from and e.at < v_to
        ),
        (
            select round(percentile_cont(0.5) within group (
                order by extract(epoch from e.elapsed))::numeric)
            from public.crm_lead_sla_events as e
            inner join public.crm_sla_team_members as m2 on e.agent_id = m2.agent_id
            where m2.team_id = t.id and e.event = 'contacted' and e.at >= v_from and e.at < v_to
        )
    from public.crm_sla_teams as t
    left join public.crm_sla_team_members as m on t.id = m.team_id
    left join per_agent as a on m.agent_id = a.agent_id
    group by t.id, t.name
    order by t.name, t.id;
end
$$;

comment on function public.crm_sla_team_stats(timestamptz, timestamptz) is
'Per-team SLA statistics over a period of the SLA clock (default: the last 24 hours); admins';

revoke execute on function public.crm_sla_team_stats(timestamptz, timestamptz)
from public, anon, authenticated, service_role;
grant execute on function public.crm_sla_team_stats(timestamptz, timestamptz)
to authenticated, service_role;
