-- Says why a claim or first action changed nothing, as an error a client can branch on.
-- Called by claim_lead() and complete_first_action() after their UPDATE matched no row.
create or replace function public.crm_sla_explain_refusal(
    p_caller text, p_uid uuid, p_lead_id uuid, p_action text
)
returns void
language plpgsql
stable
set search_path = ''
as $$
declare
    v_lead public.crm_leads;
    v_lost_reason text;
begin
    select l.* into v_lead from public.crm_leads as l where l.id = p_lead_id;
    if p_caller = 'user' and v_lead.assigned_agent_id is distinct from p_uid then
        -- An agent learns only what its row-level security shows it: that it lost a lead (its
        -- own audit row), never who holds it now, nor whether a lead it cannot see exists.
        select a.reason into v_lost_reason
        from public.crm_lead_reassignments as a
        where a.lead_id = p_lead_id and a.from_agent_id = p_uid
        order by a.created_at desc, a.id desc
        limit 1;
        if v_lost_reason is not null then
            raise exception 'lead % was reassigned away from you', p_lead_id
                using errcode = 'SL004',
                    detail = format('Your latest hold on it ended with a reassignment (%s).',
                        v_lost_reason),
                    hint = 'Its SLA window expired (or an admin moved it); pick up your next lead.';
        end if;
        if v_lead.id is not null or not public.is_admin(p_uid) then
            raise exception 'lead % is not yours', p_lead_id
                using errcode = 'SL002',
                    hint = 'Only the lead''s owner can record a ' || p_action || '.';
        end if;
    end if;
    if v_lead.id is null then
        -- Admins and trusted callers see every lead, so telling them it is missing leaks nothing.
        raise exception 'lead % does not exist', p_lead_id
            using errcode = 'SL001', hint = 'Check the lead id; it may have been deleted.';
    end if;
    if p_action = 'claim' then
        raise exception 'lead % is already claimed', p_lead_id
            using errcode = 'SL003', hint = 'Record the first contact with complete_first_action().';
    end if;
    raise exception 'the first action on lead % is already recorded', p_lead_id
        using errcode = 'SL005', hint = 'Nothing more to do for this lead''s SLA.';
end
$$;

comment on function public.crm_sla_explain_refusal(text, uuid, uuid, text) is
'Internal: raises the SLxxx error that says why a claim or first action was refused';

revoke execute on function public.crm_sla_explain_refusal(text, uuid, uuid, text)
from public, anon, authenticated, service_role;
