-- Claim and first-action events: `claimed` (stage claim_window; expires_at is the contact window
-- that now runs) and `contacted` (stage contact_window), for the lead's owner; a first action on
-- an unclaimed lead writes both. Fires after an UPDATE on crm_leads that claims a lead or records
-- its first action (a security definer: an agent's own UPDATE fires it, and only the engine
-- writes events).
create or replace function public.crm_leads_announce_progress()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_events jsonb[] := '{}';
begin
    if new.lead_claimed and not old.lead_claimed then
        v_events := array_append(v_events, jsonb_build_object(
            'event', 'claimed',
            'lead_id', new.id,
            'agent_id', new.assigned_agent_id,
            'stage', 'claim_window',
            'expires_at', case when not new.first_action_completed
                then new.contact_timer_expires_at end,
            'late', coalesce(new.contact_timer_started_at >= new.claim_timer_expires_at, false),
            'at', new.contact_timer_started_at
        ));
    end if;
    if new.first_action_completed and not old.first_action_completed then
        v_events := array_append(v_events, (
            select jsonb_build_object(
                'event', 'contacted',
                'lead_id', new.id,
                'agent_id', new.assigned_agent_id,
                'stage', 'contact_window',
                'expires_at', null,
                'late', coalesce(c.now >= new.contact_timer_expires_at, false),
                'at', c.now
            )
            from (select public.sla_now() as now) as c
        ));
    end if;
    perform public.crm_sla_emit(v_events);
    return null;
end
$$;

comment on function public.crm_leads_announce_progress() is
'Trigger: claimed and contacted events (outbox, crm_sla) for claims and first actions';

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
'Writes claimed and contacted events for claims and first actions';
