-- The engine's sequences are its own, not the API's: Supabase's default privileges give anon,
-- authenticated and service_role ALL on every new sequence in public, and with it setval(), which
-- could wind crm_lead_sla_events' identity back and make every later claim fail (23505). Nobody
-- but the owner (the engine's triggers) uses them. What they were granted before is recorded, so
-- the rollback gives it back.
-- depends: 0020_board_events 0010_engine_speedups

call crm_sla_migrations.save_privileges(
    '0040_engine_sequences',
    pg_catalog.pg_get_serial_sequence('public.crm_lead_sla_events', 'id')::regclass
);

revoke all on sequence public.crm_lead_sla_events_id_seq
from public, anon, authenticated, service_role;
