-- The ladder: plans a lead's next step (crm_leads.sla_step_at) whenever a timer run starts (a
-- claim, a reassignment, a routed lead) and clears it when no timer runs (first action, waiting
-- for an agent, escalated). Fires before an UPDATE of crm_leads that changes the owner, a timer's
-- start or the stage (after crm_leads_200_progress, which starts the contact timer); intake plans
-- the first step itself and calendar re-planning re-plans it, as they do the warning.
create or replace function public.crm_leads_ladder()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
    v_start timestamptz;
    v_old_start timestamptz;
    v_expires timestamptz;
begin
    if new.lead_claimed then
        v_start := new.contact_timer_started_at;
        v_expires := new.contact_timer_expires_at;
    else
        v_start := new.claim_timer_started_at;
        v_expires := new.claim_timer_expires_at;
    end if;
    if new.assigned_agent_id is null or new.sla_escalated_at is not null
        or new.sla_waiting_since is not null or new.first_action_completed
        or v_expires is null then
        new.sla_step_at := null;  -- no timer runs: no step to take
        return new;
    end if;
    v_old_start := case
        when old.lead_claimed then old.contact_timer_started_at else old.claim_timer_started_at
    end;
    if new.lead_claimed is distinct from old.lead_claimed or v_start is distinct from v_old_start then
        new.sla_step_done := null;  -- a new timer run: every step again
    end if;
    new.sla_step_at := public.crm_sla_step_instant(
        new.sla_policy_id,
        case when new.lead_claimed then 'contact_window' else 'claim_window' end,
        new.sla_timer_calendar_id, v_start, new.sla_timer_window, new.sla_step_done
    );
    return new;
end
$$;

comment on function public.crm_leads_ladder() is
'Trigger: plans the next ladder step of a lead whose timer run starts or stops';

revoke execute on function public.crm_leads_ladder() from public, anon, authenticated, service_role;

drop trigger if exists crm_leads_250_ladder on public.crm_leads;

create trigger crm_leads_250_ladder
before update on public.crm_leads
for each row
when (
    (
        old.assigned_agent_id, old.lead_claimed, old.first_action_completed,
        old.claim_timer_started_at, old.contact_timer_started_at, old.sla_escalated_at,
        old.sla_waiting_since
    ) is distinct from (
        new.assigned_agent_id, new.lead_claimed, new.first_action_completed,
        new.claim_timer_started_at, new.contact_timer_started_at, new.sla_escalated_at,
        new.sla_waiting_since
    )
)
execute function public.crm_leads_ladder();

comment on trigger crm_leads_250_ladder on public.crm_leads is
'Plans the next ladder step when a timer run starts; clears it when none runs';
