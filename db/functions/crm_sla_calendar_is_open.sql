-- Whether a business-hours calendar is open at an instant: an agent's shift for routing. Called
-- by crm_sla_routing_pool() (routing, crm_sla_explain_routing). A NULL calendar is always open.
-- One reading of the calendar rules: open at p_at exactly when the first microsecond of open time
-- from p_at ends at p_at + 1 microsecond (sla_business_add follows the zone, DST, overnight hours
-- and holidays).
create or replace function public.crm_sla_calendar_is_open(p_calendar_id uuid, p_at timestamptz)
returns boolean
language plpgsql
stable
set search_path = ''
as $$
begin
    -- PL/pgSQL rather than SQL, so its plan is kept: a SQL function with a SET clause is parsed
    -- and planned again on every call, and routing asks once an agent a pass.
    return p_calendar_id is null
        or public.sla_business_add(p_calendar_id, p_at, interval '1 microsecond')
        = p_at + interval '1 microsecond';
end
$$;

comment on function public.crm_sla_calendar_is_open(uuid, timestamptz) is
'Whether the calendar is open at the instant (zone, DST, overnight, holidays); NULL: always';

revoke execute on function public.crm_sla_calendar_is_open(uuid, timestamptz)
from public, anon;
grant execute on function public.crm_sla_calendar_is_open(uuid, timestamptz)
to authenticated, service_role;
