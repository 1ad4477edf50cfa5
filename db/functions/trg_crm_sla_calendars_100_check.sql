-- Checks a calendar before it is written (a name, a zone PostgreSQL knows whose meaning does not
-- depend on the server's own setting: SL010 otherwise, with nothing written) and notes a changed
-- zone for re-planning (crm_sla_calendars_900_replan). Fires before INSERT or UPDATE of each row
-- of crm_sla_calendars.
create or replace function public.crm_sla_calendars_check()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if new.name is null or new.time_zone is null then
        raise exception 'a calendar needs a name and a time zone'
            using errcode = 'SL010',
                hint = 'Give both, e.g. (''Berlin office'', ''Europe/Berlin''); the zone defaults '
                || 'to UTC when left out.';
    end if;
    if tg_op = 'INSERT' or new.time_zone is distinct from old.time_zone then
        -- localtime and posixrules stand for whatever zone the server's files say.
        if pg_catalog.lower(new.time_zone) in ('localtime', 'posixrules')
            or not exists (
                select from pg_catalog.pg_timezone_names as z where z.name = new.time_zone
            ) then
            raise exception 'unknown or server-dependent time zone "%"', new.time_zone
                using errcode = 'SL010',
                    hint = 'Use a name from pg_timezone_names, such as Europe/Berlin or '
                    || 'America/New_York.';
        end if;
    end if;
    if tg_op = 'UPDATE' and new.time_zone is distinct from old.time_zone then
        perform public.crm_sla_calendar_note(array[old.id]);
    end if;
    return new;
end
$$;

comment on function public.crm_sla_calendars_check() is
'Trigger: a calendar needs a name and a known time zone, not localtime (SL010); a new zone '
're-plans its timers';

revoke execute on function public.crm_sla_calendars_check()
from public, anon, authenticated, service_role;

drop trigger if exists crm_sla_calendars_100_check on public.crm_sla_calendars;

create trigger crm_sla_calendars_100_check
before insert or update on public.crm_sla_calendars
for each row execute function public.crm_sla_calendars_check();

comment on trigger crm_sla_calendars_100_check on public.crm_sla_calendars is
'Refuses a calendar without a name or with an unknown zone (SL010); notes a changed zone';
