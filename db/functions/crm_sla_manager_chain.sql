-- An agent's manager chain, in order: its own manager (crm_sla_agent_routing.manager_id), else
-- the manager of its first team (by name) that has one other than itself; then that manager's
-- chain, upward. Inactive agents are skipped (the chain goes on above them), no agent comes twice
-- and a cycle in the data ends the chain. Called by the ladder (step events for managers,
-- on_breach 'manager', escalation) and by admins, agents and the service role.
create or replace function public.crm_sla_manager_chain(p_agent_id uuid)
returns table (agent_id uuid, level integer)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
    return query
    with recursive up (agent_id, depth, path) as (
        select n.manager_id, 1, array[p_agent_id, n.manager_id]
        from public.crm_sla_manager_of(p_agent_id) as n (manager_id)
        where n.manager_id is not null and n.manager_id <> p_agent_id
        union all
        select n.manager_id, u.depth + 1, u.path || n.manager_id
        from up as u
        cross join lateral public.crm_sla_manager_of(u.agent_id) as n (manager_id)
        where n.manager_id is not null and not n.manager_id = any(u.path)
    )

    select u.agent_id, (row_number() over (order by u.depth))::integer
    from up as u
    inner join public.crm_agents as a on u.agent_id = a.id
    where a.is_active
    order by u.depth;
end
$$;

comment on function public.crm_sla_manager_chain(uuid) is
'An agent''s manager chain, nearest first (level 1): its manager, else its first team''s, then '
'upward; inactive agents skipped, cycles cut';

revoke execute on function public.crm_sla_manager_chain(uuid)
from public, anon, authenticated, service_role;
grant execute on function public.crm_sla_manager_chain(uuid) to authenticated, service_role;
