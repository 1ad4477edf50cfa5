-- Checks open hours before they are written (weekday 0-6, opens and closes given and different,
-- opens before 24:00, at most 7 x 8 = 56 stretches a calendar: SL010 otherwise, with nothing
-- written) and notes the calendars they belong to for re-planning
-- (crm_sla_calendar_hours_900_replan). Fires before each row is inserted, updated or deleted in
-- crm_sla_calendar_hours.
create or replace function public.crm_sla_calendar_hours_check()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if tg_op <> 'DELETE' then
        if num_nulls(new.calendar_id, new.weekday, new.opens, new.closes) > 0 then
            raise exception 'open hours need a calendar, a weekday, opens and closes'
                using errcode = 'SL010',
                    hint = 'e.g. (calendar_id, 1, ''09:00'', ''17:00'') for Monday 9 to 5.';
        end if;
        if new.weekday not between 0 and 6 then
            raise exception 'weekday % is out of range', new.weekday
                using errcode = 'SL010',
                    hint = 'Weekdays count as extract(dow): 0 = Sunday, 1 = Monday ... 6 = Saturday.';
        end if;
        if new.opens = new.closes then
            raise exception 'open hours that open and close at % are empty', new.opens
                using errcode = 'SL010',
                    hint = 'For a whole day write opens 00:00, closes 24:00; closes before opens '
                    || 'runs past midnight.';
        end if;
        if new.opens = time '24:00' then
            raise exception 'open hours cannot open at 24:00'
                using errcode = 'SL010',
                    hint = 'Write 00:00 on the next weekday instead.';
        end if;
        if (tg_op = 'INSERT' or new.calendar_id is distinct from old.calendar_id)
            and (
                select count(*) from public.crm_sla_calendar_hours as h
                where h.calendar_id = new.calendar_id
            ) >= 56 then
            raise exception 'calendar % already has 56 open stretches', new.calendar_id
                using errcode = 'SL010',
                    detail = 'A calendar has at most 7 x 8 open stretches (8 a weekday).',
                    hint = 'Merge adjacent stretches, or delete one first.';
        end if;
    end if;
    perform public.crm_sla_calendar_note(array[
        case when tg_op <> 'INSERT' then old.calendar_id end,
        case when tg_op <> 'DELETE' then new.calendar_id end
    ]);
    return case when tg_op = 'DELETE' then old else new end;
end
$$;

comment on function public.crm_sla_calendar_hours_check() is
'Trigger: checks open hours (SL010) and notes their calendar for re-planning';

revoke execute on function public.crm_sla_calendar_hours_check()
from public, anon, authenticated, service_role;

drop trigger if exists crm_sla_calendar_hours_100_check on public.crm_sla_calendar_hours;

create trigger crm_sla_calendar_hours_100_check
before insert or update or delete on public.crm_sla_calendar_hours
for each row execute function public.crm_sla_calendar_hours_check();

comment on trigger crm_sla_calendar_hours_100_check on public.crm_sla_calendar_hours is
'Refuses bad open hours (SL010); notes the calendar for re-planning';
