-- SUPERSEDED by crm_sla_route (routing version 2): migrations 0004 and 0010 still load this file,
-- and 0061 drops the object again. Kept only for them; not part of the current schema.
-- Records routing picks, given in the order they were made, so the queue rotates round robin.
-- Called by the intake trigger and the monitor, under the routing lock.
create or replace function public.crm_sla_mark_routed(p_agents uuid[])
returns void
language sql
volatile
set search_path = ''
as $$
    insert into public.crm_sla_agent_state as s (agent_id, last_routed_seq, leads_routed)
    select t.agent, b.seq + max(t.i), count(*)
    from unnest(p_agents) with ordinality as t (agent, i)
    cross join (
        select coalesce(max(x.last_routed_seq), 0) as seq from public.crm_sla_agent_state as x
    ) as b
    where t.agent is not null
    group by t.agent, b.seq
    on conflict (agent_id) do update
        set last_routed_seq = excluded.last_routed_seq,
            leads_routed = s.leads_routed + excluded.leads_routed
$$;

comment on function public.crm_sla_mark_routed(uuid[]) is
'Internal: moves the picked agents to the back of the routing queue';

revoke execute on function public.crm_sla_mark_routed(uuid[])
from public, anon, authenticated, service_role;
