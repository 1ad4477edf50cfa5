-- Intake: a new lead gets an owner (round robin) if it has none, and its claim timer starts.
-- Fires before every INSERT on crm_leads; engine-owned columns start fresh whatever was sent.
create or replace function public.crm_leads_intake()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_now constant timestamptz := public.sla_now();
    v_claim interval;
    v_contact interval;
begin
    select s.claim_window, s.contact_window into v_claim, v_contact
    from public.crm_sla_settings as s;

    new.claim_sla_breached := false;
    new.contact_sla_breached := false;
    new.sla_breached := false;
    new.reassignment_count := 0;
    new.previous_agent_id := null;
    new.reassignment_reason := null;
    new.reassigned_at := null;
    new.sla_escalated_at := null;

    if new.assigned_agent_id is null then
        -- First assignment, not a reassignment: no audit row.
        perform pg_advisory_xact_lock(4242002);
        new.assigned_agent_id := (public.crm_sla_routing_queue('agent'))[1];
        if new.assigned_agent_id is not null then
            perform public.crm_sla_mark_routed(array[new.assigned_agent_id]);
        end if;
    end if;

    new.claim_timer_started_at := v_now;
    new.claim_timer_expires_at := v_now + coalesce(v_claim, interval '5 minutes');
    new.claim_window_expires_at := new.claim_timer_expires_at;
    new.contact_timer_started_at := null;
    new.contact_timer_expires_at := null;
    if new.first_action_completed then
        new.lead_claimed := true;
    end if;
    if new.lead_claimed then
        -- Arrived already claimed (an import): the contact window starts now.
        new.contact_timer_started_at := v_now;
        new.contact_timer_expires_at := v_now + coalesce(v_contact, interval '5 minutes');
    end if;
    return new;
end
$$;

comment on function public.crm_leads_intake() is
'Trigger: routes an unowned new lead and starts its claim timer';

revoke execute on function public.crm_leads_intake() from public, anon, authenticated, service_role;

drop trigger if exists crm_leads_100_intake on public.crm_leads;

create trigger crm_leads_100_intake
before insert on public.crm_leads
for each row execute function public.crm_leads_intake();

comment on trigger crm_leads_100_intake on public.crm_leads is
'Routes an unowned new lead and starts its claim timer';
