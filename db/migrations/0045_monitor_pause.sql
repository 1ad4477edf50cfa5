-- Pausing the scheduled monitor: a row only the tables' owner and the service role may write,
-- replacing the advisory lock any session could take to pause it.
-- depends: 0020_board_events

create table if not exists public.crm_sla_monitor_pause (
    id boolean primary key default true check (id),
    paused_by_pid integer,
    paused_by_backend_start timestamptz,
    paused_at timestamptz,
    paused_by text
);

comment on table public.crm_sla_monitor_pause is
'Pauses run_sla_monitor while the session named here lives (one row; owner and service role only)';

comment on column public.crm_sla_monitor_pause.paused_by_pid is
'The backend that paused the monitor (NULL: not paused); the pause ends when that session ends';

comment on column public.crm_sla_monitor_pause.paused_by_backend_start is
'When that backend started, so that a later backend reusing its pid is not mistaken for it';

comment on column public.crm_sla_monitor_pause.paused_by is
'Who paused it and why, for crm-sla status (for example crm-sla simulate)';

insert into public.crm_sla_monitor_pause (id) values (true)
on conflict (id) do nothing;

alter table public.crm_sla_monitor_pause enable row level security;

revoke all on public.crm_sla_monitor_pause from public, anon, authenticated, service_role;

grant select, update on public.crm_sla_monitor_pause to service_role;

drop policy if exists "Service role pauses the monitor" on public.crm_sla_monitor_pause;

create policy "Service role pauses the monitor"
on public.crm_sla_monitor_pause for all to service_role
using (true) with check (true);

comment on policy "Service role pauses the monitor" on public.crm_sla_monitor_pause is
'Only the service role (and the tables'' owner) may pause or resume the scheduled monitor';
