-- The open time of a calendar between two instants (negative when p_to is before p_from); a NULL
-- calendar is around the clock. What seconds_left and the warning point count; callable by
-- signed-in users.
create or replace function public.sla_business_elapsed(
    p_calendar_id uuid, p_from timestamptz, p_to timestamptz
)
returns interval
language plpgsql
stable
set search_path = ''
as $$
declare
    v_cal record;
    v_us bigint;
begin
    if p_from is null or p_to is null then
        raise exception 'sla_business_elapsed needs two instants, got (%, %)',
            coalesce(p_from::text, 'NULL'), coalesce(p_to::text, 'NULL')
            using errcode = 'SL010',
                hint = 'Call sla_business_elapsed(calendar_id or NULL, from, to).';
    end if;
    if not (pg_catalog.isfinite(p_from) and pg_catalog.isfinite(p_to)) then
        raise exception 'sla_business_elapsed needs finite instants, got (%, %)', p_from, p_to
            using errcode = 'SL010', hint = 'Pass instants other than infinity.';
    end if;
    if p_calendar_id is null then
        return p_to - p_from;
    end if;
    v_cal := public.crm_sla_calendar_pattern(p_calendar_id);
    v_us := public.crm_sla_calendar_open(
        p_calendar_id, v_cal.time_zone, v_cal.dows, v_cal.starts, v_cal.ends, v_cal.day_open,
        v_cal.week_open, least(p_from, p_to), greatest(p_from, p_to)
    );
    return case when p_to < p_from then -v_us else v_us end * interval '1 microsecond';
end
$$;

comment on function public.sla_business_elapsed(uuid, timestamptz, timestamptz) is
'The calendar''s open time between two instants, negative when p_to is before p_from '
'(NULL calendar: around the clock)';

revoke execute on function public.sla_business_elapsed(uuid, timestamptz, timestamptz)
from public, anon;
grant execute on function public.sla_business_elapsed(uuid, timestamptz, timestamptz)
to authenticated, service_role;
