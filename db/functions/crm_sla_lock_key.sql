-- The key of one of the engine's advisory locks: hashtext('crm_sla.' || p_name), a namespaced
-- name as pgmq keys its locks, so no other application's small integers collide with ours.
-- The names, here and in harness/locks.py (the one list): 'migrate' (session lock of crm-sla
-- migrate / rollback) and 'monitor' (session lock of a running run_sla_monitor loop). Called by
-- run_sla_monitor(). (Routing locks a row instead, crm_sla_routing_lock, which no API role may.)
-- SQL and immutable, so a call with a constant name is folded into the constant key.
create or replace function public.crm_sla_lock_key(p_name text)
returns bigint
language sql
immutable
parallel safe
as $$
    select pg_catalog.hashtext('crm_sla.' || p_name)::bigint
$$;

comment on function public.crm_sla_lock_key(text) is
'Internal: the advisory lock key of one of the engine''s locks (migrate, monitor)';

revoke execute on function public.crm_sla_lock_key(text) from public, anon, authenticated;
grant execute on function public.crm_sla_lock_key(text) to service_role;
