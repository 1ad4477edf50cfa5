-- An agent's first active manager: the head of its manager chain (crm_sla_manager_chain), or
-- NULL when the chain has nobody active. Who a `manager` ladder step, an auto-pause and an
-- escalation (crm_sla_escalation_target) are for. Called by crm_sla_emit_steps,
-- crm_sla_auto_pause and crm_sla_escalation_target.
create or replace function public.crm_sla_first_manager(p_agent_id uuid)
returns uuid
language sql
stable
set search_path = ''
as $$
    select c.agent_id from public.crm_sla_manager_chain(p_agent_id) as c
    order by c.level
    limit 1
$$;

comment on function public.crm_sla_first_manager(uuid) is
'Internal: the first active agent in an agent''s manager chain, or NULL';

revoke execute on function public.crm_sla_first_manager(uuid)
from public, anon, authenticated, service_role;
