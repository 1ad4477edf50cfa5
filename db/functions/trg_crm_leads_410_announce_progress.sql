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
    v_events text[] := array[]::text[];
    v_stages text[] := array[]::text[];
    v_expires timestamptz[] := array[]::timestamptz[];
    v_at timestamptz[] := array[]::timestamptz[];
    v_extra jsonb[] := array[]::jsonb[];
begin
    -- Plain array assignments rather than a query: this runs for every claim.
    if v_claimed then
        v_events := v_events || 'claimed'::text;
        v_stages := v_stages || 'claim_window'::text;
        v_expires := v_expires || case
            when not new.first_action_completed then new.contact_timer_expires_at
        end;
        v_at := v_at || new.contact_timer_started_at;
        v_extra := v_extra || jsonb_build_object(
            'late', coalesce(new.contact_timer_started_at >= new.claim_timer_expires_at, false)
        );
    end if;
    if v_contacted then
        -- Timed when its statement runs, as crm_leads_progress judged it (not at the
        -- transaction's start, which would put it before the claim it implies).
        v_now := public.crm_sla_clock_now();
        v_events := v_events || 'contacted'::text;
        v_stages := v_stages || 'contact_window'::text;
        v_expires := v_expires || null::timestamptz;
        v_at := v_at || v_now;
        v_extra := v_extra || jsonb_build_object(
            'late', coalesce(v_now >= new.contact_timer_expires_at, false)
        );
    end if;
    perform public.crm_sla_emit(
        v_events,
        array_fill(new.id, array[cardinality(v_events)]),
        array_fill(new.assigned_agent_id, array[cardinality(v_events)]),
        v_stages, v_expires, v_at, v_extra
    );
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
