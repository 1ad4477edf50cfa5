-- Undo 0051: the lead's timer window and calendar.
alter table public.crm_leads
drop column if exists sla_timer_calendar_id,
drop column if exists sla_timer_window;
