-- Undo the routing lock row.
drop table if exists public.crm_sla_routing_lock;
