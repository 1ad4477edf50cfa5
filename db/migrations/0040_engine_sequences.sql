-- The engine's sequences are its own, not the API's: Supabase's default privileges give anon,
-- authenticated and service_role ALL on every new sequence in public, and with it setval(), which
-- could wind crm_lead_sla_events' identity back and make every later claim fail (23505). Nobody
-- but the owner (the engine's triggers) uses them. What they were granted before is recorded, so
-- the rollback gives it back.
-- depends: 0020_board_events 0010_engine_speedups

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
    '0040_engine_sequences' as migration,
    c.oid::regclass as object,
    c.relacl as acl,
    '{}'::jsonb as column_acls,
    false as row_security
from pg_catalog.pg_class as c
where c.oid = pg_catalog.pg_get_serial_sequence('public.crm_lead_sla_events', 'id')::regclass
on conflict (migration, object) do nothing;

revoke all on sequence public.crm_lead_sla_events_id_seq
from public, anon, authenticated, service_role;
