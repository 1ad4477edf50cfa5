-- Re-plans, in the same transaction, every running timer that follows a calendar this statement
-- changed: a calendar's zone, its open hours or its holidays (noted by the tables' 100_check
-- triggers in crm_sla_calendar_noted()). One function behind the three tables' triggers, which
-- fire after each statement that writes them.
create or replace function public.crm_sla_calendar_replan()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_ids constant uuid [] := public.crm_sla_calendar_noted();
begin
    if pg_catalog.cardinality(v_ids) > 0 then
        perform public.crm_sla_replan_calendars(v_ids);
    end if;
    return null;
end
$$;

comment on function public.crm_sla_calendar_replan() is
'Trigger: re-plans the running timers that follow the calendars a statement changed';

revoke execute on function public.crm_sla_calendar_replan()
from public, anon, authenticated, service_role;

drop trigger if exists crm_sla_calendars_900_replan on public.crm_sla_calendars;

create trigger crm_sla_calendars_900_replan
after update on public.crm_sla_calendars
for each statement execute function public.crm_sla_calendar_replan();

comment on trigger crm_sla_calendars_900_replan on public.crm_sla_calendars is
'Re-plans the running timers of the calendars this statement changed, in its transaction';

drop trigger if exists crm_sla_calendar_hours_900_replan on public.crm_sla_calendar_hours;

create trigger crm_sla_calendar_hours_900_replan
after insert or update or delete on public.crm_sla_calendar_hours
for each statement execute function public.crm_sla_calendar_replan();

comment on trigger crm_sla_calendar_hours_900_replan on public.crm_sla_calendar_hours is
'Re-plans the running timers of the calendars this statement changed, in its transaction';

drop trigger if exists crm_sla_holidays_900_replan on public.crm_sla_holidays;

create trigger crm_sla_holidays_900_replan
after insert or update or delete on public.crm_sla_holidays
for each statement execute function public.crm_sla_calendar_replan();

comment on trigger crm_sla_holidays_900_replan on public.crm_sla_holidays is
'Re-plans the running timers of the calendars this statement changed, in its transaction';
