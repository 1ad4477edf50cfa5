-- Undo the lead policies, and give crm_leads back the grants (table and columns) and row-level
-- security switch it had before 0005 (saved in crm_sla_migrations.saved_privileges). Databases
-- migrated by release 0.1.0 have no record: there RLS stays enabled (turning it off would open the
-- table) and the grants stay as they are.
drop policy if exists "Admins can manage all leads" on public.crm_leads;

drop policy if exists "Agents can view own leads" on public.crm_leads;

drop policy if exists "Agents can update own leads" on public.crm_leads;

drop policy if exists "Service role can manage leads" on public.crm_leads;

call crm_sla_migrations.restore_privileges('0005_crm_leads_security');
