-- The system actor: the agent row (all zeros, created by the baseline migration) that the
-- monitor's reassignments, and those made by the service role, name as `reassigned_by`. Stated
-- here once for the SQL side (harness/engine.py's SYSTEM_ACTOR for Python). SQL and immutable,
-- so a call is folded into the constant.
create or replace function public.crm_sla_system_actor()
returns uuid
language sql
immutable
parallel safe
as $$
    select '00000000-0000-0000-0000-000000000000'::uuid
$$;

comment on function public.crm_sla_system_actor() is
'The agent id that system reassignments (the monitor, the service role) are recorded under';

revoke execute on function public.crm_sla_system_actor() from public, anon, authenticated;
grant execute on function public.crm_sla_system_actor() to service_role;
