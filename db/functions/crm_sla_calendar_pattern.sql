-- A calendar's open hours as day pieces: for each weekday (0 = Sunday) the disjoint open stretches
-- of that local day, in microseconds after its midnight (overnight rows split at midnight, overlaps
-- merged). Called by sla_business_add and sla_business_elapsed.
create or replace function public.crm_sla_calendar_pattern(
    p_calendar_id uuid,
    out time_zone text,
    out dows integer[],
    out starts bigint[],
    out ends bigint[],
    out day_open bigint[],
    out week_open bigint
)
language plpgsql
stable
set search_path = ''
as $$
begin
    select c.time_zone into time_zone from public.crm_sla_calendars as c where c.id = p_calendar_id;
    if not found then
        raise exception 'calendar % does not exist', p_calendar_id
            using errcode = 'SL010',
                hint = 'Pass the id of a row of crm_sla_calendars, or NULL for around the clock.';
    end if;
    with raw as (
        select
            h.weekday::integer as dow,
            (extract(epoch from h.opens) * 1000000)::bigint as o,
            (extract(epoch from h.closes) * 1000000)::bigint as c
        from public.crm_sla_calendar_hours as h
        where h.calendar_id = p_calendar_id
    ),

    pieces as (
        select r.dow, r.o as s, case when r.c > r.o then r.c else 86400000000 end as e
        from raw as r
        union all
        select (r.dow + 1) % 7, 0, r.c from raw as r where r.c <= r.o and r.c > 0
    ),

    merged as (
        select p.dow, pg_catalog.unnest(pg_catalog.range_agg(pg_catalog.int8range(p.s, p.e))) as r
        from pieces as p
        group by p.dow
    )

    select
        coalesce(array_agg(m.dow order by m.dow, lower(m.r)), '{}'),
        coalesce(array_agg(lower(m.r) order by m.dow, lower(m.r)), '{}'),
        coalesce(array_agg(upper(m.r) order by m.dow, lower(m.r)), '{}'),
        array(
            select coalesce(sum(upper(x.r) - lower(x.r)), 0)::bigint
            from pg_catalog.generate_series(0, 6) as d (dow)
            left join merged as x on d.dow = x.dow
            group by d.dow
            order by d.dow
        ),
        coalesce(sum(upper(m.r) - lower(m.r)), 0)::bigint
    into dows, starts, ends, day_open, week_open
    from merged as m;
end
$$;

comment on function public.crm_sla_calendar_pattern(uuid) is
'Internal: a calendar''s zone and open stretches per weekday (microseconds after local midnight)';

revoke execute on function public.crm_sla_calendar_pattern(uuid) from public, anon;
grant execute on function public.crm_sla_calendar_pattern(uuid) to authenticated, service_role;
