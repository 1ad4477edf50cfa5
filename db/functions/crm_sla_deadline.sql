-- A timer's deadline: p_window of the calendar's open time after p_start (sla_business_add). A
-- calendar that gives no deadline within a year of the plain one (no open hours, holidays all
-- year, or a deleted calendar) must not leave a lead without one: the timer runs on plain time
-- (crm-sla status lists such calendars). Called wherever a timer starts or is re-planned.
create or replace function public.crm_sla_deadline(
    p_calendar_id uuid, p_start timestamptz, p_window interval
)
returns timestamptz
language plpgsql
stable
set search_path = ''
as $$
declare
    v_due timestamptz;
begin
    if p_calendar_id is null
        or not exists (select from public.crm_sla_calendars as c where c.id = p_calendar_id) then
        return p_start + p_window;
    end if;
    v_due := public.sla_business_add(p_calendar_id, p_start, p_window);
    if v_due > p_start + p_window + interval '1 year' then
        return p_start + p_window;  -- includes 'infinity': no open time at all
    end if;
    return v_due;
end
$$;

comment on function public.crm_sla_deadline(uuid, timestamptz, interval) is
'Internal: a timer''s deadline in its calendar''s open time (plain time when the calendar has none '
'within a year)';

revoke execute on function public.crm_sla_deadline(uuid, timestamptz, interval) from public, anon;
grant execute on function public.crm_sla_deadline(uuid, timestamptz, interval)
to authenticated, service_role;
