-- Undoes 0048_stop_the_clock: the pause columns of crm_leads and the policies' pause settings.

alter table public.crm_leads
drop column if exists sla_snoozed_until,
drop column if exists sla_paused_total,
drop column if exists sla_paused_step_left,
drop column if exists sla_paused_warn_left,
drop column if exists sla_paused_left,
drop column if exists sla_paused_at;

alter table public.crm_sla_policies
drop column if exists owner_may_snooze,
drop column if exists pause_when;
