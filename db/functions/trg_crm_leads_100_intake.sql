-- Intake: a new lead gets its SLA policy and its claim timer starts, in the policy's calendar
-- (the first one without an owner of a statement gets its timers planned here and its owner from
-- crm_leads_150_route_first, the others theirs at the end of the statement). Fires before every
-- INSERT on crm_leads; engine-owned columns start fresh whatever was sent. Every import runs
-- through here, so it queries nothing of its own for a lead with an owner: the statement's plan
-- (a crm_sla_intake_plan: SLA clock reading, the settings' timers, the policies' matches) is in
-- crm_sla.intake_plan (crm_leads_050_intake_clock), and a policy's timers are planned once a
-- statement, when its first lead matches it. An invoker function without a SET clause (each
-- would cost a microsecond a lead): every name in it is qualified.
create or replace function public.crm_leads_intake()
returns trigger
language plpgsql
as $$
declare
    v_trusted constant boolean
        := pg_catalog.current_setting('role') not in ('anon', 'authenticated');
    v_saved text;
    v_plan public.crm_sla_intake_plan;
    v_timers public.crm_sla_timer_start;
    v_doc jsonb;
    v_first integer := 1;
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

    -- An API session (agent, admin) could have planted the setting itself, so it plans for each
    -- lead; the service role and trusted sessions, which may move the SLA clock and the windows
    -- anyway, share the statement's plan.
    if v_trusted then
        v_saved := pg_catalog.current_setting('crm_sla.intake_plan', true);
    end if;
    if coalesce(v_saved, '') = '' then
        v_plan := public.crm_sla_plan_intake();
    else
        v_plan := v_saved::public.crm_sla_intake_plan;
    end if;

    -- The lead's policy: the first active one (priority, name) that its row contains; the engine
    -- owns the column, so what the client sent does not count. Its timers are planned the first
    -- time a lead of the statement matches it, and kept in the plan for the next ones.
    v_timers := v_plan.defaults;
    if pg_catalog.cardinality(v_plan.matches) > 8 then
        -- Many policies: one containment test each, in one query (a loop step costs about
        -- 4 microseconds, the query a few once); v_first is the first match's index.
        v_doc := pg_catalog.to_jsonb(new);
        select coalesce(min(e.i), pg_catalog.cardinality(v_plan.matches) + 1) into v_first
        from pg_catalog.unnest(v_plan.matches) with ordinality as e (m, i)
        where v_doc operator(pg_catalog.@>) e.m;
    end if;
    for i in v_first .. pg_catalog.cardinality(v_plan.matches) loop
        -- The row as jsonb costs about 10 microseconds: made once, and only when a policy
        -- matches on something.
        if v_plan.matches[i] <> '{}'::jsonb and v_doc is null then
            v_doc := pg_catalog.to_jsonb(new);
        end if;
        if v_plan.matches[i] = '{}'::jsonb or v_doc @> v_plan.matches[i] then
            v_timers := v_plan.timers[i];
            if v_timers.policy_id is null then
                v_timers := public.crm_sla_start_timers(v_plan.policy_ids[i], v_plan.at);
                v_plan.timers[i] := v_timers;
                if v_trusted then
                    perform pg_catalog.set_config('crm_sla.intake_plan', v_plan::text, true);
                end if;
            end if;
            exit;
        end if;
    end loop;
    new.sla_policy_id := v_timers.policy_id;

    -- A lead without an owner gets its timers planned too: crm_leads_150_route_first routes the
    -- statement's first one as it is written and clears the others' until they get an owner.
    new.claim_timer_started_at := v_plan.at;
    new.claim_timer_expires_at := v_timers.claim_expires_at;
    new.claim_window_expires_at := v_timers.claim_expires_at;
    new.sla_timer_window := v_timers.claim_window;
    new.sla_timer_calendar_id := v_timers.calendar_id;
    new.sla_warn_at := v_timers.claim_warn_at;
    if new.lead_claimed or new.first_action_completed then
        -- Arrived already claimed (an import): the contact window starts now.
        new.lead_claimed := true;
        new.contact_timer_started_at := v_plan.at;
        new.contact_timer_expires_at := v_timers.contact_expires_at;
        new.sla_timer_window := v_timers.contact_window;
        new.sla_warn_at := v_timers.contact_warn_at;
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
