-- An agent claims a lead it owns: its contact window starts (a late claim is flagged).
-- Called by the owning agent's client (auth.uid()) or the service role; returns the lead.
create or replace function public.claim_lead(p_lead_id uuid)
returns public.crm_leads
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
    -- PL/pgSQL rather than SQL: a SQL function with a SET clause is parsed and planned again
    -- on every call, which cost a third of a claim's time.
    return public.crm_sla_progress_lead(p_lead_id, 'claim');
end
$$;

comment on function public.claim_lead(uuid) is
'The owner (or the service role) claims a lead: the contact window starts';

revoke execute on function public.claim_lead(uuid) from public, anon;
grant execute on function public.claim_lead(uuid) to authenticated, service_role;
