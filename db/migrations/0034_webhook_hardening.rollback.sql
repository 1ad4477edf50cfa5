-- Undo 0034: API roles read the whole webhook row again; the two columns go.
revoke select on public.crm_sla_webhooks from anon, authenticated, service_role;

grant select on public.crm_sla_webhooks to authenticated, service_role;

alter table public.crm_sla_webhooks drop column if exists deactivated_reason;

alter table public.crm_sla_settings drop column if exists webhook_allow_private;
