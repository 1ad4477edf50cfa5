-- Progress: a claim starts the contact timer, a first action stops it; late ones set breach flags.
-- Both are timed when the statement runs (crm_sla_clock_now()), however long the transaction.
-- Fires before every UPDATE on crm_leads. For the API roles it also refuses writes to the
-- engine-owned columns (and to id and created_at, fixed at intake); the engine's own functions
-- run as the tables' owner and pass. Those columns are listed in crm_sla_engine_columns(); the
-- guard compares them column by column (a row comparison, cheaper than reading the list), and
-- tests/test_security.py holds it to the list.
create or replace function public.crm_leads_progress()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
    v_now timestamptz;
    v_plan record;
    v_changed text;
begin
    if current_user in ('anon', 'authenticated', 'service_role') then
        if new.assigned_agent_id is distinct from old.assigned_agent_id then
            raise exception 'the owner of lead % cannot be changed by an UPDATE', old.id
                using errcode = 'SL009',
                    hint = 'Admins and the service role reassign with reassign_lead(lead, agent, notes).';
        end if;
        if (old.lead_claimed and not new.lead_claimed)
            or (old.first_action_completed and not new.first_action_completed) then
            raise exception 'lead % cannot be un-claimed or un-contacted', old.id
                using errcode = 'SL009',
                    hint = 'Only a reassignment resets a lead to the claim stage.';
        end if;
        if (
            new.id, new.created_at,
            new.claim_timer_started_at, new.claim_timer_expires_at, new.claim_window_expires_at,
            new.contact_timer_started_at, new.contact_timer_expires_at,
            new.claim_sla_breached, new.contact_sla_breached, new.sla_breached,
            new.reassignment_count, new.previous_agent_id, new.reassignment_reason,
            new.reassigned_at, new.sla_escalated_at, new.sla_policy_id, new.sla_timer_window,
            new.sla_timer_calendar_id, new.sla_waiting_since, new.sla_warn_at, new.sla_warned_at,
            new.sla_step_at, new.sla_step_done,
            new.sla_paused_at, new.sla_paused_left, new.sla_paused_warn_left, new.sla_paused_step_left,
            new.sla_paused_total,
            new.sla_snoozed_until
        ) is distinct from (
            old.id, old.created_at,
            old.claim_timer_started_at, old.claim_timer_expires_at, old.claim_window_expires_at,
            old.contact_timer_started_at, old.contact_timer_expires_at,
            old.claim_sla_breached, old.contact_sla_breached, old.sla_breached,
            old.reassignment_count, old.previous_agent_id, old.reassignment_reason,
            old.reassigned_at, old.sla_escalated_at, old.sla_policy_id, old.sla_timer_window,
            old.sla_timer_calendar_id, old.sla_waiting_since, old.sla_warn_at, old.sla_warned_at,
            old.sla_step_at, old.sla_step_done,
            old.sla_paused_at, old.sla_paused_left, old.sla_paused_warn_left, old.sla_paused_step_left,
            old.sla_paused_total,
            old.sla_snoozed_until
        ) then
            select string_agg(n.key, ', ' order by n.key) into v_changed
            from jsonb_each(to_jsonb(new)) as n
            inner join jsonb_each(to_jsonb(old)) as o on n.key = o.key
            where n.value is distinct from o.value
                and n.key not in ('lead_claimed', 'first_action_completed');
            raise exception 'column(s) % of crm_leads are maintained by the SLA engine', v_changed
                using errcode = 'SL009',
                    hint = 'Set lead_claimed or first_action_completed (or call claim_lead / '
                    || 'complete_first_action); the engine keeps timers, flags and owners, '
                    || 'and a lead''s id and created_at never change.';
        end if;
    end if;

    if new.first_action_completed and not old.first_action_completed then
        new.lead_claimed := true;  -- a first action implies the lead was taken
    end if;

    if new.lead_claimed and not old.lead_claimed then
        new.sla_waiting_since := null;  -- its owner acted: no longer waiting for another agent
        v_now := public.crm_sla_clock_now();
        if new.claim_timer_expires_at is not null and v_now >= new.claim_timer_expires_at then
            new.claim_sla_breached := true;
            new.sla_breached := true;
        end if;
        -- The contact window of the lead's policy, in its calendar's open time.
        v_plan := public.crm_sla_timer_plan(new.sla_policy_id, 'contact', v_now);
        new.contact_timer_started_at := v_now;
        new.contact_timer_expires_at := v_plan.expires_at;
        new.sla_timer_window := v_plan.timer_window;
        new.sla_timer_calendar_id := v_plan.calendar_id;
        new.sla_warn_at := public.crm_sla_warn_instant(
            new.sla_policy_id, v_plan.calendar_id, v_now, v_plan.timer_window
        );
        new.sla_warned_at := null;
        new.sla_step_at := public.crm_sla_step_instant(  -- the ladder's first step
            new.sla_policy_id, 'contact_window', v_plan.calendar_id, v_now, v_plan.timer_window, null
        );
        new.sla_step_done := null;
    end if;

    if new.first_action_completed and not old.first_action_completed then
        new.sla_waiting_since := null;
        v_now := coalesce(v_now, public.crm_sla_clock_now());
        if new.contact_timer_expires_at is not null and v_now >= new.contact_timer_expires_at then
            new.contact_sla_breached := true;
            new.sla_breached := true;
        end if;
        new.sla_warn_at := null;  -- no timer runs: nothing left to warn about
        new.sla_step_at := null;
    end if;
    return new;
end
$$;

comment on function public.crm_leads_progress() is
'Trigger: claim and first-action timers and late flags; guards the engine-owned columns';

revoke execute on function public.crm_leads_progress()
from public, anon, authenticated, service_role;

drop trigger if exists crm_leads_200_progress on public.crm_leads;

create trigger crm_leads_200_progress
before update on public.crm_leads
for each row execute function public.crm_leads_progress();

comment on trigger crm_leads_200_progress on public.crm_leads is
'Starts the contact timer on claim, sets late flags, guards the engine-owned columns';
