-- The calendars whose hours, holidays or zone this transaction changed since the last re-plan
-- (the check triggers note them in crm_sla.replan_calendars), and forgets them. Called by the
-- re-planning statement triggers.
create or replace function public.crm_sla_calendar_noted()
returns uuid[]
language plpgsql
volatile
set search_path = ''
as $$
declare
    v_noted constant text := pg_catalog.current_setting('crm_sla.replan_calendars', true);
begin
    perform pg_catalog.set_config('crm_sla.replan_calendars', '', true);
    return array(
        select distinct x::uuid
        from pg_catalog.regexp_split_to_table(pg_catalog.btrim(coalesce(v_noted, '')), ' +') as x
        where x <> ''
    );
end
$$;

comment on function public.crm_sla_calendar_noted() is
'Internal: the calendars this transaction changed since the last re-plan (then forgotten)';

revoke execute on function public.crm_sla_calendar_noted()
from public, anon, authenticated, service_role;
