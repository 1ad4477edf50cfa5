-- Intake events: an `assigned` event for every new lead that has an owner (given, or routed by
-- crm_leads_090_intake_route), written set-based (one outbox INSERT per statement, however many
-- leads it brought). Leads left without an owner get theirs later from the monitor, which
-- announces it then; meanwhile one {"event": "inserted"} notification tells the board they exist.
-- Fires after every INSERT statement on crm_leads.
create or replace function public.crm_leads_announce_intake()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_events jsonb[];
    v_unowned boolean;
begin
    select
        array_agg(jsonb_build_object(
            'event', 'assigned',
            'lead_id', n.id,
            'agent_id', n.assigned_agent_id,
            'stage', case when n.lead_claimed then 'contact_window' else 'claim_window' end,
            'expires_at', case
                when n.first_action_completed then null
                when n.lead_claimed then n.contact_timer_expires_at
                else n.claim_timer_expires_at
            end,
            'at', n.claim_timer_started_at
        )) filter (where n.assigned_agent_id is not null),
        bool_or(n.assigned_agent_id is null)
    into v_events, v_unowned
    from new_leads as n;
    perform public.crm_sla_emit(v_events);
    if v_unowned then
        perform pg_catalog.pg_notify('crm_sla', '{"event": "inserted"}');
    end if;
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
