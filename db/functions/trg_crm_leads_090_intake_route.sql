-- SUPERSEDED by crm_sla_route (routing version 2): migrations 0004 and 0010 still load this file,
-- and 0061 drops the object again. Kept only for them; not part of the current schema.
-- Intake routing: a lead inserted without an owner goes to the next agent of the round robin (a
-- first assignment, not a reassignment: no audit row). The routing queue is read once a
-- statement, under the routing lock, into transaction-local settings: crm_sla.intake_queue (the
-- text of a uuid[], 37 characters an agent) and crm_sla.intake_routed (leads routed so far); the
-- k-th unowned lead goes to agent k mod n, and crm_leads_900_intake_done moves the picked agents
-- to the back of the queue when the statement ends. Fires before INSERT of an unowned lead.
create or replace function public.crm_leads_intake_route()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_queue text := pg_catalog.current_setting('crm_sla.intake_queue', true);
    v_agents integer;
    v_routed integer;
    v_set text;  -- what set_config() returns: an assignment costs less than PERFORM
begin
    if v_queue is null or v_queue = '' then
        -- One order for every router: this lock first (to the end of the transaction).
        perform pg_catalog.pg_advisory_xact_lock(4242002);
        v_queue := public.crm_sla_routing_queue('agent')::text;
        perform
            pg_catalog.set_config('crm_sla.intake_queue', v_queue, true),
            pg_catalog.set_config('crm_sla.intake_routed', '0', true);
    end if;
    v_agents := (pg_catalog.octet_length(v_queue) - 1) / 37;
    if v_agents > 0 then  -- else nobody is eligible: the monitor routes the lead later
        v_routed := pg_catalog.current_setting('crm_sla.intake_routed')::integer;
        new.assigned_agent_id
        := pg_catalog.substr(v_queue, 2 + 37 * (v_routed % v_agents), 36)::uuid;
        v_set := pg_catalog.set_config('crm_sla.intake_routed', (v_routed + 1)::text, true);
    end if;
    return new;
end
$$;

comment on function public.crm_leads_intake_route() is
'Trigger: routes a lead inserted without an owner (round robin, once-a-statement queue)';

revoke execute on function public.crm_leads_intake_route()
from public, anon, authenticated, service_role;

drop trigger if exists crm_leads_090_intake_route on public.crm_leads;

create trigger crm_leads_090_intake_route
before insert on public.crm_leads
for each row
when (new.assigned_agent_id is null)
execute function public.crm_leads_intake_route();

comment on trigger crm_leads_090_intake_route on public.crm_leads is
'Routes a lead inserted without an owner to the next agent (round robin)';
