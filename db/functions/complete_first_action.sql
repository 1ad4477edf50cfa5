-- An agent records the first contact with a lead it owns (claiming it too if it had not).
-- Called by the owning agent's client (auth.uid()) or the service role; returns the lead.
create or replace function public.complete_first_action(p_lead_id uuid)
returns public.crm_leads
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
    -- PL/pgSQL rather than SQL: a SQL function with a SET clause is parsed and planned again
    -- on every call, which cost a third of a claim's time.
    return public.crm_sla_progress_lead(p_lead_id, 'first action');
end
$$;

comment on function public.complete_first_action(uuid) is
'The owner (or the service role) records the first contact: the contact timer is done';

revoke execute on function public.complete_first_action(uuid) from public, anon;
grant execute on function public.complete_first_action(uuid) to authenticated, service_role;
