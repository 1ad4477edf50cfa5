-- Undo 0044: the ladder's columns, table and constraints go.
alter table public.crm_leads
drop column if exists sla_step_done,
drop column if exists sla_step_at;

revoke select (format) on public.crm_sla_webhooks from authenticated, service_role;

alter table public.crm_sla_webhooks drop column if exists format;

drop table if exists public.crm_sla_policy_steps;

alter table public.crm_sla_policies drop column if exists on_breach;

alter table public.crm_sla_teams drop column if exists manager_id;

alter table public.crm_sla_agent_routing drop column if exists manager_id;
