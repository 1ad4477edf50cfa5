-- Who could be routed a lead at an instant, before looking at the lead: every agent and admin
-- with its weight, cap, open leads, routing credit and, when it cannot take a lead now, why.
-- Called by the router (crm_sla_route_leads) and the monitor's crm_sla_route_ladder and
-- crm_sla_route_waiting.
create or replace function public.crm_sla_routing_pool(p_at timestamptz)
returns table (
    agent_id uuid,
    role text,
    full_name text,
    weight double precision,
    max_open_leads integer,
    open_leads bigint,
    credit double precision,
    last_routed_seq bigint,
    reason text
)
language plpgsql
stable
set search_path = ''
as $$
begin
    -- PL/pgSQL rather than SQL, so its plan is kept (a SQL function with a SET clause is parsed
    -- and planned again on every call: every routing statement calls this one).
    return query
    select
        a.id,
        a.role,
        a.full_name,
        case when a.role = 'agent' then coalesce(r.weight, 1)::double precision else 1 end,
        r.max_open_leads,
        o.n,
        coalesce(s.routing_credit, 0),
        s.last_routed_seq,
        case
            when not a.is_active then 'inactive'
            when a.role <> 'agent' then null  -- admins take escalations whatever their routing
            when not a.accepting_leads then 'not accepting leads'
            when r.calendar_id is not null
                and not public.crm_sla_calendar_is_open(r.calendar_id, p_at) then 'off shift'
            when b.absent_until is not null then 'absent until ' || b.absent_until::text
            when o.n >= r.max_open_leads
                then pg_catalog.format('at capacity %s/%s', o.n, r.max_open_leads)
        end
    from public.crm_agents as a
    left join public.crm_sla_agent_routing as r on a.id = r.agent_id
    left join public.crm_sla_agent_state as s on a.id = s.agent_id
    left join public.crm_sla_absences_at(p_at) as b on a.id = b.agent_id
    left join lateral (
        -- Open leads count only against a cap (and read crm_leads_open_by_agent_idx).
        select count(*) as n
        from public.crm_leads as l
        where
            r.max_open_leads is not null
            and l.assigned_agent_id = a.id
            and l.first_action_completed = false
            and l.sla_escalated_at is null
    ) as o on true
    where a.role in ('agent', 'admin');
end
$$;

comment on function public.crm_sla_routing_pool(timestamptz) is
'Internal: agents and admins with weight, cap, open leads, credit, and why they cannot take leads';

revoke execute on function public.crm_sla_routing_pool(timestamptz)
from public, anon, authenticated, service_role;
