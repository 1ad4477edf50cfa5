-- Refuses an agent that is its own manager (SL010, nothing written): a chain starts above the
-- agent. Fires before INSERT or UPDATE of manager_id on crm_sla_agent_routing (admins, the
-- service role, the CLI).
create or replace function public.crm_sla_agent_routing_check()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if new.manager_id = new.agent_id then
        raise exception 'agent % cannot be its own manager', new.agent_id
            using errcode = 'SL010',
                detail = 'manager_id names the agent the ladder goes up to from this one.',
                hint = 'Set manager_id to another agent (or admin), or NULL to use the manager of '
                || 'the agent''s first team.';
    end if;
    return new;
end
$$;

comment on function public.crm_sla_agent_routing_check() is
'Trigger: refuses an agent that is its own manager (SL010)';

revoke execute on function public.crm_sla_agent_routing_check()
from public, anon, authenticated, service_role;

drop trigger if exists crm_sla_agent_routing_100_check on public.crm_sla_agent_routing;

create trigger crm_sla_agent_routing_100_check
before insert or update of manager_id, agent_id on public.crm_sla_agent_routing
for each row execute function public.crm_sla_agent_routing_check();

comment on trigger crm_sla_agent_routing_100_check on public.crm_sla_agent_routing is
'Refuses an agent that is its own manager (SL010)';
