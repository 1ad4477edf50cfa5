-- Undo the lead policies. RLS stays enabled: turning it off would open the table.
drop policy if exists "Admins can manage all leads" on public.crm_leads;

drop policy if exists "Agents can view own leads" on public.crm_leads;

drop policy if exists "Agents can update own leads" on public.crm_leads;

drop policy if exists "Service role can manage leads" on public.crm_leads;
