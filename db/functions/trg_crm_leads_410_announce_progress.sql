-- Announces a claim or a first action on the crm_sla channel, with the lead and its owner.
-- Fires after an UPDATE on crm_leads that claims a lead or records its first action.
create or replace function public.crm_leads_announce_progress()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    perform pg_catalog.pg_notify('crm_sla', pg_catalog.json_build_object(
        'event', case
            when new.first_action_completed and not old.first_action_completed then 'contacted'
            else 'claimed'
        end,
        'lead_id', new.id,
        'agent_id', new.assigned_agent_id
    )::text);
    return null;
end
$$;

comment on function public.crm_leads_announce_progress() is
'Trigger: a crm_sla event ({"event": "claimed" | "contacted", "lead_id", "agent_id"}) per claim '
'or first action';

revoke execute on function public.crm_leads_announce_progress()
from public, anon, authenticated, service_role;

drop trigger if exists crm_leads_410_announce_progress on public.crm_leads;

create trigger crm_leads_410_announce_progress
after update of lead_claimed, first_action_completed on public.crm_leads
for each row
when (
    (new.lead_claimed and not old.lead_claimed)
    or (new.first_action_completed and not old.first_action_completed)
)
execute function public.crm_leads_announce_progress();

comment on trigger crm_leads_410_announce_progress on public.crm_leads is
'Announces claims and first actions on the crm_sla channel';
