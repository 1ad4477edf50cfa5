-- The SLA clock at this very moment: clock_timestamp() plus the offset sla_now() adds, so a claim
-- or first action is timed when its statement runs, not when its transaction began. Called by the
-- progress and SLA-event triggers. No SET clause: every name in the body is qualified.
create or replace function public.crm_sla_clock_now()
returns timestamptz
language sql
volatile
parallel safe
as $$
    select pg_catalog.clock_timestamp() + (public.sla_now() - pg_catalog.now())
$$;

comment on function public.crm_sla_clock_now() is
'Internal: the SLA clock read now (clock_timestamp() plus sla_now()''s offset), for claims and '
'first actions';

revoke execute on function public.crm_sla_clock_now() from public, anon;
grant execute on function public.crm_sla_clock_now() to authenticated, service_role;
