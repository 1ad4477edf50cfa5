-- Webhook hardening: private addresses refused unless allowed, a webhook deactivated by 410 Gone
-- says why, and no API role reads a webhook's signing secret (column-level SELECT).
-- depends: 0033_v0_2_0_indexes_and_view

alter table public.crm_sla_settings
add column if not exists webhook_allow_private boolean not null default false;

comment on column public.crm_sla_settings.webhook_allow_private is
'When true, crm-sla deliver also POSTs to private, loopback, link-local and metadata addresses '
'(checked after resolving the host); false refuses them';

alter table public.crm_sla_webhooks
add column if not exists deactivated_reason text;

comment on column public.crm_sla_webhooks.deactivated_reason is
'Why crm-sla deliver set is_active to false (an endpoint answered 410 Gone), and when; NULL '
'otherwise';

-- The secret is for the deliverer (a trusted session) only: API roles read every other column.
revoke select on public.crm_sla_webhooks from anon, authenticated, service_role;

grant select (id, url, events, is_active, created_at, deactivated_reason)
on public.crm_sla_webhooks to authenticated, service_role;
