-- Undo the events tables (outbox, webhooks, deliveries) and their settings.
alter table public.crm_sla_settings
drop column if exists webhook_retry_delays,
drop column if exists outbox_keep_days;

drop table if exists public.crm_sla_webhook_deliveries;
drop table if exists public.crm_sla_webhooks;
drop table if exists public.crm_sla_outbox;
