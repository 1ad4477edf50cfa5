-- Notes calendars whose hours, holidays or zone this transaction changes, in the
-- transaction-local setting crm_sla.replan_calendars, for the re-planning statement triggers
-- (crm_sla_calendar_noted reads and clears it). Called by the check triggers of
-- crm_sla_calendars, crm_sla_calendar_hours and crm_sla_holidays, for each row.
create or replace function public.crm_sla_calendar_note(p_calendar_ids uuid[])
returns void
language plpgsql
volatile
set search_path = ''
as $$
declare
    v_noted text := coalesce(pg_catalog.current_setting('crm_sla.replan_calendars', true), '');
    v_id uuid;
begin
    foreach v_id in array p_calendar_ids loop
        if v_id is not null and pg_catalog.strpos(v_noted, v_id::text) = 0 then
            v_noted := pg_catalog.set_config(
                'crm_sla.replan_calendars', v_noted || ' ' || v_id::text, true
            );
        end if;
    end loop;
end
$$;

comment on function public.crm_sla_calendar_note(uuid[]) is
'Internal: notes calendars this transaction changes, for re-planning their running timers';

revoke execute on function public.crm_sla_calendar_note(uuid[]) from public, anon;
grant execute on function public.crm_sla_calendar_note(uuid[]) to authenticated, service_role;
