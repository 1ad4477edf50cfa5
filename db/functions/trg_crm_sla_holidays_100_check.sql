-- Checks a holiday before it is written (calendar and day given, not already a holiday of that
-- calendar, at most 10,000 holidays a calendar: SL010 otherwise, with nothing written) and notes
-- its calendar for re-planning (crm_sla_holidays_900_replan). Fires before each row is inserted,
-- updated or deleted in crm_sla_holidays.
create or replace function public.crm_sla_holidays_check()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if tg_op <> 'DELETE' then
        if new.calendar_id is null or new.day is null then
            raise exception 'a holiday needs a calendar and a day'
                using errcode = 'SL010', hint = 'e.g. (calendar_id, ''2026-12-25'', ''Christmas'').';
        end if;
        if (tg_op = 'INSERT' or (new.calendar_id, new.day) is distinct from (old.calendar_id, old.day))
            and exists (
                select from public.crm_sla_holidays as h
                where h.calendar_id = new.calendar_id and h.day = new.day
            ) then
            raise exception '% is already a holiday of calendar %', new.day, new.calendar_id
                using errcode = 'SL010',
                    hint = 'Each day is a holiday once: update its name, or insert with '
                    || 'ON CONFLICT (calendar_id, day) DO NOTHING.';
        end if;
        if (tg_op = 'INSERT' or new.calendar_id is distinct from old.calendar_id)
            and (
                select count(*) from public.crm_sla_holidays as h
                where h.calendar_id = new.calendar_id
            ) >= 10000 then
            raise exception 'calendar % already has 10000 holidays', new.calendar_id
                using errcode = 'SL010',
                    detail = 'A calendar has at most 10,000 holidays.',
                    hint = 'Delete past holidays first (they no longer change any timer).';
        end if;
    end if;
    perform public.crm_sla_calendar_note(array[
        case when tg_op <> 'INSERT' then old.calendar_id end,
        case when tg_op <> 'DELETE' then new.calendar_id end
    ]);
    return case when tg_op = 'DELETE' then old else new end;
end
$$;

comment on function public.crm_sla_holidays_check() is
'Trigger: checks a holiday (SL010, duplicates included) and notes its calendar for re-planning';

revoke execute on function public.crm_sla_holidays_check()
from public, anon, authenticated, service_role;

drop trigger if exists crm_sla_holidays_100_check on public.crm_sla_holidays;

create trigger crm_sla_holidays_100_check
before insert or update or delete on public.crm_sla_holidays
for each row execute function public.crm_sla_holidays_check();

comment on trigger crm_sla_holidays_100_check on public.crm_sla_holidays is
'Refuses a holiday without a day or a duplicate (SL010); notes the calendar for re-planning';
