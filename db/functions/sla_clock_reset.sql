-- Puts the SLA clock back on the wall clock; returns the new sla_now().
-- Called by the tables' owner and the service role only.
create or replace function public.sla_clock_reset()
returns timestamptz
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
    insert into public.crm_sla_clock as c (id, travelled) values (true, interval '0')
    on conflict (id) do update set travelled = interval '0';
    return now();
end
$$;

comment on function public.sla_clock_reset() is
'Puts the SLA clock back on the wall clock; owner and service role only';

revoke execute on function public.sla_clock_reset() from public, anon, authenticated;
grant execute on function public.sla_clock_reset() to service_role;
