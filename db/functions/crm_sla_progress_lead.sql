-- Records a claim ('claim') or a first action ('first action') on a lead, for its owner (JWT) or
-- a trusted caller, and says with an SLxxx error why not when it cannot. Called by claim_lead()
-- and complete_first_action(); the progress trigger does the timers.
create or replace function public.crm_sla_progress_lead(p_lead_id uuid, p_action text)
returns public.crm_leads
language plpgsql
volatile
set search_path = ''
as $$
declare
    v_caller constant text := public.crm_sla_caller();
    v_uid constant uuid := auth.uid();
    v_lead public.crm_leads;
begin
    if v_caller = 'anon' then
        raise exception 'a % needs a signed-in agent', p_action
            using errcode = 'SL006',
                hint = 'Call it with the owning agent''s JWT, or as the service role.';
    end if;
    if p_lead_id is null then
        raise exception 'p_lead_id must not be null'
            using errcode = 'SL010', hint = 'Pass the id of a lead you own.';
    end if;
    -- One statement, so a reassignment racing it either happened before (no row matches: the
    -- owner changed) or waits for it; the due test is on the row it locks.
    update public.crm_leads as l
    set
        lead_claimed = true,
        first_action_completed = l.first_action_completed or p_action = 'first action'
    where l.id = p_lead_id
        and (v_caller <> 'user' or l.assigned_agent_id = v_uid)
        and case p_action
            when 'claim' then l.lead_claimed = false
            else l.first_action_completed = false
        end
    returning l.* into v_lead;
    if found then
        return v_lead;
    end if;
    perform public.crm_sla_explain_refusal(v_caller, v_uid, p_lead_id, p_action);
    return null;  -- not reached: the call above always raises
end
$$;

comment on function public.crm_sla_progress_lead(uuid, text) is
'Internal: the claim or first action behind claim_lead() and complete_first_action()';

revoke execute on function public.crm_sla_progress_lead(uuid, text)
from public, anon, authenticated, service_role;
