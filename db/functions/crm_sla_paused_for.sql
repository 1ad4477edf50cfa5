-- How long a timer run was paused up to p_at: the pauses it ended (p_total) and the one still
-- running since p_paused_at. Called by crm_leads_sla_events(), so that time spent paused never
-- counts toward the response times of the statistics.
create or replace function public.crm_sla_paused_for(
    p_total interval, p_paused_at timestamptz, p_at timestamptz
)
returns interval
language sql
immutable
parallel safe
set search_path = ''
as $$
    select coalesce(p_total, interval '0') + coalesce(greatest(p_at - p_paused_at, interval '0'),
        interval '0')
$$;

comment on function public.crm_sla_paused_for(interval, timestamptz, timestamptz) is
'Internal: time a timer run spent paused up to an instant (left out of the statistics)';

revoke execute on function public.crm_sla_paused_for(interval, timestamptz, timestamptz)
from public, anon, authenticated, service_role;
