-- Row-level security on crm_leads: admins read and write all; an agent reads and updates only
-- the leads it owns (the progress trigger keeps the SLA columns the engine's); the service role
-- manages all; anon nothing. Leads are inserted by the service role (intake) and by admins.
-- depends: 0004_sla_engine_functions

alter table public.crm_leads enable row level security;

revoke all on public.crm_leads from public, anon, authenticated, service_role;

grant select, insert, update, delete on public.crm_leads to authenticated, service_role;

do $$
begin
    if not exists (
        select from pg_catalog.pg_policies
        where schemaname = 'public' and tablename = 'crm_leads'
            and policyname = 'Admins can manage all leads'
    ) then
        create policy "Admins can manage all leads"
        on public.crm_leads for all to authenticated
        using ((select public.is_admin((select auth.uid()))))
        with check ((select public.is_admin((select auth.uid()))));
    end if;
    if not exists (
        select from pg_catalog.pg_policies
        where schemaname = 'public' and tablename = 'crm_leads'
            and policyname = 'Agents can view own leads'
    ) then
        create policy "Agents can view own leads"
        on public.crm_leads for select to authenticated
        using (assigned_agent_id = (select auth.uid()));
    end if;
    if not exists (
        select from pg_catalog.pg_policies
        where schemaname = 'public' and tablename = 'crm_leads'
            and policyname = 'Agents can update own leads'
    ) then
        create policy "Agents can update own leads"
        on public.crm_leads for update to authenticated
        using (assigned_agent_id = (select auth.uid()))
        with check (assigned_agent_id = (select auth.uid()));
    end if;
    if not exists (
        select from pg_catalog.pg_policies
        where schemaname = 'public' and tablename = 'crm_leads'
            and policyname = 'Service role can manage leads'
    ) then
        create policy "Service role can manage leads"
        on public.crm_leads for all to service_role
        using (true) with check (true);
    end if;
end
$$;

comment on policy "Admins can manage all leads" on public.crm_leads is
'Admins read, insert, update and delete every lead';

comment on policy "Agents can view own leads" on public.crm_leads is
'An agent reads only the leads it owns';

comment on policy "Agents can update own leads" on public.crm_leads is
'An agent updates only the leads it owns (the SLA columns stay the engine''s)';

comment on policy "Service role can manage leads" on public.crm_leads is
'The service role (intake, back office) manages every lead';
