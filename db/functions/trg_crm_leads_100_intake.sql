-- Intake: a new lead gets its SLA policy and its claim timer starts, in the policy's calendar
-- (crm_leads_150_route_first then routes the statement's first lead without an owner and clears
-- the timers of those still without one: they start when routing gives them an owner). Fires
-- before every INSERT on crm_leads; engine-owned columns start fresh whatever was sent. Every
-- import runs through here, so it queries nothing of its own for a lead with an owner: the
-- statement's SLA clock reading and the policies' matches are in crm_sla.intake_clock and
-- crm_sla.intake_policies (crm_leads_050_intake_clock), and a policy's timers are planned once a
-- statement, when its first lead matches it. An invoker function without a SET clause (each would
-- cost a microsecond a lead): every name in it is qualified.
create or replace function public.crm_leads_intake()
returns trigger
language plpgsql
as $$
declare
    v_clock text;
    v_policies text;
    v_list jsonb;
    v_doc jsonb;
    v_plan text;
    v_lines text[];
    v_at integer;  -- where the plan of the lead's policy starts in v_policies (many policies)
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

    -- An API session (agent, admin) could have planted the settings itself, so it reads the
    -- clock and the policies for each lead; the service role and trusted sessions, which may move
    -- the SLA clock and the windows anyway, share the statement's reading. '<claim start> <claim
    -- deadline> <contact deadline> <claim window> <contact window> <calendar> <claim warning>
    -- <contact warning>', microseconds.
    if pg_catalog.current_setting('role') not in ('anon', 'authenticated') then
        v_clock := pg_catalog.current_setting('crm_sla.intake_clock', true);
        v_policies := pg_catalog.current_setting('crm_sla.intake_policies', true);
    end if;
    if v_clock is null or v_clock = '' then
        v_clock := public.crm_sla_intake_clock();
        v_policies := public.crm_sla_intake_matches();
    end if;

    -- The lead's policy: the first active one (priority, name) that its row contains; the engine
    -- owns the column, so what the client sent does not count. Its timers are a line of
    -- crm_sla.intake_policies, with the same fields as the defaults' (after the first): with a
    -- few policies, the policy's id alone until a lead of the statement first matches it, then
    -- its plan; with many, the plans made so far.
    new.sla_policy_id := null;
    v_now := timestamptz 'epoch'
        + pg_catalog.split_part(v_clock, ' ', 1)::bigint * interval '1 microsecond';
    v_plan := v_clock;
    if pg_catalog.left(v_policies, 1) = '{' then
        -- Many policies (crm_sla_intake_matches): the plans made so far follow the first
        -- line, each starting with its policy's id.
        new.sla_policy_id := public.crm_sla_policy_for(
            pg_catalog.split_part(v_policies, E'\n', 1)::jsonb, pg_catalog.to_jsonb(new)
        );
        if new.sla_policy_id is not null then
            v_at := pg_catalog.strpos(v_policies, E'\n' || new.sla_policy_id::text);
            if v_at > 0 then
                v_plan := pg_catalog.split_part(
                    pg_catalog.substr(v_policies, v_at + 1), E'\n', 1
                );
            else
                v_plan := public.crm_sla_intake_plan(new.sla_policy_id, v_now);
                v_policies := v_policies || E'\n' || v_plan;
                if pg_catalog.current_setting('role') not in ('anon', 'authenticated') then
                    perform pg_catalog.set_config('crm_sla.intake_policies', v_policies, true);
                end if;
            end if;
        end if;
    elsif v_policies <> '' then
        -- A few policies: their matches in turn (a step costs about 4 microseconds).
        v_list := pg_catalog.split_part(v_policies, E'\n', 1)::jsonb;
        for i in 0 .. pg_catalog.jsonb_array_length(v_list) - 1 loop
            -- The row as jsonb costs about 10 microseconds: made once, and only when a policy
            -- matches on something.
            if v_list -> i <> '{}'::jsonb and v_doc is null then
                v_doc := pg_catalog.to_jsonb(new);
            end if;
            if v_list -> i = '{}'::jsonb or v_doc @> (v_list -> i) then
                v_plan := pg_catalog.split_part(v_policies, E'\n', i + 2);
                new.sla_policy_id := pg_catalog.split_part(v_plan, ' ', 1)::uuid;
                if pg_catalog.strpos(v_plan, ' ') = 0 then
                    v_plan := public.crm_sla_intake_plan(new.sla_policy_id, v_now);
                    v_lines := pg_catalog.string_to_array(v_policies, E'\n');
                    v_lines[i + 2] := v_plan;
                    v_policies := pg_catalog.array_to_string(v_lines, E'\n');
                    if pg_catalog.current_setting('role') not in ('anon', 'authenticated') then
                        perform pg_catalog.set_config('crm_sla.intake_policies', v_policies, true);
                    end if;
                end if;
                exit;
            end if;
        end loop;
    end if;

    -- A lead without an owner gets its timers planned too: crm_leads_150_route_first routes the
    -- statement's first one as it is written and clears the others' until they get an owner.
    new.claim_timer_started_at := v_now;
    new.claim_timer_expires_at := timestamptz 'epoch'
        + pg_catalog.split_part(v_plan, ' ', 2)::bigint * interval '1 microsecond';
    new.claim_window_expires_at := new.claim_timer_expires_at;
    new.sla_timer_window := pg_catalog.split_part(v_plan, ' ', 4)::bigint * interval '1 microsecond';
    new.sla_timer_calendar_id := nullif(pg_catalog.split_part(v_plan, ' ', 6), '-')::uuid;
    new.sla_warn_at := timestamptz 'epoch'
        + nullif(pg_catalog.split_part(v_plan, ' ', 7), '-')::bigint * interval '1 microsecond';
    new.sla_step_at := timestamptz 'epoch'  -- the ladder's first step (crm_sla_emit_steps)
        + nullif(pg_catalog.split_part(v_plan, ' ', 9), '-')::bigint * interval '1 microsecond';
    new.sla_step_done := null;
    if new.lead_claimed or new.first_action_completed then
        -- Arrived already claimed (an import): the contact window starts now.
        new.lead_claimed := true;
        new.contact_timer_started_at := new.claim_timer_started_at;
        new.contact_timer_expires_at := timestamptz 'epoch'
            + pg_catalog.split_part(v_plan, ' ', 3)::bigint * interval '1 microsecond';
        new.sla_timer_window
        := pg_catalog.split_part(v_plan, ' ', 5)::bigint * interval '1 microsecond';
        new.sla_warn_at := timestamptz 'epoch'
            + nullif(pg_catalog.split_part(v_plan, ' ', 8), '-')::bigint * interval '1 microsecond';
        new.sla_step_at := timestamptz 'epoch'
            + nullif(pg_catalog.split_part(v_plan, ' ', 10), '-')::bigint * interval '1 microsecond';
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
