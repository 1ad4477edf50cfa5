-- The agents absent at an instant (inside one of their crm_sla_agent_absences), each with the end
-- of its latest absence under way. Called by crm_sla_routing_pool() (routing, explain_routing).
create or replace function public.crm_sla_absences_at(p_at timestamptz)
returns table (agent_id uuid, absent_until timestamptz)
language sql
stable
-- SQL without SET, so that the planner inlines it into the pool's query (one join, no call an
-- agent); every name is qualified.
as $$
    select b.agent_id, max(b.ends_at)
    from public.crm_sla_agent_absences as b
    where b.ends_at > p_at and b.starts_at <= p_at
    group by b.agent_id
$$;

comment on function public.crm_sla_absences_at(timestamptz) is
'Internal: agents inside an absence at the instant, with when their latest absence under way ends';

revoke execute on function public.crm_sla_absences_at(timestamptz)
from public, anon, authenticated, service_role;
