-- The open time from p_at to p_instant in calendar p_calendar_id (plain time where the calendar
-- has none within a year, as crm_sla_deadline counts), never below zero; NULL for a NULL instant.
-- What a paused timer keeps of each of its instants: called by crm_leads_pause().
create or replace function public.crm_sla_pause_left(
    p_calendar_id uuid, p_at timestamptz, p_instant timestamptz
)
returns interval
language sql
stable
set search_path = ''
as $$
    select greatest(t.seconds_left, 0) * interval '1 second'
    from public.crm_sla_timer_left(p_calendar_id, p_at, p_instant) as t
    where p_instant is not null
$$;

comment on function public.crm_sla_pause_left(uuid, timestamptz, timestamptz) is
'Internal: open time left from an instant to a paused timer''s deadline or warning (at least 0)';

revoke execute on function public.crm_sla_pause_left(uuid, timestamptz, timestamptz)
from public, anon, authenticated, service_role;
