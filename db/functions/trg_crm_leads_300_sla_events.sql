-- Logs each claim and first action (who, when, how long it took less the time its timer was
-- paused, late or not) for the per-agent statistics. Fires after an UPDATE on crm_leads that
-- claims a lead or records its first action.
create or replace function public.crm_leads_sla_events()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    if new.lead_claimed and not old.lead_claimed then
        insert into public.crm_lead_sla_events (lead_id, agent_id, event, at, elapsed, late)
        values (
            new.id, new.assigned_agent_id, 'claimed', new.contact_timer_started_at,
            new.contact_timer_started_at - new.claim_timer_started_at - public.crm_sla_paused_for(
                old.sla_paused_total, old.sla_paused_at, new.contact_timer_started_at
            ),
            coalesce(new.contact_timer_started_at >= new.claim_timer_expires_at, false)
        );
    end if;
    if new.first_action_completed and not old.first_action_completed then
        insert into public.crm_lead_sla_events (lead_id, agent_id, event, at, elapsed, late)
        select
            new.id, new.assigned_agent_id, 'contacted', t.now,
            greatest(t.now - new.contact_timer_started_at - public.crm_sla_paused_for(
                old.sla_paused_total, old.sla_paused_at, t.now
            ), interval '0'),
            -- As the progress trigger judged it (its flag), read a moment earlier; only when an
            -- earlier owner had already set the flag does this reading decide.
            case
                when not coalesce(new.contact_sla_breached, false) then false
                when not coalesce(old.contact_sla_breached, false) then true
                else coalesce(t.now >= new.contact_timer_expires_at, false)
            end
        from (select public.crm_sla_clock_now() as now) as t;
    end if;
    return null;
end
$$;

comment on function public.crm_leads_sla_events() is
'Trigger: logs claims and first actions into crm_lead_sla_events';

revoke execute on function public.crm_leads_sla_events()
from public, anon, authenticated, service_role;

drop trigger if exists crm_leads_300_sla_events on public.crm_leads;

create trigger crm_leads_300_sla_events
after update of lead_claimed, first_action_completed on public.crm_leads
for each row
when (
    (new.lead_claimed and not old.lead_claimed)
    or (new.first_action_completed and not old.first_action_completed)
)
execute function public.crm_leads_sla_events();

comment on trigger crm_leads_300_sla_events on public.crm_leads is
'Logs claims and first actions for the per-agent SLA statistics';
