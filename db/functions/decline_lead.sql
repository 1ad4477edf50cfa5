-- An agent hands back an unclaimed lead it owns: routed at once to the next eligible agent other
-- than the decliner (reason declined, stage claim_window, notes = the reason, no breach flag).
-- Called by the owning agent's client (auth.uid()) or the service role on the owner's behalf.
create or replace function public.decline_lead(p_lead_id uuid, p_reason text default null)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
    v_caller constant text := public.crm_sla_caller();
    v_uid constant uuid := auth.uid();
    v_now constant timestamptz := public.sla_now();
    v_lead public.crm_leads;
    v_route record;
begin
    if v_caller = 'anon' then
        raise exception 'sign in to decline a lead'
            using errcode = 'SL006', hint = 'Call decline_lead with the owning agent''s JWT.';
    end if;
    if p_lead_id is null then
        raise exception 'decline_lead needs a lead id'
            using errcode = 'SL010', hint = 'Call decline_lead(lead_id, reason).';
    end if;
    if length(p_reason) > 2000 then
        raise exception 'the reason is % characters long; at most 2000 are kept', length(p_reason)
            using errcode = 'SL010', hint = 'Shorten the reason.';
    end if;

    -- One order for every router: the routing row first, then the lead's row.
    perform from public.crm_sla_routing_lock for update;
    select l.* into v_lead from public.crm_leads as l where l.id = p_lead_id for update;
    if v_caller = 'user' and v_lead.assigned_agent_id is distinct from v_uid then
        -- Whether or not it exists: an agent learns no more than its row-level security shows.
        raise exception 'lead % is not yours', p_lead_id
            using errcode = 'SL002',
                hint = 'Only the lead''s owner can decline it; admins move leads with '
                || 'reassign_lead().';
    end if;
    if v_lead.id is null then
        raise exception 'lead % does not exist', p_lead_id
            using errcode = 'SL001', hint = 'Check the lead id; it may have been deleted.';
    end if;
    if v_lead.assigned_agent_id is null then
        raise exception 'lead % has no owner to decline it', p_lead_id
            using errcode = 'SL002', hint = 'It waits in the overflow queue for an agent.';
    end if;
    if v_lead.lead_claimed then
        raise exception 'lead % is already claimed', p_lead_id
            using errcode = 'SL003',
                hint = 'A claimed lead is yours to contact; ask an admin to reassign it.';
    end if;

    select r.agent_id, r.escalate into v_route
    from public.crm_sla_route_leads(array[p_lead_id], v_now, false, null) as r;
    if v_route.agent_id is null then
        raise exception 'nobody else can take lead % now', p_lead_id
            using errcode = 'SL007',
                detail = 'Every other agent is inactive, not accepting leads, absent, off shift, '
                || 'at capacity or outside the lead''s team.',
                hint = 'Keep it and claim it, or ask an admin (crm_sla_explain_routing shows why).';
    end if;

    if v_route.escalate then
        v_route.agent_id := public.crm_sla_escalation_target(
            v_lead.assigned_agent_id, v_route.agent_id
        );
    end if;
    perform public.crm_sla_apply_reassignments(
        array[p_lead_id], array[v_route.agent_id], array['declined'], array[v_route.escalate],
        v_lead.assigned_agent_id, p_reason, v_now
    );
end
$$;

comment on function public.decline_lead(uuid, text) is
'The owner hands back an unclaimed lead: routed at once to another eligible agent (declined)';

revoke execute on function public.decline_lead(uuid, text)
from public, anon, authenticated, service_role;
grant execute on function public.decline_lead(uuid, text) to authenticated, service_role;
