-- The earliest instant by which p_duration of a calendar's open time has passed since p_from
-- (counting from the next opening when p_from is in closed time); a NULL calendar is around the
-- clock. What every SLA deadline of a policy with a calendar is; callable by signed-in users.
create or replace function public.sla_business_add(
    p_calendar_id uuid, p_from timestamptz, p_duration interval
)
returns timestamptz
language plpgsql
stable
set search_path = ''
as $$
declare
    v_left bigint;
    v_cal record;
    v_cur timestamptz := p_from;
    v_day date;
    v_end timestamptz;
    v_step integer := 4;  -- days looked at in one go; doubles while nothing is found
    v_got bigint;
    v_at timestamptz;
    v_upto bigint;
begin
    if p_from is null or p_duration is null then
        raise exception 'sla_business_add needs an instant and a duration, got (%, %)',
            coalesce(p_from::text, 'NULL'), coalesce(p_duration::text, 'NULL')
            using errcode = 'SL010',
                hint = 'Call sla_business_add(calendar_id or NULL, from, duration).';
    end if;
    if not pg_catalog.isfinite(p_from) or p_duration < interval '0' then
        raise exception 'sla_business_add needs a finite instant and a duration >= 0, got (%, %)',
            p_from, p_duration
            using errcode = 'SL010',
                hint = 'Open time only moves forward: pass a duration of zero or more.';
    end if;
    if p_calendar_id is null then
        return p_from + p_duration;
    end if;
    v_cal := public.crm_sla_calendar_pattern(p_calendar_id);
    v_left := (extract(epoch from p_duration) * 1000000)::bigint;
    if v_left = 0 then
        return p_from;
    end if;
    if v_cal.week_open = 0 then
        return 'infinity'::timestamptz;  -- no open hours at all: the time never passes
    end if;

    loop
        if v_cur > p_from + interval '400 years' then
            return 'infinity'::timestamptz;  -- holidays as far as anyone plans
        end if;
        v_day := (v_cur at time zone v_cal.time_zone)::date;
        v_end := (v_day + v_step + 1)::timestamp at time zone v_cal.time_zone;
        if v_step <= 16 then
            -- The stretches of these days after v_cur, in order, with running totals.
            select
                y.lo + (v_left - (y.upto - y.len)) * interval '1 microsecond',
                y.upto,
                y.total
            into v_at, v_upto, v_got
            from (
                select
                    x.lo,
                    x.len,
                    sum(x.len) over (order by x.lo rows unbounded preceding) as upto,
                    sum(x.len) over () as total
                from (
                    select
                        greatest(t.ps, v_cur) as lo,
                        (extract(epoch from t.pe - greatest(t.ps, v_cur)) * 1000000)::bigint
                        as len
                    from (
                        select
                            ((d.d + pc.s * interval '1 microsecond') at time zone v_cal.time_zone)
                            as ps,
                            ((d.d + pc.e * interval '1 microsecond') at time zone v_cal.time_zone)
                            as pe
                        from pg_catalog.generate_series(
                            (v_day - 1)::timestamp, (v_day + v_step)::timestamp, interval '1 day'
                        ) as d (d)
                        inner join unnest(v_cal.dows, v_cal.starts, v_cal.ends) as pc (dow, s, e)
                            on extract(dow from d.d)::integer = pc.dow
                        where not exists (
                            select from public.crm_sla_holidays as h
                            where h.calendar_id = p_calendar_id and h.day = d.d::date
                        )
                    ) as t
                    where t.pe > greatest(t.ps, v_cur)
                ) as x
            ) as y
            order by (y.upto >= v_left) desc, y.lo
            limit 1;
            if v_upto >= v_left then
                return v_at;
            end if;
            v_left := v_left - coalesce(v_got, 0);
            v_cur := greatest(v_end, v_cur);
            v_step := v_step * 2;
        else
            v_got := public.crm_sla_calendar_open(
                p_calendar_id, v_cal.time_zone, v_cal.dows, v_cal.starts, v_cal.ends,
                v_cal.day_open, v_cal.week_open, v_cur, v_end
            );
            if v_got < v_left then
                v_left := v_left - v_got;
                v_cur := v_end;
                v_step := least(v_step * 2, 8192);
            else
                v_step := v_step / 2;
            end if;
        end if;
    end loop;
    return null;  -- not reached: the loop returns
end
$$;

comment on function public.sla_business_add(uuid, timestamptz, interval) is
'The earliest instant by which p_duration of the calendar''s open time has passed since p_from '
'(NULL calendar: around the clock)';

revoke execute on function public.sla_business_add(uuid, timestamptz, interval) from public, anon;
grant execute on function public.sla_business_add(uuid, timestamptz, interval)
to authenticated, service_role;
