-- The open time of a calendar between two instants (p_from <= p_to), in microseconds: each local
-- day's open stretches, turned into instants in the calendar's zone (so a stretch that spans a DST
-- change is an hour shorter or longer), holidays left out. Spans longer than a few weeks add whole
-- weeks by arithmetic (week total, minus holidays, plus the DST days) instead of walking them.
-- Called by sla_business_add and sla_business_elapsed with the pattern they read.
create or replace function public.crm_sla_calendar_open(
    p_calendar_id uuid,
    p_tz text,
    p_dows integer[],
    p_starts bigint[],
    p_ends bigint[],
    p_day_open bigint[],
    p_week_open bigint,
    p_from timestamptz,
    p_to timestamptz
)
returns bigint
language plpgsql
stable
set search_path = ''
as $$
declare
    v_d1 constant date := (p_from at time zone p_tz)::date - 1;
    v_d2 constant date := (p_to at time zone p_tz)::date;
    v_mid1 date;
    v_mid2 date;
    v_weeks integer;
    v_total bigint := 0;
    v_part bigint;
begin
    if p_to <= p_from or p_week_open = 0 then
        return 0;
    end if;
    if v_d2 - v_d1 <= 16 then
        v_mid1 := v_d2 + 1;  -- no middle: one walk over every day
        v_mid2 := v_d2 + 1;
    else
        -- Whole local days strictly inside (p_from, p_to): [v_mid1, v_mid2), whole weeks.
        v_mid1 := v_d1 + 2;
        v_weeks := (v_d2 - 1 - v_mid1) / 7;
        v_mid2 := v_mid1 + 7 * v_weeks;

        -- Their wall-clock open time, minus holidays ...
        select v_weeks * p_week_open - coalesce(sum(p_day_open[extract(dow from h.day)::integer + 1]), 0)
        into v_total
        from public.crm_sla_holidays as h
        where h.calendar_id = p_calendar_id and h.day >= v_mid1 and h.day < v_mid2;

        -- ... corrected on the days a DST change shortens or lengthens (found week by week).
        select
            coalesce(sum(
                (extract(epoch from greatest(x.pe - x.ps, interval '0')) * 1000000)::bigint
                - (x.e - x.s)
            ), 0)
        into v_part
        from (
            select
                ((d.d + pc.s * interval '1 microsecond') at time zone p_tz) as ps,
                ((d.d + pc.e * interval '1 microsecond') at time zone p_tz) as pe,
                pc.s,
                pc.e
            from pg_catalog.generate_series(
                v_mid1::timestamp, (v_mid2 - 7)::timestamp, interval '7 days'
            ) as w (ws)
            cross join lateral pg_catalog.generate_series(
                w.ws, w.ws + interval '6 days', interval '1 day'
            ) as d (d)
            inner join unnest(p_dows, p_starts, p_ends) as pc (dow, s, e)
                on extract(dow from d.d)::integer = pc.dow
            where
                ((w.ws + interval '7 days') at time zone p_tz) - (w.ws at time zone p_tz)
                <> interval '7 days'
                and ((d.d + interval '1 day') at time zone p_tz) - (d.d at time zone p_tz)
                <> interval '1 day'
                and not exists (
                    select from public.crm_sla_holidays as h
                    where h.calendar_id = p_calendar_id and h.day = d.d::date
                )
        ) as x;
        v_total := v_total + v_part;
    end if;

    -- The days outside the middle, walked stretch by stretch and clipped to [p_from, p_to).
    select
        coalesce(sum(
            (extract(epoch from least(x.pe, p_to) - greatest(x.ps, p_from)) * 1000000)::bigint
        ), 0)
    into v_part
    from (
        select
            ((d.d + pc.s * interval '1 microsecond') at time zone p_tz) as ps,
            ((d.d + pc.e * interval '1 microsecond') at time zone p_tz) as pe
        from pg_catalog.generate_series(v_d1::timestamp, v_d2::timestamp, interval '1 day') as d (d)
        inner join unnest(p_dows, p_starts, p_ends) as pc (dow, s, e)
            on extract(dow from d.d)::integer = pc.dow
        where
            (d.d < v_mid1 or d.d >= v_mid2)
            and not exists (
                select from public.crm_sla_holidays as h
                where h.calendar_id = p_calendar_id and h.day = d.d::date
            )
    ) as x
    where least(x.pe, p_to) > greatest(x.ps, p_from);
    return v_total + v_part;
end
$$;

comment on function public.crm_sla_calendar_open(
    uuid, text, integer[], bigint[], bigint[], bigint[], bigint, timestamptz, timestamptz
) is
'Internal: a calendar''s open time between two instants, in microseconds';

revoke execute on function public.crm_sla_calendar_open(
    uuid, text, integer[], bigint[], bigint[], bigint[], bigint, timestamptz, timestamptz
) from public, anon;
grant execute on function public.crm_sla_calendar_open(
    uuid, text, integer[], bigint[], bigint[], bigint[], bigint, timestamptz, timestamptz
) to authenticated, service_role;
