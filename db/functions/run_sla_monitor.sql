-- The scheduled monitor: runs process_sla_timers() pass after pass for p_duration, committing
-- each pass; between passes it sleeps until the next timer falls due (crm_sla_next_due), at most
-- p_interval (so new leads, stuck and unowned ones are looked at that often); a backlog is drained
-- batch after batch without sleeping. Called by the pg_cron job (CALL public.run_sla_monitor(...));
-- an overlapping call exits at once, and a session holding advisory lock 4242004 pauses it. A
-- procedure, not a function, so that every pass is its own transaction.
create or replace procedure public.run_sla_monitor(
    p_duration interval default interval '59 seconds',
    p_interval interval default interval '2 seconds'
)
language plpgsql
as $$
declare
    v_deadline timestamptz;
    v_result jsonb;
    v_wake timestamptz;
begin
    if p_duration is null or p_interval is null or p_interval <= interval '0' then
        raise exception 'run_sla_monitor needs a duration and a positive interval'
            using errcode = 'SL010',
                hint = 'For example: call public.run_sla_monitor(''59 seconds'', ''2 seconds'').';
    end if;
    if not pg_catalog.pg_try_advisory_lock(4242003) then
        raise notice 'another run_sla_monitor is already running in this database; exiting';
        return;
    end if;
    v_deadline := pg_catalog.clock_timestamp() + p_duration;
    loop
        -- Someone holding advisory lock 4242004 (the demo, the benchmark) asks the loop to
        -- step aside: it ends now, and pg_cron starts a new one next minute.
        exit when not pg_catalog.pg_try_advisory_xact_lock_shared(4242004);
        v_result := public.process_sla_timers();
        commit;
        -- A full batch that moved leads: more is waiting, so go again at once (even past the
        -- deadline: the backlog is drained before the call returns).
        continue when (v_result ->> 'remaining')::bigint > 0
            and (v_result ->> 'unclaimed')::bigint + (v_result ->> 'no_contact')::bigint
            + (v_result ->> 'escalated')::bigint > 0;
        exit when pg_catalog.clock_timestamp() >= v_deadline;
        -- Wake when the next timer falls due: its SLA-clock instant less the clock's offset
        -- (sla_clock_travel) is the wall-clock moment; a millisecond late, so it is due then.
        v_wake := public.crm_sla_next_due((v_result ->> 'at')::timestamptz)
            - (public.sla_now() - pg_catalog.now()) + interval '1 millisecond';
        perform pg_catalog.pg_sleep(greatest(extract(epoch from least(
            v_wake, pg_catalog.clock_timestamp() + p_interval, v_deadline
        ) - pg_catalog.clock_timestamp()), 0));
        commit;  -- end the sleeping transaction
    end loop;
    perform pg_catalog.pg_advisory_unlock(4242003);
end
$$;

comment on procedure public.run_sla_monitor (interval, interval) is
'Runs the SLA monitor pass after pass for a while (the pg_cron job calls it every minute)';

revoke execute on procedure public.run_sla_monitor(interval, interval)
from public, anon, authenticated;
grant execute on procedure public.run_sla_monitor(interval, interval) to service_role;
