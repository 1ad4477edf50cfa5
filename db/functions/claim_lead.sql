-- An agent claims a lead it owns: its contact window starts (a late claim is flagged).
-- Called by the owning agent's client (auth.uid()) or the service role; returns the lead.
create or replace function public.claim_lead(p_lead_id uuid)
returns public.crm_leads
language sql
volatile
security definer
set search_path = ''
as $$
    select public.crm_sla_progress_lead(p_lead_id, 'claim')
$$;

comment on function public.claim_lead(uuid) is
'The owner (or the service role) claims a lead: the contact window starts';

revoke execute on function public.claim_lead(uuid) from public, anon;
grant execute on function public.claim_lead(uuid) to authenticated, service_role;
