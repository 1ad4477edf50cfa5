-- Migration support: what a migration changes on an object it did not make, or that it makes
-- under someone else's default privileges (a table's and its columns' grants, the row-level
-- security switch), is saved first with save_privileges() and given back exactly by its rollback
-- with restore_privileges(). The harness creates these in schema crm_sla_migrations, beside
-- yoyo's log, before it migrates or rolls back (harness/migrate.py).
create table if not exists crm_sla_migrations.saved_privileges (
    migration text not null,
    object regclass not null,
    acl aclitem[],
    column_acls jsonb not null,
    row_security boolean not null,
    primary key (migration, object)
);

comment on table crm_sla_migrations.saved_privileges is
'Grants and RLS switches a migration changed, as they were before it: its rollback restores them';

-- Records the object's grants as they are now; a second call for the same migration keeps the
-- first record (the migration ran twice).
create or replace procedure crm_sla_migrations.save_privileges(
    p_migration text, p_object regclass
)
language sql
as $$
    insert into crm_sla_migrations.saved_privileges
    (migration, object, acl, column_acls, row_security)
    select
        p_migration as migration,
        c.oid::regclass as object,
        c.relacl as acl,
        coalesce((
            select jsonb_object_agg(a.attname, a.attacl::text [])
            from pg_catalog.pg_attribute as a
            where
                a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                and a.attacl is not null
        ), '{}') as column_acls,
        c.relrowsecurity as row_security
    from pg_catalog.pg_class as c
    where c.oid = p_object
    on conflict (migration, object) do nothing
$$;

-- Gives every object the migration saved exactly the grants (table and columns) and RLS switch
-- it had, then forgets the record. Objects that are gone by then are skipped.
create or replace procedure crm_sla_migrations.restore_privileges(p_migration text)
language plpgsql
as $$
declare
    v_saved record;
    v_item record;
    v_kind text;
begin
    for v_saved in
        select s.object::oid as oid, s.acl, s.column_acls, s.row_security, c.relkind
        from crm_sla_migrations.saved_privileges as s
        inner join pg_catalog.pg_class as c on s.object = c.oid
        where s.migration = p_migration
    loop
        v_kind := case when v_saved.relkind = 'S' then 'sequence' else 'table' end;
        -- Everything granted now, except the owner's own rights, goes (columns included) ...
        for v_item in
            select distinct a.grantee
            from pg_catalog.pg_class as c
            cross join pg_catalog.aclexplode(c.relacl) as a
            where c.oid = v_saved.oid and a.grantee <> c.relowner
            union
            select distinct a.grantee
            from pg_catalog.pg_class as c
            inner join pg_catalog.pg_attribute as t on c.oid = t.attrelid
            cross join pg_catalog.aclexplode(t.attacl) as a
            where c.oid = v_saved.oid and a.grantee <> c.relowner
        loop
            execute format(
                'revoke all on %s %s from %s', v_kind, v_saved.oid::regclass,
                case when v_item.grantee = 0 then 'public'
                    else quote_ident(pg_catalog.pg_get_userbyid(v_item.grantee)) end
            );
        end loop;
        -- ... and what was granted before comes back.
        for v_item in
            select a.grantee, a.privilege_type, a.is_grantable, null::text as col
            from pg_catalog.pg_class as c
            cross join pg_catalog.aclexplode(v_saved.acl) as a
            where c.oid = v_saved.oid and a.grantee <> c.relowner
            union all
            select a.grantee, a.privilege_type, a.is_grantable, j.key as col
            from pg_catalog.pg_class as c
            cross join jsonb_each(v_saved.column_acls) as j
            cross join lateral pg_catalog.aclexplode(
                array(select jsonb_array_elements_text(j.value))::aclitem []
            ) as a
            where c.oid = v_saved.oid and a.grantee <> c.relowner
        loop
            execute format(
                'grant %s%s on %s %s to %s%s',
                v_item.privilege_type,
                case when v_item.col is null then '' else format(' (%I)', v_item.col) end,
                v_kind, v_saved.oid::regclass,
                case when v_item.grantee = 0 then 'public'
                    else quote_ident(pg_catalog.pg_get_userbyid(v_item.grantee)) end,
                case when v_item.is_grantable then ' with grant option' else '' end
            );
        end loop;
        if v_kind = 'table' then
            execute format(
                'alter table %s %s row level security', v_saved.oid::regclass,
                case when v_saved.row_security then 'enable' else 'disable' end
            );
        end if;
    end loop;
    delete from crm_sla_migrations.saved_privileges as s where s.migration = p_migration;
end
$$;
