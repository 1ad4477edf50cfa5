-- Row-level security on crm_leads: admins read and write all; an agent reads and updates only
-- the leads it owns (the progress trigger keeps the SLA columns the engine's); the service role
-- manages all; anon nothing. Leads are inserted by the service role (intake) and by admins.
-- depends: 0004_sla_engine_functions

-- crm_leads may be the CRM's own table (Supabase): what this migration changes on it, its grants
-- (table and columns) and its row-level security switch, is recorded first, so that the rollback
-- gives back exactly what was there. A second run keeps the first record.
create table if not exists crm_sla_migrations.saved_privileges (
    migration text not null,
    object regclass not null,
    acl aclitem[],
    column_acls jsonb not null,
    row_security boolean not null,
    primary key (migration, object)
);

insert into crm_sla_migrations.saved_privileges
(migration, object, acl, column_acls, row_security)
select
    '0005_crm_leads_security' as migration,
    c.oid::regclass as object,
    c.relacl as acl,
    coalesce((
        select jsonb_object_agg(a.attname, a.attacl::text[])
        from pg_catalog.pg_attribute as a
        where
            a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
            and a.attacl is not null
    ), '{}') as column_acls,
    c.relrowsecurity as row_security
from pg_catalog.pg_class as c
where c.oid = 'public.crm_leads'::regclass
on conflict (migration, object) do nothing;

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
