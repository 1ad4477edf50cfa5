-- Undo the version 2 tables (calendars, teams, routing, policies) and the columns that use them.
alter table public.crm_sla_settings
drop column if exists calendar_id,
drop column if exists warn_at;

drop index if exists public.idx_crm_leads_sla_policy;

alter table public.crm_leads drop column if exists sla_policy_id;

drop table if exists public.crm_sla_policies;
drop table if exists public.crm_sla_agent_routing;
drop table if exists public.crm_sla_team_members;
drop table if exists public.crm_sla_teams;
drop table if exists public.crm_sla_holidays;
drop table if exists public.crm_sla_calendar_hours;
drop table if exists public.crm_sla_calendars;
