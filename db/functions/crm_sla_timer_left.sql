-- How much of a running timer is left at p_now, in its calendar's open time (negative: the open
-- time since its deadline), and from when it counts again while the calendar is closed (NULL when
-- it counts now). A timer on plain time (no calendar, or one with no open time within a year)
-- counts plain seconds. Never overflows: a deadline more than 30 years away (or ago), which only
-- an old row could hold, shows as 30 years. Called by the view crm_lead_sla_timers for each lead.
create or replace function public.crm_sla_timer_left(
    p_calendar_id uuid,
    p_now timestamptz,
    p_expires_at timestamptz,
    out seconds_left numeric,
    out resumes_at timestamptz
)
language plpgsql
stable
set search_path = ''
as $$
declare
    -- Within the view's numeric(12, 3) and any calendar arithmetic.
    v_farthest constant interval := interval '30 years';
    v_expires_at constant timestamptz
        := least(greatest(p_expires_at, p_now - v_farthest), p_now + v_farthest);
begin
    if p_expires_at is null then
        return;
    end if;
    if p_calendar_id is not null and v_expires_at = p_expires_at
        and exists (select from public.crm_sla_calendars as c where c.id = p_calendar_id) then
        -- The first open instant from p_now on: p_now itself while the calendar is open.
        resumes_at := public.sla_business_add(p_calendar_id, p_now, interval '1 microsecond')
            - interval '1 microsecond';
        if resumes_at <= p_now + interval '1 year' then
            seconds_left := extract(
                epoch from public.sla_business_elapsed(p_calendar_id, p_now, v_expires_at)
            );
            if resumes_at <= p_now then
                resumes_at := null;
            end if;
            return;
        end if;
        resumes_at := null;  -- no open time within a year: the timer runs on plain time
    end if;
    seconds_left := extract(epoch from v_expires_at - p_now);
end
$$;

comment on function public.crm_sla_timer_left(uuid, timestamptz, timestamptz) is
'Internal: open time left on a timer and when a paused timer resumes (crm_lead_sla_timers)';

revoke execute on function public.crm_sla_timer_left(uuid, timestamptz, timestamptz)
from public, anon;
grant execute on function public.crm_sla_timer_left(uuid, timestamptz, timestamptz)
to authenticated, service_role;
