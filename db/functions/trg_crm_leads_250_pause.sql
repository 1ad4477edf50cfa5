-- Stop the clock: while a lead's row contains its policy's pause_when, or a snooze
-- (crm_sla_snooze) has not ended, its running timer is paused, and it resumes when neither holds.
-- Fires before every UPDATE of a lead that has a policy or a pause (after the progress trigger, so
-- a timer started by this statement is seen, and starts paused); new leads are looked at once a
-- statement by crm_leads_420_pause_intake, and an INSERT that sends pause columns (the engine's)
-- gets them cleared here.
--
-- A paused timer has no instants (they are off the monitor's partial indexes, so it is neither
-- due nor warned): pausing keeps the open time left before each one (crm_sla_pause_left), and
-- resuming puts each one that much open time after the resume instant (crm_sla_deadline): the
-- deadline, the warning and the ladder's next step (a further per-lead instant adds a line to
-- each of the two lists marked "instants" below, and a column for its open time left). A timer
-- whose deadline has come cannot be paused any more (the breach stands). The time a timer spends
-- paused is kept for the statistics (sla_paused_total, the current pause excepted).
create or replace function public.crm_leads_pause()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_now timestamptz;
    v_when jsonb;
    v_expires timestamptz;
    v_resume timestamptz;
    v_hold boolean;
    v_match boolean;  -- the row contains its policy's pause_when
    v_other boolean;  -- pause_when has a value other than a string, a boolean or null
    v_running boolean;
    v_reason text;
    v_event text;
    v_start constant timestamptz := case
        when new.lead_claimed then new.contact_timer_started_at else new.claim_timer_started_at
    end;
    v_fresh boolean := false;  -- a timer run started by this statement
begin
    if tg_op = 'INSERT' then
        -- Engine-owned: a new lead starts unpaused whatever the client sent.
        new.sla_paused_at := null;
        new.sla_paused_left := null;
        new.sla_paused_warn_left := null;
        new.sla_paused_step_left := null;
        new.sla_paused_total := null;
        new.sla_snoozed_until := null;
        return new;
    end if;
    if v_start is distinct from (
        case when old.lead_claimed then old.contact_timer_started_at
            else old.claim_timer_started_at end
    ) then
        v_fresh := true;  -- a claim, a reassignment
        new.sla_paused_total := null;
    end if;

    -- The common case first, reading no clock: nothing holds a timer that runs. The row turned
    -- into jsonb costs about 15 us, so a condition of strings, booleans and nulls (the usual
    -- {"status": "waiting on customer"}) is first tried on the row itself: written over it with
    -- jsonb_populate_record, the row stays the same (byte for byte) whenever to_jsonb(row)
    -- contains it (the policy check made sure its values fit their columns); only then is the
    -- contract's test made.
    select
        p.pause_when,
        pg_catalog.jsonb_path_exists(
            p.pause_when, '$.* ? (@.type() != "string" && @.type() != "boolean" && @.type() != "null")'
        )
    into v_when, v_other
    from public.crm_sla_policies as p
    where p.id = new.sla_policy_id;
    v_match := false;
    if v_when is not null and (
        v_other or new operator(pg_catalog.*=) pg_catalog.jsonb_populate_record(new, v_when)
    ) then
        v_match := coalesce(pg_catalog.to_jsonb(new) @> v_when, false);
    end if;
    if not v_match and new.sla_paused_at is null and new.sla_snoozed_until is null then
        return new;
    end if;

    v_now := public.crm_sla_clock_now();
    v_running := new.assigned_agent_id is not null and new.sla_escalated_at is null
        and not new.first_action_completed and new.sla_waiting_since is null;
    v_expires := case
        when new.lead_claimed then new.contact_timer_expires_at else new.claim_timer_expires_at
    end;
    if not v_running then
        new.sla_snoozed_until := null;  -- a snooze is of a running timer
    end if;
    v_hold := v_match or coalesce(new.sla_snoozed_until > v_now, false);
    v_reason := case when new.sla_snoozed_until > v_now then 'snoozed' else 'status' end;

    if new.sla_paused_at is not null then
        if v_running and v_hold and v_expires is null then
            -- Still paused; a new snooze says so (with its end).
            if new.sla_snoozed_until is distinct from old.sla_snoozed_until
                and new.sla_snoozed_until is not null then
                v_event := 'paused';
            end if;
        else
            -- The pause ends: its timer resumes, a new timer replaced it (claim, reassignment:
            -- it may start paused below), or no timer runs any more.
            if v_running and v_expires is null then
                -- Resumed when the snooze ended (the monitor comes a moment later), else now.
                v_resume := case
                    when old.sla_snoozed_until <= v_now and new.sla_snoozed_until is null
                        then greatest(old.sla_snoozed_until, new.sla_paused_at)
                    else v_now
                end;
                -- Instants (resume): each the open time it had left after v_resume.
                v_expires := public.crm_sla_deadline(
                    new.sla_timer_calendar_id, v_resume, new.sla_paused_left
                );
                if new.sla_paused_warn_left is not null then
                    new.sla_warn_at := public.crm_sla_deadline(
                        new.sla_timer_calendar_id, v_resume, new.sla_paused_warn_left
                    );
                end if;
                if new.sla_paused_step_left is not null then
                    new.sla_step_at := public.crm_sla_deadline(
                        new.sla_timer_calendar_id, v_resume, new.sla_paused_step_left
                    );
                end if;
                if new.lead_claimed then
                    new.contact_timer_expires_at := v_expires;
                else
                    new.claim_timer_expires_at := v_expires;
                    new.claim_window_expires_at := v_expires;
                end if;
                new.sla_paused_total
                    := coalesce(new.sla_paused_total, interval '0') + (v_resume - new.sla_paused_at);
                v_event := 'resumed';
                v_reason := case when old.sla_snoozed_until is not null then 'snoozed' else 'status' end;
            end if;
            new.sla_paused_at := null;
            new.sla_paused_left := null;
            new.sla_paused_warn_left := null;
            new.sla_paused_step_left := null;
        end if;
    end if;

    if new.sla_paused_at is null and v_event is null and v_running and v_hold
        and v_expires > v_now then
        -- Pause: keep the open time left before each instant of the timer, then clear them. A
        -- timer this statement started is paused from its start: its whole window is left.
        if v_fresh and v_start is not null then
            v_now := least(v_now, v_start);
        end if;
        new.sla_paused_at := v_now;
        -- Instants (pause): the open time left before each, from v_now.
        new.sla_paused_left := public.crm_sla_pause_left(new.sla_timer_calendar_id, v_now, v_expires);
        new.sla_paused_warn_left := case when new.sla_warned_at is null then
            public.crm_sla_pause_left(new.sla_timer_calendar_id, v_now, new.sla_warn_at)
        end;
        if new.sla_paused_warn_left is not null then
            new.sla_warn_at := null;
        end if;
        new.sla_paused_step_left
            := public.crm_sla_pause_left(new.sla_timer_calendar_id, v_now, new.sla_step_at);
        if new.sla_paused_step_left is not null then
            new.sla_step_at := null;  -- the ladder's next step (crm_sla_emit_steps)
        end if;
        if new.lead_claimed then
            new.contact_timer_expires_at := null;
        else
            new.claim_timer_expires_at := null;
            new.claim_window_expires_at := null;
        end if;
        v_expires := null;
        v_event := 'paused';
    end if;

    if v_event is not null then
        perform public.crm_sla_emit(
            array[v_event], array[new.id], array[new.assigned_agent_id],
            array[case when new.lead_claimed then 'contact_window' else 'claim_window' end],
            array[v_expires], array[v_now],
            array[pg_catalog.jsonb_build_object(
                'reason', v_reason,
                'until', new.sla_snoozed_until,
                'left_seconds', extract(epoch from new.sla_paused_left),
                'note', case when new.sla_snoozed_until is distinct from old.sla_snoozed_until
                    then nullif(pg_catalog.current_setting('crm_sla.snooze_note', true), '') end
            )]
        );
    end if;
    return new;
end
$$;

comment on function public.crm_leads_pause() is
'Trigger: pauses a lead''s running timer while pause_when matches or a snooze runs, resumes it '
'with the open time it had left, and writes paused / resumed events';

revoke execute on function public.crm_leads_pause()
from public, anon, authenticated, service_role;

drop trigger if exists crm_leads_250_pause on public.crm_leads;

create trigger crm_leads_250_pause
before update on public.crm_leads
for each row
when (
    new.sla_policy_id is not null
    or pg_catalog.num_nonnulls(
        new.sla_paused_at, new.sla_paused_left, new.sla_paused_warn_left, new.sla_paused_step_left,
        new.sla_paused_total, new.sla_snoozed_until
    ) > 0
)
execute function public.crm_leads_pause();

comment on trigger crm_leads_250_pause on public.crm_leads is
'Pauses and resumes the running timer (pause_when, snoozes): paused and resumed events';

drop trigger if exists crm_leads_250_pause_sent on public.crm_leads;

create trigger crm_leads_250_pause_sent
before insert on public.crm_leads
for each row
when (
    pg_catalog.num_nonnulls(
        new.sla_paused_at, new.sla_paused_left, new.sla_paused_warn_left, new.sla_paused_step_left,
        new.sla_paused_total, new.sla_snoozed_until
    ) > 0
)
execute function public.crm_leads_pause();

comment on trigger crm_leads_250_pause_sent on public.crm_leads is
'Clears the pause columns an INSERT sent: they are the engine''s';
