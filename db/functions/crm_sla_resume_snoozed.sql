-- Ends the snoozes due at p_now, up to p_limit, in one statement: each lead's timer resumes at its
-- snooze's instant (crm_leads_250_pause; it stays paused while its pause_when still matches).
-- The earliest ends are read off a partial index; rows another session holds wait for the next
-- pass. Called by process_sla_timers() after the routing lock; returns how many it ended.
create or replace function public.crm_sla_resume_snoozed(p_now timestamptz, p_limit integer)
returns integer
language plpgsql
volatile
set search_path = ''
as $$
declare
    v_count integer;
begin
    with due as (
        select l.id from public.crm_leads as l
        where l.sla_snoozed_until <= p_now and l.sla_snoozed_until is not null
        order by l.sla_snoozed_until
        limit p_limit
        for update of l skip locked
    ),

    ended as (
        update public.crm_leads as l
        set sla_snoozed_until = null
        from due as d
        where l.id = d.id
        returning l.id
    )

    select count(*) into v_count from ended;
    return v_count;
end
$$;

comment on function public.crm_sla_resume_snoozed(timestamptz, integer) is
'Internal: ends the snoozes due (their timers resume at the snooze''s instant)';

revoke execute on function public.crm_sla_resume_snoozed(timestamptz, integer)
from public, anon, authenticated, service_role;
