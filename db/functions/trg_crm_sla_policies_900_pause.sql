-- A policy's pause_when edited: its open leads are evaluated again in the same transaction, so a
-- condition dropped (or no longer met) resumes the leads it paused and a new one pauses the
-- leads that meet it (crm_leads_250_pause does both). Fires after an UPDATE of pause_when on
-- crm_sla_policies.
create or replace function public.crm_sla_policies_pause()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    update public.crm_leads as l
    set sla_paused_at = l.sla_paused_at  -- the pause trigger decides
    where l.sla_policy_id = new.id
        and not l.first_action_completed and l.sla_escalated_at is null
        and (
            l.sla_paused_at is not null
            or coalesce(pg_catalog.to_jsonb(l) @> new.pause_when, false)
        );
    return null;
end
$$;

comment on function public.crm_sla_policies_pause() is
'Trigger: re-evaluates the open leads of a policy whose pause_when changed (pause or resume)';

revoke execute on function public.crm_sla_policies_pause()
from public, anon, authenticated, service_role;

drop trigger if exists crm_sla_policies_900_pause on public.crm_sla_policies;

create trigger crm_sla_policies_900_pause
after update of pause_when on public.crm_sla_policies
for each row
when (new.pause_when is distinct from old.pause_when)
execute function public.crm_sla_policies_pause();

comment on trigger crm_sla_policies_900_pause on public.crm_sla_policies is
'Pauses or resumes the open leads of a policy whose pause_when changed';
