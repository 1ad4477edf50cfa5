-- Moves the SLA clock forward by p_by (cumulative), for tests and demos; returns the new sla_now().
-- Called by the tables' owner and the service role only.
create or replace function public.sla_clock_travel(p_by interval)
returns timestamptz
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
    v_travelled interval;
begin
    if p_by is null or p_by < interval '0' then
        raise exception 'sla_clock_travel needs a non-negative interval, got %',
            coalesce(p_by::text, 'NULL')
            using errcode = 'SL010',
                hint = 'The SLA clock only moves forward; sla_clock_reset() returns it to the wall clock.';
    end if;
    insert into public.crm_sla_clock as c (id, travelled) values (true, p_by)
    on conflict (id) do update set travelled = c.travelled + excluded.travelled
    returning c.travelled into v_travelled;
    return now() + v_travelled;
end
$$;

comment on function public.sla_clock_travel(interval) is
'Moves the SLA clock forward (cumulative), returns the new sla_now(); owner and service role only';

revoke execute on function public.sla_clock_travel(interval) from public, anon, authenticated;
grant execute on function public.sla_clock_travel(interval) to service_role;
