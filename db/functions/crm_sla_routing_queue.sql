-- SUPERSEDED by crm_sla_route (routing version 2): migrations 0004 and 0010 still load this file,
-- and 0061 drops the object again. Kept only for them; not part of the current schema.
-- The routing queue: eligible agents (p_role 'agent') or admins (p_role 'admin'), least recently
-- routed to first, ties by id. Called by the intake trigger and the monitor, under the routing
-- lock.
create or replace function public.crm_sla_routing_queue(p_role text)
returns uuid[]
language sql
stable
set search_path = ''
as $$
    select coalesce(array_agg(a.id order by s.last_routed_seq nulls first, a.id), '{}')
    from public.crm_agents as a
    left join public.crm_sla_agent_state as s on a.id = s.agent_id
    where
        a.role = p_role
        and a.is_active
        and (a.accepting_leads or p_role = 'admin')
$$;

comment on function public.crm_sla_routing_queue(text) is
'Internal: active agents (or admins) in round-robin order, least recently routed to first';

revoke execute on function public.crm_sla_routing_queue(text)
from public, anon, authenticated, service_role;
