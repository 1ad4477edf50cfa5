-- The SLA clock: the wall clock plus the offset that sla_clock_travel() added. Every SLA decision
-- reads it. Called by the engine's triggers and functions, and by clients that draw timers.
-- No SET clause (it would stop inlining on a hot path): every name in the body is qualified.
create or replace function public.sla_now()
returns timestamptz
language sql
stable
parallel safe
as $$
    select now() + coalesce((select c.travelled from public.crm_sla_clock as c), interval '0')
$$;

comment on function public.sla_now() is
'The SLA clock: now() plus the offset moved by sla_clock_travel(); zero in production';

revoke execute on function public.sla_now() from public, anon;
grant execute on function public.sla_now() to authenticated, service_role;
