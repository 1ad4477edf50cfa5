-- The scheduled monitor: runs process_sla_timers() pass after pass for p_duration, committing
-- each pass; between passes it sleeps until the next timer falls due (crm_sla_next_due), at most
-- p_interval (so new leads, stuck and unowned ones are looked at that often); a backlog is drained
-- batch after batch without sleeping. Called by the pg_cron job (CALL public.run_sla_monitor(...));
-- an overlapping call exits at once, and it steps aside while crm_sla_monitor_pause names a live
-- session (the demo pauses it so). A procedure, not a function, so that every pass is its own
-- transaction.
create or replace procedure public.run_sla_monitor(
    p_duration interval default interval '59 seconds',
    p_interval interval default interval '2 seconds'
)
language plpgsql
as $$
declare
    v_lock constant bigint := public.crm_sla_lock_key('monitor');
    v_locked boolean;
    v_holder integer;
    v_deadline timestamptz;
    v_result jsonb;
    v_wake timestamptz;
begin
    if p_duration is null or p_interval is null or p_interval <= interval '0' then
        raise exception 'run_sla_monitor needs a duration and a positive interval'
            using errcode = 'SL010',
                hint = 'For example: call public.run_sla_monitor(''59 seconds'', ''2 seconds'').';
    end if;
    v_locked := pg_catalog.pg_try_advisory_lock(v_lock);
    if not v_locked then
        -- Any session may take an advisory lock: only a trusted one (a superuser, or a login that
        -- has the engine tables' owner's rights, as the pg_cron job has) is another loop to
        -- step aside for. Anyone else holding the key does not stop the monitor.
        select l.pid into v_holder
        from pg_catalog.pg_locks as l
        inner join pg_catalog.pg_database as d on l.database = d.oid
        where l.locktype = 'advisory' and l.granted and l.objsubid = 1
            and d.datname = pg_catalog.current_database()
            and l.classid::bigint = (v_lock >> 32) & 4294967295
            and l.objid::bigint = v_lock & 4294967295;
        if exists (
            select from pg_catalog.pg_stat_activity as a
            inner join pg_catalog.pg_roles as r on a.usesysid = r.oid
            where a.pid = v_holder
                and (r.rolsuper or pg_catalog.pg_has_role(
                    a.usesysid,
                    (select c.relowner from pg_catalog.pg_class as c
                        where c.oid = 'public.crm_sla_settings'::pg_catalog.regclass),
                    'usage'
                ))
        ) then
            raise notice 'another run_sla_monitor is already running in this database; exiting';
            return;
        end if;
        raise warning 'backend %, not a trusted session, holds the monitor''s lock: running anyway',
            coalesce(v_holder::text, '(gone)');
    end if;
    v_deadline := pg_catalog.clock_timestamp() + p_duration;
    loop
        -- Paused by a trusted session (the demo), for as long as that session lives: the loop
        -- ends now, and pg_cron starts a new one next minute.
        exit when exists (
            select from public.crm_sla_monitor_pause as p
            inner join pg_catalog.pg_stat_activity as a on p.paused_by_pid = a.pid
            where a.backend_start is null or a.backend_start = p.paused_by_backend_start
        );
        v_result := public.process_sla_timers();
        commit;
        -- A full batch that moved leads or warned: more is waiting, so go again at once (even
        -- past the deadline: the backlog is drained before the call returns).
        continue when (v_result ->> 'remaining')::bigint > 0
            and (v_result ->> 'unclaimed')::bigint + (v_result ->> 'no_contact')::bigint
            + (v_result ->> 'escalated')::bigint + (v_result ->> 'warned')::bigint > 0;
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
    if v_locked then
        perform pg_catalog.pg_advisory_unlock(v_lock);
    end if;
end
$$;

comment on procedure public.run_sla_monitor (interval, interval) is
'Runs the SLA monitor pass after pass for a while (the pg_cron job calls it every minute)';

revoke execute on procedure public.run_sla_monitor(interval, interval)
from public, anon, authenticated;
grant execute on procedure public.run_sla_monitor(interval, interval) to service_role;
