-- Ladder steps sent over [p_from, p_to) on the SLA clock (step events), by policy, stage and step
-- name: how many, and how many of the manager's found no manager to tell (agent_id NULL). Admins
-- and the service role count every step, an agent those about its own leads or sent to it.
-- Called by crm-sla report and the board's /stats page.
create or replace function public.crm_sla_step_stats(
    p_from timestamptz default null, p_to timestamptz default null
)
returns table (
    policy_name text,
    stage text,
    step text,
    notify text,
    sent bigint,
    to_nobody bigint
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
    v_me constant uuid := auth.uid();
begin
    select s.period_from, s.period_to, s.everyone into v_from, v_to, v_everyone
    from public.crm_sla_stats_scope(p_from, p_to) as s;
    return query
    select
        p.name,
        o.payload ->> 'stage',
        o.payload ->> 'step',
        o.payload ->> 'notify',
        count(*),
        count(*) filter (where o.agent_id is null)
    from public.crm_sla_outbox as o
    left join public.crm_leads as l on o.lead_id = l.id
    left join public.crm_sla_policies as p on l.sla_policy_id = p.id
    where o.event = 'step'
        and (o.payload ->> 'at')::timestamptz >= v_from
        and (o.payload ->> 'at')::timestamptz < v_to
        and (
            v_everyone or o.agent_id = v_me
            or (o.payload ->> 'owner_id')::uuid is not distinct from v_me
        )
    group by 1, 2, 3, 4
    order by 1 nulls first, 2, 3, 4;
end
$$;

comment on function public.crm_sla_step_stats(timestamptz, timestamptz) is
'Ladder steps sent over a period of the SLA clock, by policy, stage and step name; an agent '
'counts those about its own leads or sent to it';

revoke execute on function public.crm_sla_step_stats(timestamptz, timestamptz)
from public, anon, authenticated, service_role;
grant execute on function public.crm_sla_step_stats(timestamptz, timestamptz)
to authenticated, service_role;
