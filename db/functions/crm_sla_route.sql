-- The router for leads that are written (crm_sla_route_leads has the rules): intake at the end
-- of a statement and the overflow queue (crm_sla_route_waiting), the monitor's breach passes,
-- crm_sla_explain_routing and reassign_lead's checks. Callers that route (p_explain false) hold
-- the routing lock (the crm_sla_routing_lock row) and the leads' row locks.
create or replace function public.crm_sla_route(
    p_leads uuid[], p_at timestamptz, p_explain boolean default false
)
returns table (
    lead_id uuid, agent_id uuid, escalate boolean, eligible boolean, reason text, rank integer
)
language plpgsql
volatile
set search_path = ''
as $$
begin
    return query
    select r.lead_id, r.agent_id, r.escalate, r.eligible, r.reason, r.rank
    from public.crm_sla_route_leads(p_leads, p_at, p_explain, null) as r;
end
$$;

comment on function public.crm_sla_route(uuid[], timestamptz, boolean) is
'Internal: routes (or explains the routing of) leads that are written; see crm_sla_route_leads';

revoke execute on function public.crm_sla_route(uuid[], timestamptz, boolean)
from public, anon, authenticated, service_role;
