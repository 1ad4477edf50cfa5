-- Manual reassignment: moves a lead to another active agent, with an audit row (reason manual);
-- the target is checked by the router (crm_sla_route_leads).
-- Called by admins (reassigned_by = the admin) and the service role (the system actor).
create or replace function public.reassign_lead(
    p_lead_id uuid, p_to_agent_id uuid, p_notes text default null
)
returns public.crm_leads
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
    v_caller constant text := public.crm_sla_caller();
    v_uid constant uuid := auth.uid();
    v_lead public.crm_leads;
    v_agent public.crm_agents;
    v_reason text;
begin
    if v_caller = 'anon' or (v_caller = 'user' and not public.is_admin(v_uid)) then
        raise exception 'only admins and the service role can reassign leads'
            using errcode = 'SL006',
                hint = 'Ask an admin; agents lose leads only by missing an SLA window.';
    end if;
    if p_lead_id is null or p_to_agent_id is null then
        raise exception 'reassign_lead needs a lead id and an agent id, got (%, %)',
            coalesce(p_lead_id::text, 'NULL'), coalesce(p_to_agent_id::text, 'NULL')
            using errcode = 'SL010', hint = 'Call reassign_lead(lead_id, to_agent_id, notes).';
    end if;
    if length(p_notes) > 2000 then
        raise exception 'notes are % characters long; at most 2000 are kept', length(p_notes)
            using errcode = 'SL010', hint = 'Shorten the notes.';
    end if;

    select l.* into v_lead from public.crm_leads as l where l.id = p_lead_id for update;
    if not found then
        raise exception 'lead % does not exist', p_lead_id
            using errcode = 'SL001', hint = 'Check the lead id; it may have been deleted.';
    end if;
    -- The router's own verdict on the target (crm_sla_route_leads, as crm_sla_explain_routing shows
    -- it): a manual move may override the routing preferences (accepting leads, team, shift,
    -- cap: the admin's call), never an inactive target or the current owner.
    select r.reason into v_reason
    from public.crm_sla_route_leads(array[p_lead_id], public.sla_now(), true, null) as r
    where r.agent_id = p_to_agent_id;
    if not found then
        select a.* into v_agent from public.crm_agents as a where a.id = p_to_agent_id;
        if not found then
            raise exception 'agent % does not exist', p_to_agent_id
                using errcode = 'SL007', hint = 'Pass the id of an active agent from crm_agents.';
        end if;
        raise exception 'the system actor cannot own leads'
            using errcode = 'SL007', hint = 'Pass the id of an active agent or admin.';
    end if;
    if v_reason = 'current owner' then
        raise exception 'lead % already belongs to agent %', p_lead_id, p_to_agent_id
            using errcode = 'SL008', hint = 'Pick a different agent.';
    end if;
    if v_reason = 'inactive' then
        select a.* into v_agent from public.crm_agents as a where a.id = p_to_agent_id;
        raise exception 'agent % (%) is inactive', p_to_agent_id, v_agent.full_name
            using errcode = 'SL007', hint = 'Reactivate the agent first, or pick an active one.';
    end if;

    perform public.crm_sla_apply_reassignments(
        array[p_lead_id], array[p_to_agent_id], array['manual'], array[false],
        case
            when v_caller = 'user' then v_uid
            else public.crm_sla_system_actor()
        end,
        p_notes,
        public.sla_now()
    );
    select l.* into v_lead from public.crm_leads as l where l.id = p_lead_id;
    return v_lead;
end
$$;

comment on function public.reassign_lead(uuid, uuid, text) is
'Manual reassignment by an admin or the service role: new owner, fresh claim window, audit row';

revoke execute on function public.reassign_lead(uuid, uuid, text) from public, anon;
grant execute on function public.reassign_lead(uuid, uuid, text) to authenticated, service_role;
