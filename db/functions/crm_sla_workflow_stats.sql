-- Per-agent workflow statistics over [p_from, p_to) on the SLA clock: leads the agent declined and
-- leads handed over while it was absent (audit rows); its breaches by how they were handled:
-- moved under a policy whose on_breach is 'reassign' (or no policy), 'manager', or flagged in
-- place ('flag': its breached events); the pauses of its timers (paused events: pause_when held,
-- or snoozed) and how long they lasted (to the next resumed event, the snooze's end, or the event
-- that ended that timer run, within the period). Admins and the service role see every agent, an
-- agent only itself. Called by crm-sla report and the board's /stats page.
create or replace function public.crm_sla_workflow_stats(
    p_from timestamptz default null, p_to timestamptz default null
)
returns table (
    agent_id uuid,
    full_name text,
    declined bigint,
    handed_over bigint,
    breaches_reassigned bigint,
    breaches_to_manager bigint,
    breaches_flagged bigint,
    pauses bigint,
    snoozes bigint,
    paused_seconds numeric
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
    v_now constant timestamptz := public.sla_now();
begin
    select s.period_from, s.period_to, s.everyone into v_from, v_to, v_everyone
    from public.crm_sla_stats_scope(p_from, p_to) as s;
    return query
    with moves as (
        select
            r.from_agent_id,
            r.reason,
            coalesce(p.on_breach, 'reassign') as on_breach
        from public.crm_lead_reassignments as r
        inner join public.crm_leads as l on r.lead_id = l.id
        left join public.crm_sla_policies as p on l.sla_policy_id = p.id
        where r.created_at >= v_from and r.created_at < v_to
            and r.reason in ('declined', 'unavailable', 'unclaimed', 'no_contact')
    ),

    flagged as (
        select o.agent_id, count(*) as n
        from public.crm_sla_outbox as o
        where o.event = 'breached'
            and (o.payload ->> 'at')::timestamptz >= v_from
            and (o.payload ->> 'at')::timestamptz < v_to
        group by o.agent_id
    ),

    -- Each pause with the instant it ended: the lead's next event that resumes its timer or ends
    -- the timer run (a run that starts paused has its claimed or reassigned event, without a
    -- deadline, after its paused event: that one does not end it).
    ends as (
        select
            o.agent_id,
            o.event,
            o.payload ->> 'reason' as reason,
            (o.payload ->> 'until')::timestamptz as until,
            (o.payload ->> 'at')::timestamptz as at,
            lead((o.payload ->> 'at')::timestamptz) over (
                partition by o.lead_id order by o.id
            ) as ended_at
        from public.crm_sla_outbox as o
        where o.lead_id is not null
            and (o.payload ->> 'at')::timestamptz >= v_from
            and (
                o.event in ('paused', 'resumed', 'contacted', 'escalated')
                or (
                    o.event in ('assigned', 'reassigned', 'claimed')
                    and o.payload ->> 'expires_at' is not null
                )
            )
    ),

    paused as (
        select
            e.agent_id,
            count(*) filter (where e.reason is distinct from 'snoozed') as n,
            count(*) filter (where e.reason = 'snoozed') as snoozed,
            -- a snooze resumes at its end, whenever the monitor writes the event
            sum(extract(epoch from least(coalesce(e.ended_at, v_now), e.until, v_to) - e.at))
                as seconds
        from ends as e
        where e.event = 'paused' and e.at < v_to
        group by e.agent_id
    )

    select
        a.id,
        a.full_name,
        count(m.reason) filter (where m.reason = 'declined'),
        count(m.reason) filter (where m.reason = 'unavailable'),
        count(m.reason) filter (
            where m.reason in ('unclaimed', 'no_contact') and m.on_breach <> 'manager'
        ),
        count(m.reason) filter (
            where m.reason in ('unclaimed', 'no_contact') and m.on_breach = 'manager'
        ),
        coalesce(max(f.n), 0),
        coalesce(max(z.n), 0),
        coalesce(max(z.snoozed), 0),
        round(coalesce(max(z.seconds), 0))
    from public.crm_agents as a
    left join moves as m on a.id = m.from_agent_id
    left join flagged as f on a.id = f.agent_id
    left join paused as z on a.id = z.agent_id
    where a.role <> 'system'
        and (v_everyone or a.id = auth.uid())
    group by a.id, a.full_name
    order by a.full_name, a.id;
end
$$;

comment on function public.crm_sla_workflow_stats(timestamptz, timestamptz) is
'Per-agent declines, absence hand-overs, breaches by how they were handled (reassign, manager, '
'flag), and pauses, snoozes and paused time over a period of the SLA clock; an agent sees only '
'its own row';

revoke execute on function public.crm_sla_workflow_stats(timestamptz, timestamptz)
from public, anon, authenticated, service_role;
grant execute on function public.crm_sla_workflow_stats(timestamptz, timestamptz)
to authenticated, service_role;
