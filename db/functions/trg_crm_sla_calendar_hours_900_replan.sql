-- Re-plans, in the same transaction, every running timer that follows a calendar this statement
-- changed (noted by crm_sla_calendar_hours_100_check). Fires after each INSERT, UPDATE or DELETE
-- statement on crm_sla_calendar_hours.
create or replace function public.crm_sla_calendar_hours_replan()
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

comment on function public.crm_sla_calendar_hours_replan() is
'Trigger: re-plans the running timers that follow the calendars a statement changed';

revoke execute on function public.crm_sla_calendar_hours_replan()
from public, anon, authenticated, service_role;

drop trigger if exists crm_sla_calendar_hours_900_replan on public.crm_sla_calendar_hours;

create trigger crm_sla_calendar_hours_900_replan
after insert or update or delete on public.crm_sla_calendar_hours
for each statement execute function public.crm_sla_calendar_hours_replan();

comment on trigger crm_sla_calendar_hours_900_replan on public.crm_sla_calendar_hours is
'Re-plans the running timers of the calendars this statement changed, in its transaction';
