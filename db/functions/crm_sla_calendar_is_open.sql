-- Whether a business-hours calendar is open at an instant: an agent's shift for routing. Called
-- by crm_sla_routing_pool() (routing, crm_sla_explain_routing). A NULL calendar is always open.
-- Hours are wall-clock times in the calendar's zone (DST followed); closes <= opens runs past
-- midnight into the next day; a holiday closes 00:00 to 24:00 of its local day, so it also cuts
-- an overnight interval at that midnight.
create or replace function public.crm_sla_calendar_is_open(p_calendar_id uuid, p_at timestamptz)
returns boolean
language sql
stable
set search_path = ''
as $$
    select
        p_calendar_id is null
        or exists (
            select
            from public.crm_sla_calendars as c
            cross join lateral (
                select (p_at at time zone c.time_zone) as local_at
            ) as t
            cross join lateral (
                select t.local_at::date as day, t.local_at::time as at_time
            ) as d
            where
                c.id = p_calendar_id
                and not exists (
                    select from public.crm_sla_holidays as h
                    where h.calendar_id = c.id and h.day = d.day
                )
                and exists (
                    select from public.crm_sla_calendar_hours as o
                    where
                        o.calendar_id = c.id
                        and (
                            -- today's interval, up to its close or to midnight when overnight
                            (
                                o.weekday = extract(dow from d.day)
                                and o.opens <= d.at_time
                                and (o.closes <= o.opens or d.at_time < o.closes)
                            )
                            -- the part after midnight of yesterday's overnight interval
                            or (
                                o.weekday = extract(dow from d.day - 1)
                                and o.closes <= o.opens
                                and d.at_time < o.closes
                            )
                        )
                )
        )
$$;

comment on function public.crm_sla_calendar_is_open(uuid, timestamptz) is
'Whether the calendar is open at the instant (zone, DST, overnight, holidays); NULL: always';

revoke execute on function public.crm_sla_calendar_is_open(uuid, timestamptz)
from public, anon;
grant execute on function public.crm_sla_calendar_is_open(uuid, timestamptz)
to authenticated, service_role;
