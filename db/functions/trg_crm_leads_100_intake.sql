-- Intake: a new lead gets its SLA policy and its claim timer starts, in the policy's calendar
-- (crm_leads_150_route_first then routes the statement's first lead without an owner and clears
-- the timers of those still without one: they start when routing gives them an owner). Fires
-- before every INSERT on crm_leads; engine-owned columns start fresh whatever was sent. Every
-- import runs through here, so it queries nothing of its own for a lead with an owner: the
-- statement's plan for leads without a policy (its start is the statement's SLA clock reading)
-- and the policies' matches are in crm_sla.intake_clock and crm_sla.intake_policies
-- (crm_leads_050_intake_clock), and a policy's plan is made once a statement, when its first lead
-- matches it, and kept in a setting of its own. An invoker function without a SET clause (each
-- would cost a microsecond a lead): every name in it is qualified.
create or replace function public.crm_leads_intake()
returns trigger
language plpgsql
as $$
declare
    -- An API session (agent, admin) could have planted the settings itself, so it plans each
    -- lead alone; the service role and trusted sessions, which may move the SLA clock and the
    -- windows anyway, share the statement's plans.
    v_shared constant boolean
        := pg_catalog.current_setting('role') not in ('anon', 'authenticated');
    v_clock text;  -- the statement's plan for leads without a policy, as text
    v_plan public.crm_sla_intake_plan;  -- that plan, then the lead's own
    v_setting text;  -- the setting that keeps the plan of the lead's policy for the statement
    v_kept text;  -- its value
    v_policies jsonb;  -- crm_sla_intake_matches()
    v_list jsonb;
    v_match jsonb;
    v_doc jsonb;
    v_now timestamptz;  -- the statement's SLA clock reading
begin
    if (new.claim_sla_breached, new.contact_sla_breached, new.sla_breached, new.reassignment_count)
        is distinct from (false, false, false, 0)
        or pg_catalog.num_nonnulls(
            new.previous_agent_id, new.reassignment_reason, new.reassigned_at,
            new.sla_escalated_at, new.contact_timer_started_at, new.contact_timer_expires_at,
            new.sla_waiting_since, new.sla_warned_at
        ) > 0 then
        new.claim_sla_breached := false;
        new.contact_sla_breached := false;
        new.sla_breached := false;
        new.reassignment_count := 0;
        new.previous_agent_id := null;
        new.reassignment_reason := null;
        new.reassigned_at := null;
        new.sla_escalated_at := null;
        new.sla_waiting_since := null;
        new.contact_timer_started_at := null;
        new.contact_timer_expires_at := null;
        new.sla_warned_at := null;
    end if;

    -- The statement's plans are cast back from their text form only when a lead needs them.
    -- Their instants are microseconds (crm_sla_intake_plan): timestamptz text would cost each
    -- lead about 1.3 us more to read back.
    if v_shared then
        v_clock := pg_catalog.current_setting('crm_sla.intake_clock', true);
    end if;
    if v_clock is null or v_clock = '' then  -- an API session, or a nested INSERT's end cleared it
        v_plan := public.crm_sla_intake_plan_for(null, public.sla_now());
        v_policies := nullif(public.crm_sla_intake_matches(), '')::jsonb;
    else
        v_policies := nullif(
            pg_catalog.current_setting('crm_sla.intake_policies', true), ''
        )::jsonb;
    end if;

    -- The lead's policy: the first active one (priority, name) that its row contains; the engine
    -- owns the column, so what the client sent does not count.
    new.sla_policy_id := null;
    v_list := v_policies -> 'policies';
    if v_list is not null then
        -- A few policies: their matches in turn (a step costs about 4 microseconds).
        for i in 0 .. pg_catalog.jsonb_array_length(v_list) - 1 loop
            v_match := v_list -> i -> 'match';
            -- The row as jsonb costs about 10 microseconds: made once, and only when a policy
            -- matches on something.
            if v_match <> '{}'::jsonb and v_doc is null then
                v_doc := pg_catalog.to_jsonb(new);
            end if;
            if v_match = '{}'::jsonb or v_doc @> v_match then
                new.sla_policy_id := (v_list -> i ->> 'id')::uuid;
                exit;
            end if;
        end loop;
    elsif v_policies is not null then
        -- Many policies: one index probe a key set of their matches.
        new.sla_policy_id := public.crm_sla_policy_for(v_policies, pg_catalog.to_jsonb(new));
    end if;

    if new.sla_policy_id is null then
        if v_plan is null then
            v_plan := v_clock::public.crm_sla_intake_plan;
        end if;
    else
        -- The policy's plan is made when the statement's first lead matches it (so a policy no
        -- lead matches costs no calendar arithmetic) and kept in a setting of its own, named
        -- after the policy and listed in crm_sla.intake_planned (crm_leads_900_intake_done
        -- clears them): a lead reads its policy's plan alone, whatever the number of plans
        -- (reading them all cost each lead about 1.5 us a plan).
        if v_shared then
            v_setting := 'crm_sla.intake_plan_'  -- the id in hex: a setting's name has no '-'
                || pg_catalog.encode(pg_catalog.uuid_send(new.sla_policy_id), 'hex');
            v_kept := pg_catalog.current_setting(v_setting, true);
        end if;
        if v_kept is null or v_kept = '' then
            if v_plan is null then
                v_plan := v_clock::public.crm_sla_intake_plan;
            end if;
            v_plan := public.crm_sla_intake_plan_for(
                new.sla_policy_id,
                timestamptz 'epoch' + v_plan.starts_at_us * interval '1 microsecond'
            );
            if v_shared then
                perform
                    pg_catalog.set_config(v_setting, v_plan::text, true),
                    pg_catalog.set_config(
                        'crm_sla.intake_planned',
                        pg_catalog.array_append(
                            nullif(
                                pg_catalog.current_setting('crm_sla.intake_planned', true), ''
                            )::text[],
                            v_setting
                        )::text,
                        true
                    );
            end if;
        else
            v_plan := v_kept::public.crm_sla_intake_plan;
        end if;
    end if;
    v_now := timestamptz 'epoch' + v_plan.starts_at_us * interval '1 microsecond';

    -- A lead without an owner gets its timers planned too: crm_leads_150_route_first routes the
    -- statement's first one as it is written and clears the others' until they get an owner.
    new.claim_timer_started_at := v_now;
    new.claim_timer_expires_at
    := timestamptz 'epoch' + v_plan.claim_expires_at_us * interval '1 microsecond';
    new.claim_window_expires_at := new.claim_timer_expires_at;
    new.sla_timer_window := v_plan.claim_window_us * interval '1 microsecond';
    new.sla_timer_calendar_id := v_plan.calendar_id;
    new.sla_warn_at := timestamptz 'epoch' + v_plan.claim_warn_at_us * interval '1 microsecond';
    new.sla_step_at := timestamptz 'epoch'  -- the ladder's first step (crm_sla_emit_steps)
        + v_plan.claim_step_at_us * interval '1 microsecond';
    new.sla_step_done := null;
    if new.lead_claimed or new.first_action_completed then
        -- Arrived already claimed (an import): the contact window starts now.
        new.lead_claimed := true;
        new.contact_timer_started_at := v_now;
        new.contact_timer_expires_at
        := timestamptz 'epoch' + v_plan.contact_expires_at_us * interval '1 microsecond';
        new.sla_timer_window := v_plan.contact_window_us * interval '1 microsecond';
        new.sla_warn_at
        := timestamptz 'epoch' + v_plan.contact_warn_at_us * interval '1 microsecond';
        new.sla_step_at
        := timestamptz 'epoch' + v_plan.contact_step_at_us * interval '1 microsecond';
    end if;
    return new;
end
$$;

comment on function public.crm_leads_intake() is
'Trigger: picks a new lead''s SLA policy and starts its claim timer; engine-owned columns start '
'fresh';

revoke execute on function public.crm_leads_intake() from public, anon, authenticated, service_role;

drop trigger if exists crm_leads_100_intake on public.crm_leads;

create trigger crm_leads_100_intake
before insert on public.crm_leads
for each row execute function public.crm_leads_intake();

comment on trigger crm_leads_100_intake on public.crm_leads is
'Starts a new lead''s claim timer; engine-owned columns start fresh';
