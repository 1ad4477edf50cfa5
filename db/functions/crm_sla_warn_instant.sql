-- When a timer of a lead of policy p_policy_id (NULL or gone: the settings' defaults), started at
-- p_start with window p_window in calendar p_calendar_id, warns: once warn_at of the window has
-- passed in the calendar's open time. NULL when the policy's (or the settings') warn_at is NULL.
-- Called where a timer starts (intake once per policy a statement, claims, reassignments, routing)
-- and by calendar re-planning.
create or replace function public.crm_sla_warn_instant(
    p_policy_id uuid, p_calendar_id uuid, p_start timestamptz, p_window interval
)
returns timestamptz
language plpgsql
stable
set search_path = ''
as $$
declare
    v_fraction numeric;
begin
    select p.warn_at into v_fraction from public.crm_sla_policies as p where p.id = p_policy_id;
    if not found then
        select s.warn_at into v_fraction from public.crm_sla_settings as s;
        if not found then
            v_fraction := 0.8;
        end if;
    end if;
    if v_fraction is null or p_window is null or p_start is null then
        return null;
    end if;
    return public.crm_sla_deadline(p_calendar_id, p_start, p_window * v_fraction::double precision);
end
$$;

comment on function public.crm_sla_warn_instant(uuid, uuid, timestamptz, interval) is
'Internal: when a timer warns (warn_at of its window in its calendar''s open time), or NULL';

revoke execute on function public.crm_sla_warn_instant(uuid, uuid, timestamptz, interval)
from public, anon;
grant execute on function public.crm_sla_warn_instant(uuid, uuid, timestamptz, interval)
to authenticated, service_role;
