-- Validates a claim or first-action call before it touches the lead: who may call, and the id.
-- Called by claim_lead() and complete_first_action().
create or replace function public.crm_sla_check_lead_action(
    p_caller text, p_lead_id uuid, p_action text
)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
    if p_caller = 'anon' then
        raise exception 'a % needs a signed-in agent', p_action
            using errcode = 'SL006',
                hint = 'Call it with the owning agent''s JWT, or as the service role.';
    end if;
    if p_lead_id is null then
        raise exception 'p_lead_id must not be null'
            using errcode = 'SL010', hint = 'Pass the id of a lead you own.';
    end if;
end
$$;

comment on function public.crm_sla_check_lead_action(text, uuid, text) is
'Internal: refuses anonymous callers and a NULL lead id for claim_lead / complete_first_action';

revoke execute on function public.crm_sla_check_lead_action(text, uuid, text)
from public, anon, authenticated, service_role;
