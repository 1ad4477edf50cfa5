-- One link of the manager chain: an agent's own manager (crm_sla_agent_routing.manager_id), else
-- the manager of its first team (by team name) that has one other than the agent itself; NULL:
-- none. Called by crm_sla_manager_chain() for each agent on the way up.
create or replace function public.crm_sla_manager_of(p_agent_id uuid)
returns uuid
language sql
stable
set search_path = ''
as $$
    select coalesce(
        (
            select r.manager_id from public.crm_sla_agent_routing as r
            where r.agent_id = p_agent_id
        ),
        (
            select t.manager_id
            from public.crm_sla_team_members as m
            inner join public.crm_sla_teams as t on m.team_id = t.id
            where m.agent_id = p_agent_id and t.manager_id is not null
                and t.manager_id <> p_agent_id
            order by t.name
            limit 1
        )
    )
$$;

comment on function public.crm_sla_manager_of(uuid) is
'Internal: an agent''s manager (its own, else its first team''s by name), or NULL';

revoke execute on function public.crm_sla_manager_of(uuid)
from public, anon, authenticated, service_role;
