-- Events: the outbox every engine event is written to (in the transaction that caused it), the
-- webhooks that receive them and one delivery row per event and webhook, and the settings that
-- keep the outbox short and space the retries. The functions come with 0071.
-- depends: 0051_plpgsql_check_clean

create table if not exists public.crm_sla_outbox (
    id bigint generated always as identity primary key,
    event text not null,
    lead_id uuid,
    agent_id uuid,
    payload jsonb not null,
    created_at timestamptz not null default now()
);

comment on table public.crm_sla_outbox is
'Every SLA event (assigned, reassigned, escalated, warning, no_eligible_agent, claimed, '
'contacted), written by the engine in the transaction that caused it; an agent reads its own';
comment on column public.crm_sla_outbox.event is
'assigned, reassigned, escalated, warning, no_eligible_agent, claimed or contacted';
comment on column public.crm_sla_outbox.agent_id is
'The agent the event is for: the new owner, the warned owner, the owner left with the lead';
comment on column public.crm_sla_outbox.payload is
'What webhooks receive: event, lead_id, agent_id, stage, expires_at, at (SLA clock), and '
'from_agent_id and reason for reassigned and escalated';

-- No index on agent_id or lead_id: every index costs bulk intake (one outbox row a lead), and
-- Realtime and the deliveries do not need one. Add (agent_id, id) if clients list their events.

create table if not exists public.crm_sla_webhooks (
    id uuid primary key default gen_random_uuid(),
    url text not null,
    secret text not null,
    events text[],
    is_active boolean not null default true,
    created_at timestamptz not null default now()
);

comment on table public.crm_sla_webhooks is
'HTTP endpoints that receive the events written after they were created, signed as Standard '
'Webhooks says; admins and the service role only';
comment on column public.crm_sla_webhooks.url is
'An http:// or https:// URL the events are POSTed to';
comment on column public.crm_sla_webhooks.secret is
'The signing secret, whsec_<base64 of 24 to 64 bytes>; generated when inserted as NULL';
comment on column public.crm_sla_webhooks.events is
'The events it receives; NULL: every event';

create table if not exists public.crm_sla_webhook_deliveries (
    webhook_id uuid references public.crm_sla_webhooks (id) on delete cascade,
    outbox_id bigint references public.crm_sla_outbox (id) on delete cascade,
    status text not null check (status in ('pending', 'delivered', 'dead')),
    attempts integer not null default 0,
    next_attempt_at timestamptz,
    last_error text,
    delivered_at timestamptz,
    primary key (webhook_id, outbox_id)
);

comment on table public.crm_sla_webhook_deliveries is
'One row per event and webhook: pending until the endpoint answers 2xx (delivered) or the '
'retries of crm_sla_settings.webhook_retry_delays run out (dead)';
comment on column public.crm_sla_webhook_deliveries.next_attempt_at is
'When crm-sla deliver tries it next (wall clock)';
comment on column public.crm_sla_webhook_deliveries.last_error is
'What the last failed attempt got: the HTTP status and the start of the body, or the error';

-- What crm-sla deliver claims: the due pending deliveries, earliest first.
create index if not exists idx_crm_sla_webhook_deliveries_due
on public.crm_sla_webhook_deliveries (next_attempt_at)
where status = 'pending';

-- Deleting outbox rows (the purge) cascades here.
create index if not exists idx_crm_sla_webhook_deliveries_outbox
on public.crm_sla_webhook_deliveries (outbox_id);

alter table public.crm_sla_settings
add column if not exists outbox_keep_days integer not null default 30
check (outbox_keep_days > 0),
add column if not exists webhook_retry_delays interval[] not null
default '{5 seconds, 5 minutes, 30 minutes, 2 hours, 5 hours, 10 hours, 10 hours}'
check (interval '0' < all(webhook_retry_delays));

comment on column public.crm_sla_settings.outbox_keep_days is
'The daily purge deletes outbox rows older than this whose deliveries are finished';
comment on column public.crm_sla_settings.webhook_retry_delays is
'The wait before each retry of a failed delivery; after the last, the delivery is dead';

-- Row-level security. The outbox: admins read every event, an agent its own, the service role
-- all; only the engine writes. Webhooks and deliveries: admins and the service role.
alter table public.crm_sla_outbox enable row level security;
alter table public.crm_sla_webhooks enable row level security;
alter table public.crm_sla_webhook_deliveries enable row level security;

revoke all on public.crm_sla_outbox, public.crm_sla_webhooks, public.crm_sla_webhook_deliveries
from public, anon, authenticated, service_role;

revoke all on sequence public.crm_sla_outbox_id_seq
from public, anon, authenticated, service_role;

grant select on public.crm_sla_outbox to authenticated, service_role;

grant select, insert, update, delete on public.crm_sla_webhooks to authenticated, service_role;

grant select, update, delete on public.crm_sla_webhook_deliveries to authenticated, service_role;

drop policy if exists "Admins and agents read their events" on public.crm_sla_outbox;

create policy "Admins and agents read their events"
on public.crm_sla_outbox for select to authenticated
using (
    agent_id = (select auth.uid())
    or (select public.is_admin((select auth.uid())))
);

comment on policy "Admins and agents read their events" on public.crm_sla_outbox is
'An agent reads the events addressed to it; admins read every event';

drop policy if exists "Service role reads every event" on public.crm_sla_outbox;

create policy "Service role reads every event"
on public.crm_sla_outbox for select to service_role
using (true);

comment on policy "Service role reads every event" on public.crm_sla_outbox is
'The service role reads every event (it does not write them: only the engine does)';

drop policy if exists "Admins manage webhooks" on public.crm_sla_webhooks;

create policy "Admins manage webhooks"
on public.crm_sla_webhooks for all to authenticated
using ((select public.is_admin((select auth.uid()))))
with check ((select public.is_admin((select auth.uid()))));

comment on policy "Admins manage webhooks" on public.crm_sla_webhooks is
'Admins add, read, change and remove webhooks';

drop policy if exists "Service role manages webhooks" on public.crm_sla_webhooks;

create policy "Service role manages webhooks"
on public.crm_sla_webhooks for all to service_role
using (true) with check (true);

comment on policy "Service role manages webhooks" on public.crm_sla_webhooks is
'The service role adds, reads, changes and removes webhooks';

drop policy if exists "Admins manage deliveries" on public.crm_sla_webhook_deliveries;

create policy "Admins manage deliveries"
on public.crm_sla_webhook_deliveries for all to authenticated
using ((select public.is_admin((select auth.uid()))))
with check ((select public.is_admin((select auth.uid()))));

comment on policy "Admins manage deliveries" on public.crm_sla_webhook_deliveries is
'Admins read deliveries, retry dead ones (status pending) and delete them';

drop policy if exists "Service role manages deliveries" on public.crm_sla_webhook_deliveries;

create policy "Service role manages deliveries"
on public.crm_sla_webhook_deliveries for all to service_role
using (true) with check (true);

comment on policy "Service role manages deliveries" on public.crm_sla_webhook_deliveries is
'The service role reads deliveries, retries dead ones and deletes them';
