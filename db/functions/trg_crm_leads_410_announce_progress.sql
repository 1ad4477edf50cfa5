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
    v_claimed constant boolean := new.lead_claimed and not old.lead_claimed;
    v_contacted constant boolean := new.first_action_completed and not old.first_action_completed;
    v_now timestamptz;
begin
    if v_contacted then
        v_now := public.sla_now();
    end if;
    perform public.crm_sla_emit(
        array_agg(e.event order by e.n),
        array_agg(new.id order by e.n),
        array_agg(new.assigned_agent_id order by e.n),
        array_agg(e.stage order by e.n),
        array_agg(e.expires_at order by e.n),
        array_agg(e.at order by e.n),
        array_agg(jsonb_build_object('late', e.late) order by e.n)
    )
    from (
        select
            1 as n, 'claimed' as event, 'claim_window' as stage,
            case when not new.first_action_completed then new.contact_timer_expires_at end
                as expires_at,
            new.contact_timer_started_at as at,
            coalesce(new.contact_timer_started_at >= new.claim_timer_expires_at, false) as late
        where v_claimed
        union all
        select
            2, 'contacted', 'contact_window', null, v_now,
            coalesce(v_now >= new.contact_timer_expires_at, false)
        where v_contacted
    ) as e;
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
