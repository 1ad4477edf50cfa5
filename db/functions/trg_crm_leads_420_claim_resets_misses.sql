-- Auto-pause: a claim resets its agent's count of claim windows missed in a row
-- (crm_sla_agent_misses). Fires after an UPDATE on crm_leads that claims a lead (a security
-- definer: an agent's own UPDATE fires it, and only the engine writes the counts).
create or replace function public.crm_leads_claim_resets_misses()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    update public.crm_sla_agent_misses as c set missed_claims = 0
    where c.agent_id = new.assigned_agent_id and c.missed_claims > 0;
    return null;
end
$$;

comment on function public.crm_leads_claim_resets_misses() is
'Trigger: a claim resets the claimer''s count of missed claim windows (auto-pause)';

revoke execute on function public.crm_leads_claim_resets_misses()
from public, anon, authenticated, service_role;

drop trigger if exists crm_leads_420_claim_resets_misses on public.crm_leads;

create trigger crm_leads_420_claim_resets_misses
after update on public.crm_leads
for each row when (new.lead_claimed and not old.lead_claimed)
execute function public.crm_leads_claim_resets_misses();

comment on trigger crm_leads_420_claim_resets_misses on public.crm_leads is
'A claim resets the owner''s count of claim windows missed in a row (auto-pause)';
