-- Give the engine's sequences back the grants they had before 0040.
do $$
declare
    v_saved record;
    v_item record;
begin
    if to_regclass('crm_sla_migrations.saved_privileges') is null then
        return;
    end if;
    for v_saved in
        select s.object, s.acl from crm_sla_migrations.saved_privileges as s
        where s.migration = '0040_engine_sequences'
    loop
        execute format(
            'revoke all on sequence %s from public, anon, authenticated, service_role',
            v_saved.object
        );
        for v_item in
            select a.grantee, a.privilege_type, a.is_grantable
            from pg_catalog.pg_class as c, pg_catalog.aclexplode(v_saved.acl) as a
            where c.oid = v_saved.object and a.grantee <> c.relowner
        loop
            execute format(
                'grant %s on sequence %s to %s%s', v_item.privilege_type, v_saved.object,
                case when v_item.grantee = 0 then 'public'
                    else quote_ident(pg_catalog.pg_get_userbyid(v_item.grantee)) end,
                case when v_item.is_grantable then ' with grant option' else '' end
            );
        end loop;
    end loop;
    delete from crm_sla_migrations.saved_privileges as s
    where s.migration = '0040_engine_sequences';
    if not exists (select from crm_sla_migrations.saved_privileges) then
        drop table crm_sla_migrations.saved_privileges;
    end if;
end
$$;
