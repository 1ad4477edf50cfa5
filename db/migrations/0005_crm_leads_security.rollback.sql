-- Undo the lead policies, and give crm_leads back the grants (table and columns) and row-level
-- security switch it had before 0005 (recorded in crm_sla_migrations.saved_privileges). Databases
-- migrated by release 0.1.0 have no record: there RLS stays enabled (turning it off would open the
-- table) and the grants stay as they are.
drop policy if exists "Admins can manage all leads" on public.crm_leads;

drop policy if exists "Agents can view own leads" on public.crm_leads;

drop policy if exists "Agents can update own leads" on public.crm_leads;

drop policy if exists "Service role can manage leads" on public.crm_leads;

do $$
declare
    v_saved record;
    v_item record;
begin
    if to_regclass('crm_sla_migrations.saved_privileges') is null then
        return;
    end if;
    select s.* into v_saved
    from crm_sla_migrations.saved_privileges as s
    where s.migration = '0005_crm_leads_security' and s.object = 'public.crm_leads'::regclass;
    if found then
        -- Everything granted now, except the owner's own rights, goes (columns included) ...
        for v_item in
            select distinct a.grantee
            from pg_catalog.pg_class as c, pg_catalog.aclexplode(c.relacl) as a
            where c.oid = 'public.crm_leads'::regclass and a.grantee <> c.relowner
            union
            select distinct a.grantee
            from pg_catalog.pg_class as c
            inner join pg_catalog.pg_attribute as t on c.oid = t.attrelid
            cross join pg_catalog.aclexplode(t.attacl) as a
            where c.oid = 'public.crm_leads'::regclass and a.grantee <> c.relowner
        loop
            execute format(
                'revoke all on table public.crm_leads from %s',
                case when v_item.grantee = 0 then 'public'
                    else quote_ident(pg_catalog.pg_get_userbyid(v_item.grantee)) end
            );
        end loop;
        -- ... and what was granted before comes back.
        for v_item in
            select a.grantee, a.privilege_type, a.is_grantable, null::text as col
            from pg_catalog.pg_class as c, pg_catalog.aclexplode(v_saved.acl) as a
            where c.oid = 'public.crm_leads'::regclass and a.grantee <> c.relowner
            union all
            select a.grantee, a.privilege_type, a.is_grantable, j.key as col
            from pg_catalog.pg_class as c
            cross join jsonb_each(v_saved.column_acls) as j
            cross join lateral pg_catalog.aclexplode(
                array(select jsonb_array_elements_text(j.value))::aclitem []
            ) as a
            where c.oid = 'public.crm_leads'::regclass and a.grantee <> c.relowner
        loop
            execute format(
                'grant %s%s on table public.crm_leads to %s%s',
                v_item.privilege_type,
                case when v_item.col is null then '' else format(' (%I)', v_item.col) end,
                case when v_item.grantee = 0 then 'public'
                    else quote_ident(pg_catalog.pg_get_userbyid(v_item.grantee)) end,
                case when v_item.is_grantable then ' with grant option' else '' end
            );
        end loop;
        if not v_saved.row_security then
            alter table public.crm_leads disable row level security;
        end if;
        delete from crm_sla_migrations.saved_privileges as s
        where s.migration = '0005_crm_leads_security';
    end if;
    if not exists (select from crm_sla_migrations.saved_privileges) then
        drop table crm_sla_migrations.saved_privileges;
    end if;
end
$$;
