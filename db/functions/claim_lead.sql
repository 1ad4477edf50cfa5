-- An agent claims a lead it owns: its contact window starts (a late claim is flagged).
-- Called by the owning agent's client (auth.uid()) or the service role; returns the lead.
create or replace function public.claim_lead(p_lead_id uuid)
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
begin
    perform public.crm_sla_check_lead_action(v_caller, p_lead_id, 'claim');
    update public.crm_leads as l
    set lead_claimed = true
    where l.id = p_lead_id
        and l.lead_claimed = false
        and (v_caller <> 'user' or l.assigned_agent_id = v_uid)
    returning l.* into v_lead;
    if found then
        return v_lead;
    end if;
    perform public.crm_sla_explain_refusal(v_caller, v_uid, p_lead_id, 'claim');
    return null;  -- not reached: the call above always raises
end
$$;

comment on function public.claim_lead(uuid) is
'The owner (or the service role) claims a lead: the contact window starts';

revoke execute on function public.claim_lead(uuid) from public, anon;
grant execute on function public.claim_lead(uuid) to authenticated, service_role;
