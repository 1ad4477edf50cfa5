-- Intake events: an `assigned` event for every new lead that arrived with an owner, written
-- set-based (one outbox INSERT per statement, however many leads it brought). Leads that arrived
-- without one are announced by the router when they get it (crm_leads_900_intake_done, or a
-- monitor pass from the overflow queue). Fires after every INSERT statement on crm_leads.
create or replace function public.crm_leads_announce_intake()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
-- @plpgsql_check_options: newtable = new_leads
begin
    if not exists (select from new_leads as n where n.assigned_agent_id is not null) then
        return null;
    end if;
    perform public.crm_sla_emit(
        array_agg('assigned'::text),
        array_agg(n.id),
        array_agg(n.assigned_agent_id),
        array_agg(case when n.lead_claimed then 'contact_window' else 'claim_window' end),
        array_agg(public.crm_sla_breach_at(n)),
        array_agg(n.claim_timer_started_at)
    )
    from new_leads as n
    where n.assigned_agent_id is not null;
    return null;
end
$$;

comment on function public.crm_leads_announce_intake() is
'Trigger: an assigned event (outbox, crm_sla) for each new lead with an owner, one INSERT a '
'statement';

revoke execute on function public.crm_leads_announce_intake()
from public, anon, authenticated, service_role;

drop trigger if exists crm_leads_400_announce_intake on public.crm_leads;

create trigger crm_leads_400_announce_intake
after insert on public.crm_leads
referencing new table as new_leads
for each statement execute function public.crm_leads_announce_intake();

comment on trigger crm_leads_400_announce_intake on public.crm_leads is
'Writes an assigned event for each new lead with an owner, once per INSERT statement';
