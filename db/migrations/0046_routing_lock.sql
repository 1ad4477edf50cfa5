-- Routing serialises on a row only the engine's own functions can lock, replacing the advisory
-- lock any session could take (and so hold up intake of unowned leads and the monitor).
-- depends: 0045_monitor_pause

create table if not exists public.crm_sla_routing_lock (
    id boolean primary key default true check (id)
);

comment on table public.crm_sla_routing_lock is
'One row that routing locks (FOR UPDATE) to run one at a time; no API role may lock it';

insert into public.crm_sla_routing_lock (id) values (true)
on conflict (id) do nothing;

alter table public.crm_sla_routing_lock enable row level security;

revoke all on public.crm_sla_routing_lock from public, anon, authenticated, service_role;
