-- A new lead's first owner, chosen as its row is written (called by the trigger
-- crm_leads_150_route_first for the first lead without an owner of each INSERT statement), so
-- that a single-row INSERT ... RETURNING shows the owner and the claim timer. The one router
-- decides (crm_sla_route_leads, with the lead's policy: it is not in the table yet). Returns
-- NULL, and leaves the lead to the end of the statement, while older leads wait in the overflow
-- queue (they go first) or when nobody is eligible.
create or replace function public.crm_sla_route_new_lead(
    p_lead_id uuid, p_policy_id uuid, p_at timestamptz
)
returns uuid
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
    v_agent uuid;
begin
    -- Only from the intake trigger: called on its own it would move the routing credits without
    -- a lead.
    if pg_catalog.pg_trigger_depth() = 0 then
        raise exception 'crm_sla_route_new_lead is called by the intake trigger only'
            using errcode = 'SL006', hint = 'Insert the lead without an owner: it is routed then.';
    end if;
    if exists (select from public.crm_leads as w where w.assigned_agent_id is null) then
        return null;
    end if;
    -- One order for every router: the routing row first (to the end of the transaction).
    perform from public.crm_sla_routing_lock for update;
    select r.agent_id into v_agent
    from public.crm_sla_route_leads(array[p_lead_id], p_at, false, array[p_policy_id]) as r;
    return v_agent;
end
$$;

comment on function public.crm_sla_route_new_lead(uuid, uuid, timestamptz) is
'Internal: routes a new lead as it is written (the first unowned lead of an INSERT statement)';

revoke execute on function public.crm_sla_route_new_lead(uuid, uuid, timestamptz)
from public, anon, authenticated, service_role;
