-- Row-level security on crm_leads: admins read and write all; an agent reads and updates only
-- the leads it owns (the progress trigger keeps the SLA columns the engine's); the service role
-- manages all; anon nothing. Leads are inserted by the service role (intake) and by admins.
-- depends: 0004_sla_engine_functions

-- crm_leads may be the CRM's own table (Supabase): what this migration changes on it, its grants
-- (table and columns) and its row-level security switch, is recorded first, so that the rollback
-- gives back exactly what was there (db/support/saved_privileges.sql).
call crm_sla_migrations.save_privileges('0005_crm_leads_security', 'public.crm_leads');

alter table public.crm_leads enable row level security;

revoke all on public.crm_leads from public, anon, authenticated, service_role;

grant select, insert, update, delete on public.crm_leads to authenticated, service_role;

drop policy if exists "Admins can manage all leads" on public.crm_leads;

create policy "Admins can manage all leads"
on public.crm_leads for all to authenticated
using ((select public.is_admin((select auth.uid()))))
with check ((select public.is_admin((select auth.uid()))));

drop policy if exists "Agents can view own leads" on public.crm_leads;

create policy "Agents can view own leads"
on public.crm_leads for select to authenticated
using (assigned_agent_id = (select auth.uid()));

drop policy if exists "Agents can update own leads" on public.crm_leads;

create policy "Agents can update own leads"
on public.crm_leads for update to authenticated
using (assigned_agent_id = (select auth.uid()))
with check (assigned_agent_id = (select auth.uid()));

drop policy if exists "Service role can manage leads" on public.crm_leads;

create policy "Service role can manage leads"
on public.crm_leads for all to service_role
using (true) with check (true);

comment on policy "Admins can manage all leads" on public.crm_leads is
'Admins read, insert, update and delete every lead';

comment on policy "Agents can view own leads" on public.crm_leads is
'An agent reads only the leads it owns';

comment on policy "Agents can update own leads" on public.crm_leads is
'An agent updates only the leads it owns (the SLA columns stay the engine''s)';

comment on policy "Service role can manage leads" on public.crm_leads is
'The service role (intake, back office) manages every lead';
