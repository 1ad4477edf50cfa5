CREATE SCHEMA auth;

COMMENT ON SCHEMA auth IS 'Supabase compatibility shim: only auth.uid() (crm-sla baseline)';

CREATE SCHEMA public;

COMMENT ON SCHEMA public IS 'standard public schema';

CREATE TYPE public.crm_sla_intake_plan AS (
	policy_id uuid,
	starts_at_us bigint,
	claim_expires_at_us bigint,
	contact_expires_at_us bigint,
	claim_window_us bigint,
	contact_window_us bigint,
	calendar_id uuid,
	claim_warn_at_us bigint,
	contact_warn_at_us bigint,
	claim_step_at_us bigint,
	contact_step_at_us bigint
);

COMMENT ON TYPE public.crm_sla_intake_plan IS 'Internal: the timers a new lead starts under an SLA policy (or the settings), planned once an INSERT statement by crm_sla_intake_plan_for; instants in microseconds since 1970-01-01 UTC and windows in microseconds, because the intake trigger reads it back from a setting''s text for each lead and timestamptz text costs about 1.3 us more a lead to parse';

COMMENT ON COLUMN public.crm_sla_intake_plan.policy_id IS 'The policy (NULL: none, the settings'' defaults)';

COMMENT ON COLUMN public.crm_sla_intake_plan.starts_at_us IS 'When the timers start: the INSERT statement''s SLA clock reading';

COMMENT ON COLUMN public.crm_sla_intake_plan.claim_expires_at_us IS 'The claim deadline (claim_window after the start, in the calendar''s open time)';

COMMENT ON COLUMN public.crm_sla_intake_plan.contact_expires_at_us IS 'The contact deadline, for a lead that arrives already claimed';

COMMENT ON COLUMN public.crm_sla_intake_plan.claim_window_us IS 'The claim window';

COMMENT ON COLUMN public.crm_sla_intake_plan.contact_window_us IS 'The contact window';

COMMENT ON COLUMN public.crm_sla_intake_plan.calendar_id IS 'The business-hours calendar the deadlines are counted in (NULL: around the clock)';

COMMENT ON COLUMN public.crm_sla_intake_plan.claim_warn_at_us IS 'When the claim timer warns (NULL: never)';

COMMENT ON COLUMN public.crm_sla_intake_plan.contact_warn_at_us IS 'When the contact timer warns (NULL: never)';

COMMENT ON COLUMN public.crm_sla_intake_plan.claim_step_at_us IS 'The claim ladder''s first step (NULL: no step)';

COMMENT ON COLUMN public.crm_sla_intake_plan.contact_step_at_us IS 'The contact ladder''s first step (NULL: no step)';

CREATE FUNCTION auth.uid() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$
            select coalesce(
                nullif(current_setting('request.jwt.claim.sub', true), ''),
                (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
            )::uuid
        $$;

COMMENT ON FUNCTION auth.uid() IS 'The authenticated user id from request.jwt.claims, as Supabase defines it (crm-sla baseline)';

CREATE TABLE public.crm_leads (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    assigned_agent_id uuid,
    lead_claimed boolean DEFAULT false NOT NULL,
    first_action_completed boolean DEFAULT false NOT NULL,
    claim_window_expires_at timestamp with time zone,
    sla_breached boolean DEFAULT false NOT NULL,
    full_name text,
    email text,
    phone text,
    source text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    claim_timer_started_at timestamp with time zone,
    claim_timer_expires_at timestamp with time zone,
    claim_sla_breached boolean DEFAULT false,
    contact_timer_started_at timestamp with time zone,
    contact_timer_expires_at timestamp with time zone,
    contact_sla_breached boolean DEFAULT false,
    reassignment_count integer DEFAULT 0,
    previous_agent_id uuid,
    reassignment_reason text,
    reassigned_at timestamp with time zone,
    sla_escalated_at timestamp with time zone,
    sla_policy_id uuid,
    sla_timer_window interval,
    sla_timer_calendar_id uuid,
    sla_waiting_since timestamp with time zone,
    sla_warn_at timestamp with time zone,
    sla_warned_at timestamp with time zone,
    sla_step_at timestamp with time zone,
    sla_step_done numeric,
    sla_paused_at timestamp with time zone,
    sla_paused_left interval,
    sla_paused_warn_left interval,
    sla_paused_step_left interval,
    sla_paused_total interval,
    sla_snoozed_until timestamp with time zone
);

COMMENT ON TABLE public.crm_leads IS 'Sales leads; each has an owner who must claim it, then contact it (crm-sla baseline)';

COMMENT ON COLUMN public.crm_leads.claim_window_expires_at IS 'Legacy: mirrors claim_timer_expires_at';

COMMENT ON COLUMN public.crm_leads.sla_breached IS 'Legacy: true once either SLA window was missed';

COMMENT ON COLUMN public.crm_leads.claim_timer_started_at IS 'When the lead was created and claim window started';

COMMENT ON COLUMN public.crm_leads.claim_timer_expires_at IS 'When the 5-minute claim window expires (5 min after creation)';

COMMENT ON COLUMN public.crm_leads.claim_sla_breached IS 'True once an owner missed the claim window (stays set after reassignment)';

COMMENT ON COLUMN public.crm_leads.contact_timer_started_at IS 'When the lead was claimed and contact window started';

COMMENT ON COLUMN public.crm_leads.contact_timer_expires_at IS 'When the 5-minute contact window expires (5 min after claim)';

COMMENT ON COLUMN public.crm_leads.contact_sla_breached IS 'True once an owner missed the contact window (stays set after reassignment)';

COMMENT ON COLUMN public.crm_leads.reassignment_count IS 'How many times the lead changed owner (one audit row each)';

COMMENT ON COLUMN public.crm_leads.previous_agent_id IS 'The owner before the latest reassignment';

COMMENT ON COLUMN public.crm_leads.reassignment_reason IS 'Why the latest reassignment happened: unclaimed, no_contact or manual';

COMMENT ON COLUMN public.crm_leads.reassigned_at IS 'When the latest reassignment happened (SLA clock)';

COMMENT ON COLUMN public.crm_leads.sla_escalated_at IS 'When the monitor escalated the lead to an admin; the monitor no longer moves it';

COMMENT ON COLUMN public.crm_leads.sla_policy_id IS 'The SLA policy chosen at intake, kept for life (engine-owned); NULL: the settings'' defaults';

COMMENT ON COLUMN public.crm_leads.sla_timer_window IS 'The window of the running timer (claim or contact), as it was when the timer started (engine-owned)';

COMMENT ON COLUMN public.crm_leads.sla_timer_calendar_id IS 'The calendar whose open time the running timer counts; NULL: around the clock (engine-owned)';

COMMENT ON COLUMN public.crm_leads.sla_waiting_since IS 'When the monitor found nobody eligible to take this overdue lead (engine-owned); NULL once moved';

COMMENT ON COLUMN public.crm_leads.sla_warn_at IS 'When the running timer warns (warn_at of its window in its calendar''s open time); NULL: no warning for it (engine-owned)';

COMMENT ON COLUMN public.crm_leads.sla_warned_at IS 'When the running timer''s warning event was written; NULL: not yet (engine-owned)';

COMMENT ON COLUMN public.crm_leads.sla_step_at IS 'When the running timer''s next ladder step falls due (engine-owned); NULL: none left';

COMMENT ON COLUMN public.crm_leads.sla_step_done IS 'The `at` of the last ladder step taken in this timer run (engine-owned); NULL: none yet';

COMMENT ON COLUMN public.crm_leads.sla_paused_at IS 'When the running timer was paused (pause_when matched, or a snooze); NULL: it runs (engine-owned)';

COMMENT ON COLUMN public.crm_leads.sla_paused_left IS 'Open time that was left on the paused timer''s deadline: it falls due that long after it resumes (engine-owned)';

COMMENT ON COLUMN public.crm_leads.sla_paused_warn_left IS 'Open time that was left before the paused timer''s warning; NULL: no warning pending (engine-owned)';

COMMENT ON COLUMN public.crm_leads.sla_paused_step_left IS 'Open time that was left before the paused timer''s next ladder step; NULL: no step pending (engine-owned)';

COMMENT ON COLUMN public.crm_leads.sla_paused_total IS 'Time the running timer spent paused before its current pause: statistics leave it out (engine-owned)';

COMMENT ON COLUMN public.crm_leads.sla_snoozed_until IS 'The snooze (crm_sla_snooze) of the running timer ends at this instant of the SLA clock; the monitor resumes it then (engine-owned)';

CREATE FUNCTION public.claim_lead(p_lead_id uuid) RETURNS public.crm_leads
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
    -- PL/pgSQL rather than SQL: a SQL function with a SET clause is parsed and planned again
    -- on every call, which cost a third of a claim's time.
    return public.crm_sla_progress_lead(p_lead_id, 'claim');
end
$$;

COMMENT ON FUNCTION public.claim_lead(p_lead_id uuid) IS 'The owner (or the service role) claims a lead: the contact window starts';

CREATE FUNCTION public.complete_first_action(p_lead_id uuid) RETURNS public.crm_leads
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
    -- PL/pgSQL rather than SQL: a SQL function with a SET clause is parsed and planned again
    -- on every call, which cost a third of a claim's time.
    return public.crm_sla_progress_lead(p_lead_id, 'first action');
end
$$;

COMMENT ON FUNCTION public.complete_first_action(p_lead_id uuid) IS 'The owner (or the service role) records the first contact: the contact timer is done';

CREATE FUNCTION public.crm_agent_sla_stats(p_from timestamp with time zone DEFAULT NULL::timestamp with time zone, p_to timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS TABLE(agent_id uuid, full_name text, leads_received bigint, received_by_reassignment bigint, claimed_in_window bigint, claimed_late bigint, contacted_in_window bigint, contacted_late bigint, missed_claim bigint, missed_contact bigint, reassigned_away bigint, breach_rate numeric, median_seconds_to_claim numeric, median_seconds_to_contact numeric)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
    v_from timestamptz;
    v_to timestamptz;
    v_everyone boolean;  -- false: an agent, who sees its own numbers only
begin
    select s.period_from, s.period_to, s.everyone into v_from, v_to, v_everyone
    from public.crm_sla_stats_scope(p_from, p_to) as s;
    return query
    with first_owner as (
        select
            l.id,
            l.created_at,
            coalesce((
                select r.from_agent_id from public.crm_lead_reassignments as r
                where r.lead_id = l.id
                order by r.created_at, r.id
                limit 1
            ), l.assigned_agent_id) as agent_id
        from public.crm_leads as l
        where l.created_at >= v_from and l.created_at < v_to
    ),

    moves as (
        select r.from_agent_id, r.to_agent_id, r.reason
        from public.crm_lead_reassignments as r
        where r.created_at >= v_from and r.created_at < v_to
    ),

    events as (
        select e.agent_id, e.event, e.late, e.elapsed
        from public.crm_lead_sla_events as e
        where e.at >= v_from and e.at < v_to
    ),

    per_agent as (
        select
            a.id,
            a.full_name,
            (select count(*) from first_owner as f where f.agent_id = a.id) as initial,
            (select count(*) from moves as m where m.to_agent_id = a.id) as moved_in,
            (select count(*) from events as e
             where e.agent_id = a.id and e.event = 'claimed' and not e.late) as claim_ok,
            (select count(*) from events as e
             where e.agent_id = a.id and e.event = 'claimed' and e.late) as claim_late,
            (select count(*) from events as e
             where e.agent_id = a.id and e.event = 'contacted' and not e.late) as contact_ok,
            (select count(*) from events as e
             where e.agent_id = a.id and e.event = 'contacted' and e.late) as contact_late,
            (select count(*) from moves as m
             where m.from_agent_id = a.id and m.reason = 'unclaimed') as miss_claim,
            (select count(*) from moves as m
             where m.from_agent_id = a.id and m.reason = 'no_contact') as miss_contact,
            (select count(*) from moves as m where m.from_agent_id = a.id) as away,
            (select percentile_cont(0.5) within group (order by extract(epoch from e.elapsed))
             from events as e where e.agent_id = a.id and e.event = 'claimed') as med_claim,
            (select percentile_cont(0.5) within group (order by extract(epoch from e.elapsed))
             from events as e where e.agent_id = a.id and e.event = 'contacted') as med_contact
        from public.crm_agents as a
        where a.role <> 'system'
            and (v_everyone or a.id = auth.uid())
    )

    select
        p.id,
        p.full_name,
        p.initial + p.moved_in,
        p.moved_in,
        p.claim_ok,
        p.claim_late,
        p.contact_ok,
        p.contact_late,
        p.miss_claim,
        p.miss_contact,
        p.away,
        round(
            (p.claim_late + p.contact_late + p.miss_claim + p.miss_contact)::numeric
            / nullif(p.initial + p.moved_in, 0), 3
        ),
        round(p.med_claim::numeric),
        round(p.med_contact::numeric)
    from per_agent as p
    order by p.full_name, p.id;
end
$$;

COMMENT ON FUNCTION public.crm_agent_sla_stats(p_from timestamp with time zone, p_to timestamp with time zone) IS 'Per-agent SLA statistics over a period of the SLA clock (default: the last 24 hours); an agent sees only its own row';

CREATE FUNCTION public.crm_lead_reassignments_append_only() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
    if tg_op = 'DELETE' and not exists (
        select from public.crm_leads as l where l.id = old.lead_id
    ) then
        return old;  -- the lead itself is being deleted: ON DELETE CASCADE
    end if;
    raise exception 'crm_lead_reassignments is append-only: % is not allowed', tg_op
        using errcode = 'SL012',
            hint = 'Audit rows are never changed; they go only with their lead.';
end
$$;

COMMENT ON FUNCTION public.crm_lead_reassignments_append_only() IS 'Trigger: refuses UPDATE and DELETE of audit rows, except the cascade from deleting the lead';

CREATE FUNCTION public.crm_leads_announce_intake() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
    if not exists (select from new_leads as n where n.assigned_agent_id is not null) then
        return null;
    end if;
    perform public.crm_sla_emit(
        array_agg('assigned'::text),
        array_agg(n.id),
        array_agg(n.assigned_agent_id),
        array_agg(case when n.lead_claimed then 'contact_window' else 'claim_window' end),
        array_agg(public.crm_sla_breach_at(n)),
        array_agg(n.claim_timer_started_at)
    )
    from new_leads as n
    where n.assigned_agent_id is not null;
    return null;
end
$$;

COMMENT ON FUNCTION public.crm_leads_announce_intake() IS 'Trigger: an assigned event (outbox, crm_sla) for each new lead with an owner, one INSERT a statement';

CREATE FUNCTION public.crm_leads_announce_progress() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

COMMENT ON FUNCTION public.crm_leads_announce_progress() IS 'Trigger: claimed and contacted events (outbox, crm_sla) for claims and first actions';

CREATE FUNCTION public.crm_leads_claim_resets_misses() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
    update public.crm_sla_agent_misses as c set missed_claims = 0
    where c.agent_id = new.assigned_agent_id and c.missed_claims > 0;
    return null;
end
$$;

COMMENT ON FUNCTION public.crm_leads_claim_resets_misses() IS 'Trigger: a claim resets the claimer''s count of missed claim windows (auto-pause)';

CREATE FUNCTION public.crm_leads_intake() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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

COMMENT ON FUNCTION public.crm_leads_intake() IS 'Trigger: picks a new lead''s SLA policy and starts its claim timer; engine-owned columns start fresh';

CREATE FUNCTION public.crm_leads_intake_clock() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
    v_clock constant public.crm_sla_intake_plan
        := public.crm_sla_intake_plan_for(null, public.sla_now());
begin
    perform
        pg_catalog.set_config('crm_sla.intake_clock', v_clock::text, true),
        pg_catalog.set_config('crm_sla.intake_routed', '', true),
        pg_catalog.set_config('crm_sla.intake_policies', public.crm_sla_intake_matches(), true);
    return null;
end
$$;

COMMENT ON FUNCTION public.crm_leads_intake_clock() IS 'Trigger: reads the SLA clock and the policies once for an INSERT statement on crm_leads';

CREATE FUNCTION public.crm_leads_intake_done() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
    if exists (select from public.crm_leads as l where l.assigned_agent_id is null) then
        -- One order for every router: the routing row first (to the end of the transaction).
        perform from public.crm_sla_routing_lock for update;
        perform public.crm_sla_route_waiting(null, public.sla_now());
        if exists (select from public.crm_leads as l where l.assigned_agent_id is null) then
            -- Leads nobody could take wait in the overflow queue: tell the board they exist.
            perform pg_catalog.pg_notify('crm_sla', '{"event": "inserted"}');
        end if;
    end if;
    -- The policies' plans (crm_leads_intake): each in the setting crm_sla.intake_planned names.
    perform pg_catalog.set_config(p.setting, '', true)
    from pg_catalog.unnest(
        nullif(pg_catalog.current_setting('crm_sla.intake_planned', true), '')::text[]
    ) as p (setting);
    perform
        pg_catalog.set_config('crm_sla.intake_clock', '', true),
        pg_catalog.set_config('crm_sla.intake_policies', '', true),
        pg_catalog.set_config('crm_sla.intake_planned', '', true),
        pg_catalog.set_config('crm_sla.intake_routed', '', true);
    return null;
end
$$;

COMMENT ON FUNCTION public.crm_leads_intake_done() IS 'Trigger: routes an INSERT statement''s unowned leads (and older waiting ones); clears its clock';

CREATE FUNCTION public.crm_leads_pause() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
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
$_$;

COMMENT ON FUNCTION public.crm_leads_pause() IS 'Trigger: pauses a lead''s running timer while pause_when matches or a snooze runs, resumes it with the open time it had left, and writes paused / resumed events';

CREATE FUNCTION public.crm_leads_pause_intake() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
    if exists (select from public.crm_sla_policies as p where p.pause_when is not null) then
        update public.crm_leads as l
        set sla_paused_at = null  -- the pause trigger decides
        from new_leads as n
        inner join public.crm_sla_policies as p on n.sla_policy_id = p.id
        where l.id = n.id
            and n.assigned_agent_id is not null
            and p.pause_when is not null
            and pg_catalog.to_jsonb(n) @> p.pause_when;
    end if;
    return null;
end
$$;

COMMENT ON FUNCTION public.crm_leads_pause_intake() IS 'Trigger: new leads that arrive matching their policy''s pause_when start paused';

CREATE FUNCTION public.crm_leads_progress() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

COMMENT ON FUNCTION public.crm_leads_progress() IS 'Trigger: claim and first-action timers and late flags; guards the engine-owned columns';

CREATE FUNCTION public.crm_leads_route_first() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
    if coalesce(pg_catalog.current_setting('crm_sla.intake_routed', true), '') = '' then
        -- A session that plants the setting only puts its leads off to the end.
        perform pg_catalog.set_config('crm_sla.intake_routed', 'y', true);
        if new.sla_policy_id is not null then  -- its owner_key value (crm_sla_owner_keys)
            perform pg_catalog.set_config('crm_sla.new_lead', pg_catalog.to_jsonb(new)::text, true);
        end if;
        new.assigned_agent_id := public.crm_sla_route_new_lead(
            new.id, new.sla_policy_id, new.claim_timer_started_at
        );
    end if;
    if new.assigned_agent_id is null then
        -- Its claim timer starts when it gets an owner.
        new.lead_claimed := false;
        new.first_action_completed := false;
        new.claim_timer_started_at := null;
        new.claim_timer_expires_at := null;
        new.claim_window_expires_at := null;
        new.contact_timer_started_at := null;
        new.contact_timer_expires_at := null;
        new.sla_timer_window := null;
        new.sla_timer_calendar_id := null;
        new.sla_warn_at := null;
        new.sla_step_at := null;
    end if;
    return new;
end
$$;

COMMENT ON FUNCTION public.crm_leads_route_first() IS 'Trigger: routes the first unowned lead of an INSERT as it is written; unowned leads wait with no timer';

CREATE FUNCTION public.crm_leads_sla_events() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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

COMMENT ON FUNCTION public.crm_leads_sla_events() IS 'Trigger: logs claims and first actions into crm_lead_sla_events';

CREATE FUNCTION public.crm_sla_absences_at(p_at timestamp with time zone) RETURNS TABLE(agent_id uuid, absent_until timestamp with time zone)
    LANGUAGE sql STABLE
    AS $$
    select b.agent_id, max(b.ends_at)
    from public.crm_sla_agent_absences as b
    where b.ends_at > p_at and b.starts_at <= p_at
    group by b.agent_id
$$;

COMMENT ON FUNCTION public.crm_sla_absences_at(p_at timestamp with time zone) IS 'Internal: agents inside an absence at the instant, with when their latest absence under way ends';

CREATE FUNCTION public.crm_sla_agent_absences_check() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
    if new.starts_at is null or new.ends_at is null or new.ends_at <= new.starts_at then
        raise exception 'an absence must end after it starts, got % to %',
            coalesce(new.starts_at::text, 'NULL'), coalesce(new.ends_at::text, 'NULL')
            using errcode = 'SL010',
                hint = 'Give starts_at and ends_at with ends_at later, e.g. a day: '
                || 'starts_at = ''2026-12-24'', ends_at = ''2026-12-27''.';
    end if;
    if length(new.reason) > 500 then
        raise exception 'the absence''s reason is % characters long; at most 500 are kept',
            length(new.reason)
            using errcode = 'SL010', hint = 'Shorten the reason.';
    end if;
    if (
        select count(*) from public.crm_sla_agent_absences as b
        where b.agent_id = new.agent_id and b.ends_at > public.sla_now() and b.id <> new.id
    ) >= 100 then
        raise exception 'agent % already has 100 absences that have not ended', new.agent_id
            using errcode = 'SL010',
                hint = 'Join adjacent absences into one, or delete ones no longer planned.';
    end if;
    return new;
end
$$;

COMMENT ON FUNCTION public.crm_sla_agent_absences_check() IS 'Trigger: refuses an absence that does not end after it starts, or past 100 pending ones (SL010)';

CREATE FUNCTION public.crm_sla_agent_routing_check() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
    if new.manager_id = new.agent_id then
        raise exception 'agent % cannot be its own manager', new.agent_id
            using errcode = 'SL010',
                detail = 'manager_id names the agent the ladder goes up to from this one.',
                hint = 'Set manager_id to another agent (or admin), or NULL to use the manager of '
                || 'the agent''s first team.';
    end if;
    return new;
end
$$;

COMMENT ON FUNCTION public.crm_sla_agent_routing_check() IS 'Trigger: refuses an agent that is its own manager (SL010)';

CREATE FUNCTION public.crm_sla_apply_reassignments(p_lead_ids uuid[], p_to_agents uuid[], p_stages text[], p_escalate boolean[], p_by uuid, p_notes text, p_at timestamp with time zone) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
    v_count integer;
begin
    with moves as (
        select m.lead_id, m.to_agent, m.stage, m.escalate
        from unnest(p_lead_ids, p_to_agents, p_stages, p_escalate)
            as m (lead_id, to_agent, stage, escalate)
    ),

    -- The fresh claim timer of each policy among these leads, computed once a policy
    -- (materialized: inlined, the planner calls the plan functions once a lead).
    plans as materialized (
        select
            q.policy_id, t.expires_at, t.timer_window, t.calendar_id,
            public.crm_sla_warn_instant(q.policy_id, t.calendar_id, p_at, t.timer_window) as warn_at,
            public.crm_sla_step_instant(
                q.policy_id, 'claim_window', t.calendar_id, p_at, t.timer_window, null
            ) as step_at  -- the ladder's first step
        from (
            select distinct l.sla_policy_id as policy_id
            from public.crm_leads as l
            inner join moves as m on l.id = m.lead_id
        ) as q
        cross join lateral public.crm_sla_timer_plan(q.policy_id, 'claim', p_at) as t
    ),

    moved as (
        update public.crm_leads as l
        set
            previous_agent_id = l.assigned_agent_id,
            assigned_agent_id = m.to_agent,
            reassignment_count = coalesce(l.reassignment_count, 0) + 1,
            reassignment_reason = case m.stage
                when 'claim_window' then 'unclaimed'
                when 'contact_window' then 'no_contact'
                when 'manual' then 'manual'
                else m.stage  -- declined, unavailable
            end,
            reassigned_at = p_at,
            lead_claimed = false,
            first_action_completed = false,
            claim_timer_started_at = p_at,
            claim_timer_expires_at = pl.expires_at,
            claim_window_expires_at = pl.expires_at,
            sla_timer_window = pl.timer_window,
            sla_timer_calendar_id = pl.calendar_id,
            sla_warn_at = case when not m.escalate then pl.warn_at end,  -- a new timer run
            sla_warned_at = null,
            sla_step_at = case when not m.escalate then pl.step_at end,
            sla_step_done = null,
            contact_timer_started_at = null,
            contact_timer_expires_at = null,
            claim_sla_breached = coalesce(l.claim_sla_breached, false) or m.stage = 'claim_window',
            contact_sla_breached
            = coalesce(l.contact_sla_breached, false) or m.stage = 'contact_window',
            sla_breached = l.sla_breached or m.stage in ('claim_window', 'contact_window'),
            -- An escalated lead sits with an admin: the monitor no longer moves it.
            sla_escalated_at = case when m.escalate then p_at end,
            sla_waiting_since = null
        from moves as m, plans as pl
        where l.id = m.lead_id and pl.policy_id is not distinct from l.sla_policy_id
        returning
            l.id, l.previous_agent_id, l.assigned_agent_id, l.reassignment_reason,
            case when m.stage in ('declined', 'unavailable') then 'claim_window' else m.stage end
                as stage,
            m.escalate, l.claim_timer_expires_at
    ),

    audit as (
        insert into public.crm_lead_reassignments (
            lead_id, from_agent_id, to_agent_id, reassigned_by, reason, stage, notes, created_at
        )
        select
            mv.id, mv.previous_agent_id, mv.assigned_agent_id, p_by, mv.reassignment_reason,
            mv.stage, p_notes, p_at
        from moved as mv
        returning id
    )

    select
        public.crm_sla_emit(
            array_agg(case
                when mv.escalate then 'escalated'
                when mv.previous_agent_id is null then 'assigned'
                else 'reassigned'
            end order by mv.id),
            array_agg(mv.id order by mv.id),
            array_agg(mv.assigned_agent_id order by mv.id),
            array_agg(mv.stage order by mv.id),
            -- An escalated lead sits with an admin and no timer runs for it.
            array_agg(case when not mv.escalate then mv.claim_timer_expires_at end order by mv.id),
            array_agg(p_at order by mv.id),
            array_agg(jsonb_build_object(
                'from_agent_id', mv.previous_agent_id,
                'to_agent_id', mv.assigned_agent_id,  -- = agent_id; what release 0.1.0 announced
                'reason', mv.reassignment_reason
            ) order by mv.id)
        )
    into v_count
    from moved as mv;  -- the audit insert runs regardless: data-modifying CTEs always complete

    return v_count;
end
$$;

COMMENT ON FUNCTION public.crm_sla_apply_reassignments(p_lead_ids uuid[], p_to_agents uuid[], p_stages text[], p_escalate boolean[], p_by uuid, p_notes text, p_at timestamp with time zone) IS 'Internal: writes reassignments (lead rows, audit rows, events) for locked leads';

CREATE FUNCTION public.crm_sla_auto_pause(p_leads uuid[], p_at timestamp with time zone) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
    v_after integer;
    v_agents uuid[];
    v_missed integer[];
    v_full uuid[];  -- agents whose count reached the limit
    v_paused uuid[];
begin
    select s.auto_pause_after into v_after from public.crm_sla_settings as s;
    if v_after is null then
        return 0;
    end if;
    select array_agg(m.agent_id order by m.agent_id), array_agg(m.n order by m.agent_id)
    into v_agents, v_missed
    from (
        select l.previous_agent_id as agent_id, count(*)::integer as n
        from public.crm_leads as l
        where l.id = any(p_leads) and l.reassignment_reason = 'unclaimed'
            and l.reassigned_at = p_at and l.previous_agent_id is not null
            -- out of office is no miss: an absent agent's late leads do not count
            and l.previous_agent_id not in (
                select b.agent_id from public.crm_sla_absences_at(p_at) as b
            )
        group by l.previous_agent_id
    ) as m;
    if v_agents is null then
        return 0;
    end if;

    insert into public.crm_sla_agent_misses (agent_id)
    select a from unnest(v_agents) as a
    on conflict (agent_id) do nothing;
    -- A count that a claim holds right now is skipped: that claim resets it anyway.
    with counted as (
        update public.crm_sla_agent_misses as c
        set missed_claims = c.missed_claims + x.n
        from unnest(v_agents, v_missed) as x (agent_id, n)
        where c.agent_id = x.agent_id and c.agent_id in (
            select k.agent_id from public.crm_sla_agent_misses as k
            where k.agent_id = any(v_agents)
            for update skip locked
        )
        returning c.agent_id, c.missed_claims
    )

    select array_agg(c.agent_id) into v_full from counted as c where c.missed_claims >= v_after;
    if v_full is null then
        return 0;
    end if;
    -- The agents' rows too are skipped when held (an admin editing one): such a count stays at
    -- the limit, and the agent's next miss pauses it.
    v_full := array(
        select a.id from public.crm_agents as a
        where a.id = any(v_full)
        order by a.id
        for no key update skip locked
    );
    update public.crm_sla_agent_misses as c set missed_claims = 0
    where c.agent_id = any(v_full);
    with paused as (
        update public.crm_agents as a
        set accepting_leads = false
        where a.id = any(v_full) and a.role = 'agent' and a.accepting_leads
        returning a.id
    )

    select array_agg(p.id order by p.id) into v_paused from paused as p;
    if v_paused is null then
        return 0;
    end if;

    perform public.crm_sla_emit(
        array_fill('agent_paused'::text, array[cardinality(v_paused)]),
        array_fill(null::uuid, array[cardinality(v_paused)]),
        v_paused,
        array_fill(null::text, array[cardinality(v_paused)]),
        array_fill(null::timestamptz, array[cardinality(v_paused)]),
        array_fill(p_at, array[cardinality(v_paused)]),
        -- For its manager chain: the first active manager, to whom a webhook or a board can
        -- pass it on (NULL: none).
        array(
            select jsonb_build_object(
                'missed_claims', v_after, 'reason', 'missed claim windows',
                'manager_id', public.crm_sla_first_manager(a.id)
            )
            from unnest(v_paused) with ordinality as a (id, ord)
            order by a.ord
        )
    );
    return cardinality(v_paused);
end
$$;

COMMENT ON FUNCTION public.crm_sla_auto_pause(p_leads uuid[], p_at timestamp with time zone) IS 'Internal: counts missed claim windows and pauses an agent after auto_pause_after in a row';

CREATE FUNCTION public.crm_sla_breach_at(p_lead public.crm_leads) RETURNS timestamp with time zone
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    select public.crm_sla_breach_at_columns(
        p_lead.lead_claimed, p_lead.first_action_completed, p_lead.sla_escalated_at,
        p_lead.claim_timer_expires_at, p_lead.contact_timer_expires_at
    )
$$;

COMMENT ON FUNCTION public.crm_sla_breach_at(p_lead public.crm_leads) IS 'What is due: the instant the lead''s running SLA timer breaches; NULL when no timer runs';

CREATE FUNCTION public.crm_sla_breach_at_columns(p_lead_claimed boolean, p_first_action_completed boolean, p_sla_escalated_at timestamp with time zone, p_claim_timer_expires_at timestamp with time zone, p_contact_timer_expires_at timestamp with time zone) RETURNS timestamp with time zone
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    -- Plain SQL without SET clauses, so the planner inlines it: queries and the index see this
    -- CASE on the columns. A change to it needs a REINDEX of crm_leads_sla_breach_idx in the
    -- same migration (the index stores what it returned).
    select case
        when p_sla_escalated_at is not null or p_first_action_completed then null
        when p_lead_claimed then p_contact_timer_expires_at
        else p_claim_timer_expires_at
    end
$$;

COMMENT ON FUNCTION public.crm_sla_breach_at_columns(p_lead_claimed boolean, p_first_action_completed boolean, p_sla_escalated_at timestamp with time zone, p_claim_timer_expires_at timestamp with time zone, p_contact_timer_expires_at timestamp with time zone) IS 'What is due: the instant a running SLA timer breaches (claim or contact deadline), from a lead''s timer columns; NULL when no timer runs. Indexed by crm_leads_sla_breach_idx';

CREATE FUNCTION public.crm_sla_calendar_hours_check() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
    if tg_op <> 'DELETE' then
        if num_nulls(new.calendar_id, new.weekday, new.opens, new.closes) > 0 then
            raise exception 'open hours need a calendar, a weekday, opens and closes'
                using errcode = 'SL010',
                    hint = 'e.g. (calendar_id, 1, ''09:00'', ''17:00'') for Monday 9 to 5.';
        end if;
        if new.weekday not between 0 and 6 then
            raise exception 'weekday % is out of range', new.weekday
                using errcode = 'SL010',
                    hint = 'Weekdays count as extract(dow): 0 = Sunday, 1 = Monday ... 6 = Saturday.';
        end if;
        if new.opens = new.closes then
            raise exception 'open hours that open and close at % are empty', new.opens
                using errcode = 'SL010',
                    hint = 'For a whole day write opens 00:00, closes 24:00; closes before opens '
                    || 'runs past midnight.';
        end if;
        if new.opens = time '24:00' then
            raise exception 'open hours cannot open at 24:00'
                using errcode = 'SL010',
                    hint = 'Write 00:00 on the next weekday instead.';
        end if;
        if (tg_op = 'INSERT' or new.calendar_id is distinct from old.calendar_id)
            and (
                select count(*) from public.crm_sla_calendar_hours as h
                where h.calendar_id = new.calendar_id
            ) >= 56 then
            raise exception 'calendar % already has 56 open stretches', new.calendar_id
                using errcode = 'SL010',
                    detail = 'A calendar has at most 7 x 8 open stretches (8 a weekday).',
                    hint = 'Merge adjacent stretches, or delete one first.';
        end if;
    end if;
    perform public.crm_sla_calendar_note(array[
        case when tg_op <> 'INSERT' then old.calendar_id end,
        case when tg_op <> 'DELETE' then new.calendar_id end
    ]);
    return case when tg_op = 'DELETE' then old else new end;
end
$$;

COMMENT ON FUNCTION public.crm_sla_calendar_hours_check() IS 'Trigger: checks open hours (SL010) and notes their calendar for re-planning';

CREATE FUNCTION public.crm_sla_calendar_is_open(p_calendar_id uuid, p_at timestamp with time zone) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
    -- PL/pgSQL rather than SQL, so its plan is kept: a SQL function with a SET clause is parsed
    -- and planned again on every call, and routing asks once an agent a pass.
    return p_calendar_id is null
        or public.sla_business_add(p_calendar_id, p_at, interval '1 microsecond')
        = p_at + interval '1 microsecond';
end
$$;

COMMENT ON FUNCTION public.crm_sla_calendar_is_open(p_calendar_id uuid, p_at timestamp with time zone) IS 'Whether the calendar is open at the instant (zone, DST, overnight, holidays); NULL: always';

CREATE FUNCTION public.crm_sla_calendar_note(p_calendar_ids uuid[]) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
    v_noted text := coalesce(pg_catalog.current_setting('crm_sla.replan_calendars', true), '');
    v_id uuid;
begin
    foreach v_id in array p_calendar_ids loop
        if v_id is not null and pg_catalog.strpos(v_noted, v_id::text) = 0 then
            v_noted := pg_catalog.set_config(
                'crm_sla.replan_calendars', v_noted || ' ' || v_id::text, true
            );
        end if;
    end loop;
end
$$;

COMMENT ON FUNCTION public.crm_sla_calendar_note(p_calendar_ids uuid[]) IS 'Internal: notes calendars this transaction changes, for re-planning their running timers';

CREATE FUNCTION public.crm_sla_calendar_noted() RETURNS uuid[]
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
    v_noted constant text := pg_catalog.current_setting('crm_sla.replan_calendars', true);
begin
    perform pg_catalog.set_config('crm_sla.replan_calendars', '', true);
    return array(
        select distinct x::uuid
        from pg_catalog.regexp_split_to_table(pg_catalog.btrim(coalesce(v_noted, '')), ' +') as x
        where x <> ''
    );
end
$$;

COMMENT ON FUNCTION public.crm_sla_calendar_noted() IS 'Internal: the calendars this transaction changed since the last re-plan (then forgotten)';

CREATE FUNCTION public.crm_sla_calendar_open(p_calendar_id uuid, p_tz text, p_dows integer[], p_starts bigint[], p_ends bigint[], p_day_open bigint[], p_week_open bigint, p_from timestamp with time zone, p_to timestamp with time zone) RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
    v_d1 constant date := (p_from at time zone p_tz)::date - 1;
    v_d2 constant date := (p_to at time zone p_tz)::date;
    v_mid1 date;
    v_mid2 date;
    v_weeks integer;
    v_total bigint := 0;
    v_part bigint;
begin
    if p_to <= p_from or p_week_open = 0 then
        return 0;
    end if;
    if v_d2 - v_d1 <= 16 then
        v_mid1 := v_d2 + 1;  -- no middle: one walk over every day
        v_mid2 := v_d2 + 1;
    else
        -- Whole local days strictly inside (p_from, p_to): [v_mid1, v_mid2), whole weeks.
        v_mid1 := v_d1 + 2;
        v_weeks := (v_d2 - 1 - v_mid1) / 7;
        v_mid2 := v_mid1 + 7 * v_weeks;

        -- Their wall-clock open time, minus holidays ...
        select v_weeks * p_week_open - coalesce(sum(p_day_open[extract(dow from h.day)::integer + 1]), 0)
        into v_total
        from public.crm_sla_holidays as h
        where h.calendar_id = p_calendar_id and h.day >= v_mid1 and h.day < v_mid2;

        -- ... corrected on the days a DST change shortens or lengthens (found week by week).
        select
            coalesce(sum(
                (extract(epoch from greatest(x.pe - x.ps, interval '0')) * 1000000)::bigint
                - (x.e - x.s)
            ), 0)
        into v_part
        from (
            select
                ((d.d + pc.s * interval '1 microsecond') at time zone p_tz) as ps,
                ((d.d + pc.e * interval '1 microsecond') at time zone p_tz) as pe,
                pc.s,
                pc.e
            from pg_catalog.generate_series(
                v_mid1::timestamp, (v_mid2 - 7)::timestamp, interval '7 days'
            ) as w (ws)
            cross join lateral pg_catalog.generate_series(
                w.ws, w.ws + interval '6 days', interval '1 day'
            ) as d (d)
            inner join unnest(p_dows, p_starts, p_ends) as pc (dow, s, e)
                on extract(dow from d.d)::integer = pc.dow
            where
                ((w.ws + interval '7 days') at time zone p_tz) - (w.ws at time zone p_tz)
                <> interval '7 days'
                and ((d.d + interval '1 day') at time zone p_tz) - (d.d at time zone p_tz)
                <> interval '1 day'
                and not exists (
                    select from public.crm_sla_holidays as h
                    where h.calendar_id = p_calendar_id and h.day = d.d::date
                )
        ) as x;
        v_total := v_total + v_part;
    end if;

    -- The days outside the middle, walked stretch by stretch and clipped to [p_from, p_to).
    select
        coalesce(sum(
            (extract(epoch from least(x.pe, p_to) - greatest(x.ps, p_from)) * 1000000)::bigint
        ), 0)
    into v_part
    from (
        select
            ((d.d + pc.s * interval '1 microsecond') at time zone p_tz) as ps,
            ((d.d + pc.e * interval '1 microsecond') at time zone p_tz) as pe
        from pg_catalog.generate_series(v_d1::timestamp, v_d2::timestamp, interval '1 day') as d (d)
        inner join unnest(p_dows, p_starts, p_ends) as pc (dow, s, e)
            on extract(dow from d.d)::integer = pc.dow
        where
            (d.d < v_mid1 or d.d >= v_mid2)
            and not exists (
                select from public.crm_sla_holidays as h
                where h.calendar_id = p_calendar_id and h.day = d.d::date
            )
    ) as x
    where least(x.pe, p_to) > greatest(x.ps, p_from);
    return v_total + v_part;
end
$$;

COMMENT ON FUNCTION public.crm_sla_calendar_open(p_calendar_id uuid, p_tz text, p_dows integer[], p_starts bigint[], p_ends bigint[], p_day_open bigint[], p_week_open bigint, p_from timestamp with time zone, p_to timestamp with time zone) IS 'Internal: a calendar''s open time between two instants, in microseconds';

CREATE FUNCTION public.crm_sla_calendar_pattern(p_calendar_id uuid, OUT time_zone text, OUT dows integer[], OUT starts bigint[], OUT ends bigint[], OUT day_open bigint[], OUT week_open bigint) RETURNS record
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
    select c.time_zone into time_zone from public.crm_sla_calendars as c where c.id = p_calendar_id;
    if not found then
        raise exception 'calendar % does not exist', p_calendar_id
            using errcode = 'SL010',
                hint = 'Pass the id of a row of crm_sla_calendars, or NULL for around the clock.';
    end if;
    with raw as (
        select
            h.weekday::integer as dow,
            (extract(epoch from h.opens) * 1000000)::bigint as o,
            (extract(epoch from h.closes) * 1000000)::bigint as c
        from public.crm_sla_calendar_hours as h
        where h.calendar_id = p_calendar_id
    ),

    pieces as (
        select r.dow, r.o as s, case when r.c > r.o then r.c else 86400000000 end as e
        from raw as r
        union all
        select (r.dow + 1) % 7, 0, r.c from raw as r where r.c <= r.o and r.c > 0
    ),

    merged as (
        select p.dow, pg_catalog.unnest(pg_catalog.range_agg(pg_catalog.int8range(p.s, p.e))) as r
        from pieces as p
        group by p.dow
    )

    select
        coalesce(array_agg(m.dow order by m.dow, lower(m.r)), '{}'),
        coalesce(array_agg(lower(m.r) order by m.dow, lower(m.r)), '{}'),
        coalesce(array_agg(upper(m.r) order by m.dow, lower(m.r)), '{}'),
        array(
            select coalesce(sum(upper(x.r) - lower(x.r)), 0)::bigint
            from pg_catalog.generate_series(0, 6) as d (dow)
            left join merged as x on d.dow = x.dow
            group by d.dow
            order by d.dow
        ),
        coalesce(sum(upper(m.r) - lower(m.r)), 0)::bigint
    into dows, starts, ends, day_open, week_open
    from merged as m;
end
$$;

COMMENT ON FUNCTION public.crm_sla_calendar_pattern(p_calendar_id uuid, OUT time_zone text, OUT dows integer[], OUT starts bigint[], OUT ends bigint[], OUT day_open bigint[], OUT week_open bigint) IS 'Internal: a calendar''s zone and open stretches per weekday (microseconds after local midnight)';

CREATE FUNCTION public.crm_sla_calendar_replan() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
    v_ids constant uuid [] := public.crm_sla_calendar_noted();
begin
    if pg_catalog.cardinality(v_ids) > 0 then
        perform public.crm_sla_replan_calendars(v_ids);
    end if;
    return null;
end
$$;

COMMENT ON FUNCTION public.crm_sla_calendar_replan() IS 'Trigger: re-plans the running timers that follow the calendars a statement changed';

CREATE FUNCTION public.crm_sla_calendars_check() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
    if new.name is null or new.time_zone is null then
        raise exception 'a calendar needs a name and a time zone'
            using errcode = 'SL010',
                hint = 'Give both, e.g. (''Berlin office'', ''Europe/Berlin''); the zone defaults '
                || 'to UTC when left out.';
    end if;
    if tg_op = 'INSERT' or new.time_zone is distinct from old.time_zone then
        -- localtime and posixrules stand for whatever zone the server's files say.
        if pg_catalog.lower(new.time_zone) in ('localtime', 'posixrules')
            or not exists (
                select from pg_catalog.pg_timezone_names as z where z.name = new.time_zone
            ) then
            raise exception 'unknown or server-dependent time zone "%"', new.time_zone
                using errcode = 'SL010',
                    hint = 'Use a name from pg_timezone_names, such as Europe/Berlin or '
                    || 'America/New_York.';
        end if;
    end if;
    if tg_op = 'UPDATE' and new.time_zone is distinct from old.time_zone then
        perform public.crm_sla_calendar_note(array[old.id]);
    end if;
    return new;
end
$$;

COMMENT ON FUNCTION public.crm_sla_calendars_check() IS 'Trigger: a calendar needs a name and a known time zone, not localtime (SL010); a new zone re-plans its timers';

CREATE FUNCTION public.crm_sla_caller() RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
    -- PL/pgSQL rather than SQL, so its plan is kept: a SQL function with a SET clause is parsed
    -- and planned again on every call, and every claim and first action calls this one.
    v_role constant text := coalesce(
        nullif(pg_catalog.current_setting('role'), 'none'), session_user
    );
begin
    return case
        when v_role = 'anon' then 'anon'
        when v_role = 'service_role' then 'service'
        when auth.uid() is not null then 'user'
        when v_role = 'authenticated' then 'anon'
        else 'trusted'
    end;
end
$$;

COMMENT ON FUNCTION public.crm_sla_caller() IS 'Internal: classifies the caller (anon, service, user, trusted) for the engine''s functions';

CREATE FUNCTION public.crm_sla_clock_now() RETURNS timestamp with time zone
    LANGUAGE sql PARALLEL SAFE
    AS $$
    select pg_catalog.clock_timestamp() + (public.sla_now() - pg_catalog.now())
$$;

COMMENT ON FUNCTION public.crm_sla_clock_now() IS 'Internal: the SLA clock read now (clock_timestamp() plus sla_now()''s offset), for claims and first actions';

CREATE FUNCTION public.crm_sla_deadline(p_calendar_id uuid, p_start timestamp with time zone, p_window interval) RETURNS timestamp with time zone
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
    v_due timestamptz;
begin
    if p_calendar_id is null
        or not exists (select from public.crm_sla_calendars as c where c.id = p_calendar_id) then
        return p_start + p_window;
    end if;
    v_due := public.sla_business_add(p_calendar_id, p_start, p_window);
    if v_due > p_start + p_window + interval '1 year' then
        return p_start + p_window;  -- includes 'infinity': no open time at all
    end if;
    return v_due;
end
$$;

COMMENT ON FUNCTION public.crm_sla_deadline(p_calendar_id uuid, p_start timestamp with time zone, p_window interval) IS 'Internal: a timer''s deadline in its calendar''s open time (plain time when the calendar has none within a year)';

CREATE FUNCTION public.crm_sla_emit(p_events text[], p_lead_ids uuid[], p_agent_ids uuid[], p_stages text[], p_expires_at timestamp with time zone[], p_at timestamp with time zone[], p_extra jsonb[] DEFAULT NULL::jsonb[]) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
declare
    v_count integer;
    v_first bigint;
    v_last bigint;
    v_notes text[];
begin
    if coalesce(cardinality(p_events), 0) = 0 then
        return 0;
    end if;
    with written as (
        insert into public.crm_sla_outbox (event, lead_id, agent_id, payload)
        select
            e.event, e.lead_id, e.agent_id,
            jsonb_build_object(
                'event', e.event, 'lead_id', e.lead_id, 'agent_id', e.agent_id,
                'stage', e.stage, 'expires_at', e.expires_at, 'at', e.at
            ) || coalesce(e.extra, '{}')
        from unnest(
            p_events, p_lead_ids, p_agent_ids, p_stages, p_expires_at, p_at,
            coalesce(p_extra, '{}')
        ) as e (event, lead_id, agent_id, stage, expires_at, at, extra)
        returning id, event, lead_id, agent_id
    ),

    queued as (
        -- A webhook receives the events written after it was created: this is where they queue.
        insert into public.crm_sla_webhook_deliveries (webhook_id, outbox_id, status, next_attempt_at)
        select h.id, w.id, 'pending', pg_catalog.now()
        from written as w
        inner join public.crm_sla_webhooks as h
            on h.is_active and (h.events is null or w.event = any(h.events))
    )

    select
        count(*),
        min(w.id),
        max(w.id),
        -- Only a set small enough to be announced event by event: ids, never the payload.
        array_agg(jsonb_build_object(
            'event', w.event, 'outbox_id', w.id, 'lead_id', w.lead_id, 'agent_id', w.agent_id
        )::text order by w.id) filter (where cardinality(p_events) <= 100)
    into v_count, v_first, v_last, v_notes
    from written as w;  -- the deliveries insert runs regardless: data-modifying CTEs complete

    if v_notes is not null then
        perform pg_catalog.pg_notify('crm_sla', n) from unnest(v_notes) as n;
    else
        perform pg_catalog.pg_notify('crm_sla', json_build_object(
            'event', 'batch', 'count', v_count,
            'first_outbox_id', v_first, 'last_outbox_id', v_last
        )::text);
    end if;
    return v_count;
end
$$;

COMMENT ON FUNCTION public.crm_sla_emit(p_events text[], p_lead_ids uuid[], p_agent_ids uuid[], p_stages text[], p_expires_at timestamp with time zone[], p_at timestamp with time zone[], p_extra jsonb[]) IS 'Internal: writes SLA events to the outbox (and webhook deliveries) and announces them on crm_sla';

CREATE FUNCTION public.crm_sla_emit_steps(p_now timestamp with time zone, p_limit integer) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
    v_count integer;
    v_events integer;
begin
    with due as materialized (
        select
            l.id,
            l.assigned_agent_id,
            l.sla_policy_id,
            l.sla_timer_calendar_id,
            l.sla_timer_window,
            l.sla_step_at,
            l.sla_step_done,
            case when l.lead_claimed then 'contact_window' else 'claim_window' end as stage,
            public.crm_sla_breach_at(l) as expires_at,
            -- A running timer: the lead has an owner and a breach instant.
            l.assigned_agent_id is not null and l.sla_waiting_since is null
            and public.crm_sla_breach_at(l) is not null as running
        from public.crm_leads as l
        where
            l.id = any(array(
                select c.id from public.crm_leads as c
                where c.sla_step_at <= p_now and c.sla_step_at is not null
                order by c.sla_step_at
                limit p_limit
            ))
            and l.sla_step_at <= p_now
            -- A timer that expired before this pass came (a late monitor) still takes the steps
            -- it passed, each once: they come before its deadline, and the breach follows in
            -- the same pass.
        for update of l skip locked
    ),

    -- Each step still to take in the lead's timer run and the instant it falls due: the first at
    -- the planned instant, the others that much more open time after it.
    steps as materialized (
        select
            d.id, s.name, s.notify, s.at,
            case
                when s.at = f.first_at then d.sla_step_at
                else public.crm_sla_deadline(
                    d.sla_timer_calendar_id, d.sla_step_at,
                    d.sla_timer_window * (s.at - f.first_at)::double precision
                )
            end as step_at
        from due as d
        inner join public.crm_sla_policy_steps as s
            on s.policy_id is not distinct from d.sla_policy_id and s.stage = d.stage
            and s.at > coalesce(d.sla_step_done, 0)
        cross join lateral (
            select min(x.at) as first_at from public.crm_sla_policy_steps as x
            where x.policy_id is not distinct from d.sla_policy_id and x.stage = d.stage
                and x.at > coalesce(d.sla_step_done, 0)
        ) as f
        where d.running
    ),

    marked as (
        update public.crm_leads as l
        set
            sla_step_done = coalesce(
                (select max(s.at) from steps as s where s.id = d.id and s.step_at <= p_now),
                l.sla_step_done
            ),
            sla_step_at = (
                select min(s.step_at) from steps as s where s.id = d.id and s.step_at > p_now
            )
        from due as d
        where l.id = d.id
        returning l.id
    ),

    taken as (
        select
            s.id, s.name, s.notify, s.step_at, d.stage, d.expires_at,
            d.assigned_agent_id as owner_id,
            case
                when s.notify = 'owner' then d.assigned_agent_id
                else public.crm_sla_first_manager(d.assigned_agent_id)
            end as agent_id
        from steps as s
        inner join due as d on s.id = d.id
        where s.step_at <= p_now
    )

    select public.crm_sla_emit(
        array_agg('step'::text order by t.step_at, t.id, t.name),
        array_agg(t.id order by t.step_at, t.id, t.name),
        array_agg(t.agent_id order by t.step_at, t.id, t.name),
        array_agg(t.stage order by t.step_at, t.id, t.name),
        array_agg(t.expires_at order by t.step_at, t.id, t.name),
        array_agg(p_now order by t.step_at, t.id, t.name),
        array_agg(jsonb_build_object(
            'step', t.name, 'notify', t.notify, 'step_at', t.step_at, 'owner_id', t.owner_id
        ) order by t.step_at, t.id, t.name)
    ),
    (select count(*) from marked)
    into v_events, v_count
    from taken as t;  -- the update runs regardless: data-modifying CTEs always complete
    raise debug 'ladder: % step event(s) for % lead(s)', coalesce(v_events, 0), v_count;
    return v_count;
end
$$;

COMMENT ON FUNCTION public.crm_sla_emit_steps(p_now timestamp with time zone, p_limit integer) IS 'Internal: writes the step events of the ladder steps due and plans each lead''s next step';

CREATE FUNCTION public.crm_sla_emit_warnings(p_now timestamp with time zone, p_limit integer) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
    v_count integer;
begin
    -- FOR UPDATE reads the latest version of each row it locks (the test repeated on it).
    with due as (
        select
            l.id,
            l.assigned_agent_id,
            l.sla_warn_at,
            case when l.lead_claimed then 'contact_window' else 'claim_window' end as stage,
            public.crm_sla_breach_at(l) as expires_at,
            -- A running timer: the lead has an owner and a breach instant.
            l.assigned_agent_id is not null
            and public.crm_sla_breach_at(l) is not null as running
        from public.crm_leads as l
        where
            l.id = any(array(
                select c.id from public.crm_leads as c
                where c.sla_warn_at <= p_now and c.sla_warn_at is not null
                    and c.sla_warned_at is null
                order by c.sla_warn_at
                limit p_limit
            ))
            and l.sla_warn_at <= p_now and l.sla_warned_at is null
            -- An expired timer is the breach's (no lock, no write here).
            and not coalesce(
                l.assigned_agent_id is not null and p_now >= public.crm_sla_breach_at(l), false
            )
        for update of l skip locked
    ),

    marked as (
        update public.crm_leads as l
        set
            sla_warned_at = case when d.running then p_now end,
            sla_warn_at = case when d.running then l.sla_warn_at end
        from due as d
        where l.id = d.id
        returning l.id, d.assigned_agent_id, d.stage, d.expires_at, d.sla_warn_at, d.running
    )

    select public.crm_sla_emit(
        array_agg('warning'::text order by m.sla_warn_at, m.id) filter (where m.running),
        array_agg(m.id order by m.sla_warn_at, m.id) filter (where m.running),
        array_agg(m.assigned_agent_id order by m.sla_warn_at, m.id) filter (where m.running),
        array_agg(m.stage order by m.sla_warn_at, m.id) filter (where m.running),
        array_agg(m.expires_at order by m.sla_warn_at, m.id) filter (where m.running),
        array_agg(p_now order by m.sla_warn_at, m.id) filter (where m.running),
        array_agg(jsonb_build_object('warn_at', m.sla_warn_at) order by m.sla_warn_at, m.id)
        filter (where m.running)
    )
    into v_count
    from marked as m;
    return v_count;
end
$$;

COMMENT ON FUNCTION public.crm_sla_emit_warnings(p_now timestamp with time zone, p_limit integer) IS 'Internal: writes one warning event for each running timer whose warning instant has come';

CREATE FUNCTION public.crm_sla_engine_columns() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    select array[
        'id', 'created_at', 'assigned_agent_id',
        'claim_timer_started_at', 'claim_timer_expires_at', 'claim_window_expires_at',
        'contact_timer_started_at', 'contact_timer_expires_at',
        'claim_sla_breached', 'contact_sla_breached', 'sla_breached',
        'reassignment_count', 'previous_agent_id', 'reassignment_reason', 'reassigned_at',
        'sla_escalated_at', 'sla_policy_id', 'sla_timer_window', 'sla_timer_calendar_id',
        'sla_waiting_since', 'sla_warn_at', 'sla_warned_at', 'sla_step_at', 'sla_step_done',
        'sla_paused_at', 'sla_paused_left', 'sla_paused_warn_left', 'sla_paused_step_left', 'sla_paused_total',
        'sla_snoozed_until'
    ]::text[]
$$;

COMMENT ON FUNCTION public.crm_sla_engine_columns() IS 'The columns of crm_leads only the engine writes: an UPDATE of one by an API role raises SL009';

CREATE FUNCTION public.crm_sla_escalation_target(p_owner uuid, p_admin uuid) RETURNS uuid
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
    select coalesce(public.crm_sla_first_manager(p_owner), p_admin)
$$;

COMMENT ON FUNCTION public.crm_sla_escalation_target(p_owner uuid, p_admin uuid) IS 'Internal: an escalating lead''s next owner: its last owner''s first active manager, else the admin';

CREATE FUNCTION public.crm_sla_explain_refusal(p_caller text, p_uid uuid, p_lead_id uuid, p_action text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
    v_lead public.crm_leads;
    v_lost_reason text;
begin
    select l.* into v_lead from public.crm_leads as l where l.id = p_lead_id;
    if p_caller = 'user' and v_lead.assigned_agent_id is distinct from p_uid then
        -- An agent learns only what its row-level security shows it: that it lost a lead (its
        -- own audit row), never who holds it now, nor whether a lead it cannot see exists.
        select a.reason into v_lost_reason
        from public.crm_lead_reassignments as a
        where a.lead_id = p_lead_id and a.from_agent_id = p_uid
        order by a.created_at desc, a.id desc
        limit 1;
        if v_lost_reason is not null then
            raise exception 'lead % was reassigned away from you', p_lead_id
                using errcode = 'SL004',
                    detail = format('Your latest hold on it ended with a reassignment (%s).',
                        v_lost_reason),
                    hint = 'Its SLA window expired (or an admin moved it); pick up your next lead.';
        end if;
        if v_lead.id is not null or not public.is_admin(p_uid) then
            raise exception 'lead % is not yours', p_lead_id
                using errcode = 'SL002',
                    hint = 'Only the lead''s owner can record a ' || p_action || '.';
        end if;
    end if;
    if v_lead.id is null then
        -- Admins and trusted callers see every lead, so telling them it is missing leaks nothing.
        raise exception 'lead % does not exist', p_lead_id
            using errcode = 'SL001', hint = 'Check the lead id; it may have been deleted.';
    end if;
    if p_action = 'claim' then
        raise exception 'lead % is already claimed', p_lead_id
            using errcode = 'SL003', hint = 'Record the first contact with complete_first_action().';
    end if;
    raise exception 'the first action on lead % is already recorded', p_lead_id
        using errcode = 'SL005', hint = 'Nothing more to do for this lead''s SLA.';
end
$$;

COMMENT ON FUNCTION public.crm_sla_explain_refusal(p_caller text, p_uid uuid, p_lead_id uuid, p_action text) IS 'Internal: raises the SLxxx error that says why a claim or first action was refused';

CREATE FUNCTION public.crm_sla_explain_routing(p_lead_id uuid) RETURNS TABLE(agent_id uuid, eligible boolean, reason text, rank integer)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
    v_caller constant text := public.crm_sla_caller();
begin
    if v_caller = 'anon' or (v_caller = 'user' and not public.is_admin(auth.uid())) then
        raise exception 'only admins and the service role can see how leads are routed'
            using errcode = 'SL006',
                hint = 'Ask an admin; agents see the leads routed to them.';
    end if;
    if not exists (select from public.crm_leads as l where l.id = p_lead_id) then
        raise exception 'lead % does not exist', coalesce(p_lead_id::text, 'NULL')
            using errcode = 'SL001', hint = 'Check the lead id; it may have been deleted.';
    end if;
    return query
    select r.agent_id, r.eligible, r.reason, r.rank
    from public.crm_sla_route_leads(array[p_lead_id], public.sla_now(), true, null) as r
    order by r.rank nulls last, r.reason, r.agent_id;
end
$$;

COMMENT ON FUNCTION public.crm_sla_explain_routing(p_lead_id uuid) IS 'Why a lead would go to whom now: each agent, eligible or why not, and the router''s rank';

CREATE FUNCTION public.crm_sla_first_manager(p_agent_id uuid) RETURNS uuid
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
    select c.agent_id from public.crm_sla_manager_chain(p_agent_id) as c
    order by c.level
    limit 1
$$;

COMMENT ON FUNCTION public.crm_sla_first_manager(p_agent_id uuid) IS 'Internal: the first active agent in an agent''s manager chain, or NULL';

CREATE FUNCTION public.crm_sla_flag_breaches(p_lead_ids uuid[], p_stages text[], p_at timestamp with time zone) RETURNS uuid[]
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
    v_ids uuid[];
    v_owners uuid[];
    v_stages text[];
    v_expiries timestamptz[];
begin
    with chosen as (
        select
            l.id, t.stage, l.assigned_agent_id, public.crm_sla_breach_at(l) as expires_at
        from unnest(p_lead_ids, p_stages) as t (id, stage)
        inner join public.crm_leads as l on t.id = l.id
        inner join public.crm_sla_policies as p on l.sla_policy_id = p.id
        where p.on_breach = 'flag'
    ),

    flagged as (
        update public.crm_leads as l
        set
            claim_sla_breached = coalesce(l.claim_sla_breached, false) or c.stage = 'claim_window',
            contact_sla_breached
            = coalesce(l.contact_sla_breached, false) or c.stage = 'contact_window',
            sla_breached = true,
            claim_timer_expires_at
            = case when c.stage = 'claim_window' then null else l.claim_timer_expires_at end,
            contact_timer_expires_at
            = case when c.stage = 'contact_window' then null else l.contact_timer_expires_at end,
            sla_waiting_since = null,
            sla_warn_at = null,
            sla_step_at = null
        from chosen as c
        where l.id = c.id
        returning l.id
    )

    select
        array_agg(c.id order by c.expires_at, c.id),
        array_agg(c.assigned_agent_id order by c.expires_at, c.id),
        array_agg(c.stage order by c.expires_at, c.id),
        array_agg(c.expires_at order by c.expires_at, c.id)
    into v_ids, v_owners, v_stages, v_expiries
    from chosen as c
    inner join flagged as f on c.id = f.id;
    perform public.crm_sla_emit(
        array_fill('breached'::text, array[coalesce(cardinality(v_ids), 0)]),
        v_ids, v_owners, v_stages, v_expiries,
        array_fill(p_at, array[coalesce(cardinality(v_ids), 0)]),
        array_fill(jsonb_build_object('action', 'flag'), array[coalesce(cardinality(v_ids), 0)])
    );
    return coalesce(v_ids, '{}');
end
$$;

COMMENT ON FUNCTION public.crm_sla_flag_breaches(p_lead_ids uuid[], p_stages text[], p_at timestamp with time zone) IS 'Internal: on_breach ''flag'': sets the breach flags and writes a breached event, without moving the lead';

CREATE FUNCTION public.crm_sla_hand_over_absent(p_batch integer, p_at timestamp with time zone) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
    v_ids uuid[];
    v_to uuid[];
    v_escalate boolean[];
    v_absent uuid[];  -- the agents inside an absence at p_at
begin
    -- Read without locks first: an idle pass (nobody absent, or nothing to hand over) locks
    -- nothing. Leads are read by owner, the absent agents being few: a join on the absences let
    -- the pass's cached generic plan scan crm_leads whole (15 ms a pass at 100,000 leads).
    v_absent := array(select b.agent_id from public.crm_sla_absences_at(p_at) as b);
    if cardinality(v_absent) = 0 or not exists (
        select from public.crm_leads as l
        where l.assigned_agent_id = any(v_absent) and public.crm_sla_hand_over_due(l, p_at)
    ) then
        return 0;
    end if;

    -- One order for every router: the routing row first, then lead rows (skipping held ones:
    -- a lead being claimed or declined right now is that session's; the test is made again on
    -- each locked row).
    perform from public.crm_sla_routing_lock for update;
    select array_agg(h.id order by h.claim_timer_started_at, h.id) into v_ids
    from (
        select l.id, l.claim_timer_started_at
        from public.crm_leads as l
        where l.assigned_agent_id = any(v_absent) and public.crm_sla_hand_over_due(l, p_at)
        order by l.claim_timer_started_at, l.id
        limit p_batch
        for update of l skip locked
    ) as h;
    if v_ids is null then
        return 0;
    end if;

    select
        array_agg(r.lead_id order by t.ord),
        array_agg(
            case
                when r.escalate
                    then public.crm_sla_escalation_target(l.assigned_agent_id, r.agent_id)
                else r.agent_id
            end
            order by t.ord
        ),
        array_agg(r.escalate order by t.ord)
    into v_ids, v_to, v_escalate
    from public.crm_sla_route_leads(v_ids, p_at, false, null) as r
    inner join unnest(v_ids) with ordinality as t (id, ord) on r.lead_id = t.id
    inner join public.crm_leads as l on r.lead_id = l.id
    where r.agent_id is not null;
    if v_ids is null then
        return 0;
    end if;

    return public.crm_sla_apply_reassignments(
        v_ids, v_to, array_fill('unavailable'::text, array[cardinality(v_ids)]), v_escalate,
        public.crm_sla_system_actor(), null, p_at
    );
end
$$;

COMMENT ON FUNCTION public.crm_sla_hand_over_absent(p_batch integer, p_at timestamp with time zone) IS 'Internal: moves absent agents'' unclaimed leads to eligible agents (reason unavailable)';

CREATE FUNCTION public.crm_sla_hand_over_due(p_lead public.crm_leads, p_at timestamp with time zone) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$
    select p_lead.lead_claimed = false and p_lead.sla_escalated_at is null
        and (p_lead.claim_timer_expires_at > p_at or p_lead.sla_paused_at is not null)
        and exists (
            select from public.crm_sla_agent_absences as b
            where b.agent_id = p_lead.assigned_agent_id
                and b.ends_at > p_at and b.starts_at <= p_at
                and (
                    coalesce(p_lead.reassignment_reason, '') <> 'manual'
                    or p_lead.reassigned_at < b.starts_at
                )
        )
$$;

COMMENT ON FUNCTION public.crm_sla_hand_over_due(p_lead public.crm_leads, p_at timestamp with time zone) IS 'Internal: whether an absent agent''s lead is handed over now (unclaimed, running or paused, not given by hand during the absence)';

CREATE FUNCTION public.crm_sla_holidays_check() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
    if tg_op <> 'DELETE' then
        if new.calendar_id is null or new.day is null then
            raise exception 'a holiday needs a calendar and a day'
                using errcode = 'SL010', hint = 'e.g. (calendar_id, ''2026-12-25'', ''Christmas'').';
        end if;
        if (tg_op = 'INSERT' or (new.calendar_id, new.day) is distinct from (old.calendar_id, old.day))
            and exists (
                select from public.crm_sla_holidays as h
                where h.calendar_id = new.calendar_id and h.day = new.day
            ) then
            raise exception '% is already a holiday of calendar %', new.day, new.calendar_id
                using errcode = 'SL010',
                    hint = 'Each day is a holiday once: update its name, or insert with '
                    || 'ON CONFLICT (calendar_id, day) DO NOTHING.';
        end if;
        if (tg_op = 'INSERT' or new.calendar_id is distinct from old.calendar_id)
            and (
                select count(*) from public.crm_sla_holidays as h
                where h.calendar_id = new.calendar_id
            ) >= 10000 then
            raise exception 'calendar % already has 10000 holidays', new.calendar_id
                using errcode = 'SL010',
                    detail = 'A calendar has at most 10,000 holidays.',
                    hint = 'Delete past holidays first (they no longer change any timer).';
        end if;
    end if;
    perform public.crm_sla_calendar_note(array[
        case when tg_op <> 'INSERT' then old.calendar_id end,
        case when tg_op <> 'DELETE' then new.calendar_id end
    ]);
    return case when tg_op = 'DELETE' then old else new end;
end
$$;

COMMENT ON FUNCTION public.crm_sla_holidays_check() IS 'Trigger: checks a holiday (SL010, duplicates included) and notes its calendar for re-planning';

CREATE FUNCTION public.crm_sla_intake_matches() RETURNS text
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
    with recursive key_sets (keys) as (
        -- The distinct key sets, read off crm_sla_policies_match_lookup one probe each (a
        -- thousand matches each through crm_sla_match_keys would cost the statement 20 ms).
        (
            select public.crm_sla_match_keys(p.match)
            from public.crm_sla_policies as p
            where p.is_active and public.crm_sla_match_keys(p.match) is not null
            order by 1
            limit 1
        )
        union all
        select (
            select public.crm_sla_match_keys(p.match)
            from public.crm_sla_policies as p
            where p.is_active and public.crm_sla_match_keys(p.match) > k.keys
            order by 1
            limit 1
        )
        from key_sets as k
        where k.keys is not null
    )

    select case
        when (select count(*) from (select from public.crm_sla_policies as p where p.is_active
            limit 9) as a) <= 8
            then coalesce((
                select jsonb_build_object('policies', jsonb_agg(
                    jsonb_build_object('id', p.id, 'match', p.match) order by p.priority, p.name
                ))::text
                from public.crm_sla_policies as p
                where p.is_active
                having count(*) > 0
            ), '')
        else jsonb_build_object(
            'sets', (select jsonb_agg(k.keys) from key_sets as k where k.keys is not null),
            'others', exists (
                select from public.crm_sla_policies as p
                where p.is_active and public.crm_sla_match_keys(p.match) is null
            )
        )::text
    end
$$;

COMMENT ON FUNCTION public.crm_sla_intake_matches() IS 'Internal: the active SLA policies'' ids and matches in match order, or their matches'' key sets when there are many, as jsonb text (intake)';

CREATE FUNCTION public.crm_sla_intake_plan_for(p_policy_id uuid, p_start timestamp with time zone) RETURNS public.crm_sla_intake_plan
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
    select row(
        p_policy_id,
        (extract(epoch from p_start) * 1000000)::bigint,
        (extract(epoch from claim.expires_at) * 1000000)::bigint,
        (extract(epoch from contact.expires_at) * 1000000)::bigint,
        (extract(epoch from claim.timer_window) * 1000000)::bigint,
        (extract(epoch from contact.timer_window) * 1000000)::bigint,
        claim.calendar_id,
        (extract(epoch from public.crm_sla_warn_instant(
            p_policy_id, claim.calendar_id, p_start, claim.timer_window
        )) * 1000000)::bigint,
        (extract(epoch from public.crm_sla_warn_instant(
            p_policy_id, contact.calendar_id, p_start, contact.timer_window
        )) * 1000000)::bigint,
        (extract(epoch from public.crm_sla_step_instant(
            p_policy_id, 'claim_window', claim.calendar_id, p_start, claim.timer_window, null
        )) * 1000000)::bigint,
        (extract(epoch from public.crm_sla_step_instant(
            p_policy_id, 'contact_window', contact.calendar_id, p_start, contact.timer_window, null
        )) * 1000000)::bigint
    )::public.crm_sla_intake_plan
    from public.crm_sla_timer_plan(p_policy_id, 'claim', p_start) as claim
    cross join public.crm_sla_timer_plan(p_policy_id, 'contact', p_start) as contact
$$;

COMMENT ON FUNCTION public.crm_sla_intake_plan_for(p_policy_id uuid, p_start timestamp with time zone) IS 'Internal: the timers a new lead starts at p_start under an SLA policy or the settings (intake)';

CREATE FUNCTION public.crm_sla_lock_key(p_name text) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    select pg_catalog.hashtext('crm_sla.' || p_name)::bigint
$$;

COMMENT ON FUNCTION public.crm_sla_lock_key(p_name text) IS 'Internal: the advisory lock key of one of the engine''s locks (migrate, monitor)';

CREATE FUNCTION public.crm_sla_manager_chain(p_agent_id uuid) RETURNS TABLE(agent_id uuid, level integer)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
    return query
    with recursive up (agent_id, depth, path) as (
        select n.manager_id, 1, array[p_agent_id, n.manager_id]
        from public.crm_sla_manager_of(p_agent_id) as n (manager_id)
        where n.manager_id is not null and n.manager_id <> p_agent_id
        union all
        select n.manager_id, u.depth + 1, u.path || n.manager_id
        from up as u
        cross join lateral public.crm_sla_manager_of(u.agent_id) as n (manager_id)
        where n.manager_id is not null and not n.manager_id = any(u.path)
    )

    select u.agent_id, (row_number() over (order by u.depth))::integer
    from up as u
    inner join public.crm_agents as a on u.agent_id = a.id
    where a.is_active
    order by u.depth;
end
$$;

COMMENT ON FUNCTION public.crm_sla_manager_chain(p_agent_id uuid) IS 'An agent''s manager chain, nearest first (level 1): its manager, else its first team''s, then upward; inactive agents skipped, cycles cut';

CREATE FUNCTION public.crm_sla_manager_of(p_agent_id uuid) RETURNS uuid
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
    select coalesce(
        (
            select r.manager_id from public.crm_sla_agent_routing as r
            where r.agent_id = p_agent_id
        ),
        (
            select t.manager_id
            from public.crm_sla_team_members as m
            inner join public.crm_sla_teams as t on m.team_id = t.id
            where m.agent_id = p_agent_id and t.manager_id is not null
                and t.manager_id <> p_agent_id
            order by t.name
            limit 1
        )
    )
$$;

COMMENT ON FUNCTION public.crm_sla_manager_of(p_agent_id uuid) IS 'Internal: an agent''s manager (its own, else its first team''s by name), or NULL';

CREATE FUNCTION public.crm_sla_match_keys(p_match jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO ''
    AS $$
    select case
        when bool_and(pg_catalog.jsonb_typeof(e.value) in ('string', 'boolean', 'null'))
            is not false
            then coalesce(pg_catalog.jsonb_agg(e.key order by e.key), '[]'::jsonb)
    end
    from pg_catalog.jsonb_each(p_match) as e
$$;

COMMENT ON FUNCTION public.crm_sla_match_keys(p_match jsonb) IS 'Internal: a policy match''s sorted keys when containment is equality on them (strings, booleans, null), else NULL; the key of crm_sla_policies_match_lookup';

CREATE FUNCTION public.crm_sla_next_due(p_after timestamp with time zone) RETURNS timestamp with time zone
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
    select least(
        (
            select min(public.crm_sla_breach_at(l)) from public.crm_leads as l
            where public.crm_sla_breach_at(l) > p_after
        ),
        (
            select min(l.sla_warn_at) from public.crm_leads as l
            where l.sla_warn_at > p_after
                and l.sla_warn_at is not null and l.sla_warned_at is null
        ),
        (
            select min(l.sla_step_at) from public.crm_leads as l
            where l.sla_step_at > p_after and l.sla_step_at is not null
        ),
        (
            select min(l.sla_snoozed_until) from public.crm_leads as l
            where l.sla_snoozed_until > p_after and l.sla_snoozed_until is not null
        )
    )
$$;

COMMENT ON FUNCTION public.crm_sla_next_due(p_after timestamp with time zone) IS 'Internal: the next instant (SLA clock) after p_after at which a running timer falls due or warns';

CREATE FUNCTION public.crm_sla_owner_key_advice() RETURNS TABLE(policy_name text, owner_key text, problem text, fix text)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
    select
        p.name,
        p.owner_key,
        coalesce(
            public.crm_sla_owner_key_problem(p.owner_key),
            'public.crm_leads.' || pg_catalog.quote_ident(p.owner_key) || ' has no index'
        ),
        case
            when public.crm_sla_owner_key_problem(p.owner_key) is null
                then pg_catalog.format(
                    'create index concurrently if not exists %I on public.crm_leads using hash '
                    || '(%I);',
                    pg_catalog.left('crm_leads_' || p.owner_key, 59) || '_idx', p.owner_key
                )
            else pg_catalog.format(
                'update public.crm_sla_policies set owner_key = null where name = %L;', p.name
            )
        end
    from public.crm_sla_policies as p
    where
        p.owner_key is not null
        and not exists (
            -- a plain btree or hash index whose first column is the key
            select
            from pg_catalog.pg_index as i
            inner join pg_catalog.pg_class as c on i.indexrelid = c.oid
            inner join pg_catalog.pg_am as am on c.relam = am.oid
            inner join pg_catalog.pg_attribute as a
                on i.indrelid = a.attrelid and i.indkey[0] = a.attnum
            where
                i.indrelid = 'public.crm_leads'::regclass
                and a.attname = p.owner_key and not a.attisdropped
                and am.amname in ('btree', 'hash') and i.indpred is null and i.indisvalid
        )
    order by p.name
$$;

COMMENT ON FUNCTION public.crm_sla_owner_key_advice() IS 'SLA policies whose owner_key cannot be used or has no index on crm_leads, with the statement to run (crm-sla status and migrate show them)';

CREATE FUNCTION public.crm_sla_owner_key_problem(p_column text) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $_$
begin
    if p_column is null then
        return null;
    end if;
    if not exists (
        select from pg_catalog.pg_attribute as a
        where
            a.attrelid = 'public.crm_leads'::regclass and a.attname = p_column
            and a.attnum > 0 and not a.attisdropped
    ) then
        return pg_catalog.format('public.crm_leads has no column %I', p_column);
    end if;
    if p_column = any(public.crm_sla_engine_columns()) then
        return pg_catalog.format(
            'public.crm_leads.%I is written by the engine, not by the CRM', p_column
        );
    end if;
    begin
        execute pg_catalog.format(
            'select from public.crm_leads as l where l.%1$I = l.%1$I limit 0', p_column
        );
    exception when undefined_function then
        return pg_catalog.format(
            'public.crm_leads.%I is of a type that = cannot compare', p_column
        );
    end;
    return null;
end
$_$;

COMMENT ON FUNCTION public.crm_sla_owner_key_problem(p_column text) IS 'What is wrong with an SLA policy''s owner_key (NULL: nothing): a crm_leads column the CRM writes that = compares';

CREATE FUNCTION public.crm_sla_owner_keys(p_leads uuid[], p_new_policies uuid[]) RETURNS TABLE(ord integer, key_label text, owner_id uuid)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $_$
declare
    v_new jsonb;
    v_column text;
begin
    -- The common case first: no policy names a key (the key query below would cost each
    -- single-row INSERT of an unowned lead about 40 microseconds more).
    if not exists (select from public.crm_sla_policies as p where p.owner_key is not null) then
        return;
    end if;
    if p_new_policies is not null then
        v_new := nullif(pg_catalog.current_setting('crm_sla.new_lead', true), '')::jsonb;
    end if;
    for v_column in
        select distinct p.owner_key
        from unnest(p_leads, p_new_policies) as t (id, new_policy)
        left join lateral (  -- a primary-key probe a lead, never a scan of crm_leads
            select l0.sla_policy_id, l0.assigned_agent_id
            from public.crm_leads as l0 where l0.id = t.id limit 1
        ) as l on true
        inner join public.crm_sla_policies as p
            on coalesce(l.sla_policy_id, t.new_policy) = p.id
        where p.owner_key is not null and l.assigned_agent_id is null
    loop
        begin
            -- One index probe a lead when the column is indexed (crm_sla_owner_key_advice).
            for ord, key_label, owner_id in execute pg_catalog.format(
                $q$
                select t.ord::integer as ord, %1$L || ' ' || k.v::text as key_label, o.owner_id
                from unnest($1, $2) with ordinality as t (id, new_policy, ord)
                left join lateral (  -- a primary-key probe a lead, never a scan of crm_leads
                    select l0.id, l0.sla_policy_id, l0.assigned_agent_id, l0.%1$I
                    from public.crm_leads as l0 where l0.id = t.id limit 1
                ) as l on true
                inner join public.crm_sla_policies as p
                    on coalesce(l.sla_policy_id, t.new_policy) = p.id and p.owner_key = %1$L
                cross join lateral (
                    select case
                        when l.id is not null then l.%1$I
                        when ($3 ->> 'id')::uuid = t.id
                            then (pg_catalog.jsonb_populate_record(null::public.crm_leads, $3)).%1$I
                    end as v
                ) as k
                left join lateral (
                    select x.assigned_agent_id as owner_id
                    from public.crm_leads as x
                    where x.%1$I = k.v and x.id <> t.id and x.assigned_agent_id is not null
                    order by x.created_at desc, x.id desc
                    limit 1
                ) as o on true
                where l.assigned_agent_id is null and k.v is not null
                $q$,
                v_column
            ) using p_leads, p_new_policies, v_new loop
                return next;
            end loop;
        exception when others then
            raise warning 'ownership routing skipped owner_key %: %', v_column, sqlerrm
                using hint = 'crm-sla status says what is wrong with the policies'' owner_key.';
        end;
    end loop;
end
$_$;

COMMENT ON FUNCTION public.crm_sla_owner_keys(p_leads uuid[], p_new_policies uuid[]) IS 'Internal: each unowned lead''s owner_key value and the current owner of the most recent other lead with it (ownership routing)';

CREATE FUNCTION public.crm_sla_pause_left(p_calendar_id uuid, p_at timestamp with time zone, p_instant timestamp with time zone) RETURNS interval
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
    select greatest(t.seconds_left, 0) * interval '1 second'
    from public.crm_sla_timer_left(p_calendar_id, p_at, p_instant) as t
    where p_instant is not null
$$;

COMMENT ON FUNCTION public.crm_sla_pause_left(p_calendar_id uuid, p_at timestamp with time zone, p_instant timestamp with time zone) IS 'Internal: open time left from an instant to a paused timer''s deadline or warning (at least 0)';

CREATE FUNCTION public.crm_sla_paused_for(p_total interval, p_paused_at timestamp with time zone, p_at timestamp with time zone) RETURNS interval
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO ''
    AS $$
    select coalesce(p_total, interval '0') + coalesce(greatest(p_at - p_paused_at, interval '0'),
        interval '0')
$$;

COMMENT ON FUNCTION public.crm_sla_paused_for(p_total interval, p_paused_at timestamp with time zone, p_at timestamp with time zone) IS 'Internal: time a timer run spent paused up to an instant (left out of the statistics)';

CREATE FUNCTION public.crm_sla_policies_check() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $_$
declare
    v_longest constant interval := interval '1 year';
    v_match_bytes constant integer := 8192;
    v_column text;
    v_value jsonb;
    v_hint text;
    v_key_problem text;
begin
    -- An update checks what it changes, so an old row written before these checks can still be
    -- deactivated or renamed (old is NULL for an INSERT: every value counts as changed).
    if (new.claim_window, new.contact_window) is distinct from (old.claim_window, old.contact_window)
        and (
            new.claim_window is null or new.claim_window <= interval '0'
            or new.claim_window > v_longest
            or new.contact_window is null or new.contact_window <= interval '0'
            or new.contact_window > v_longest
        ) then
        raise exception 'SLA policy "%": claim_window % and contact_window % must each be more '
            'than 0 and at most %', new.name, new.claim_window, new.contact_window, v_longest
            using errcode = 'SL010',
                detail = 'A window is open time an owner has; a longer one would overflow the '
                || 'timers and a negative one would breach every lead at once.',
                hint = 'For example claim_window = ''5 minutes'', contact_window = ''1 day''.';
    end if;
    if new.max_reassignments is distinct from old.max_reassignments
        and (new.max_reassignments is null or new.max_reassignments < 0) then
        raise exception 'SLA policy "%": max_reassignments % must be 0 or more',
            new.name, new.max_reassignments
            using errcode = 'SL010',
                hint = 'The number of automatic reassignments before a breach escalates to an '
                || 'admin, e.g. 3; 0 escalates at the first breach.';
    end if;
    -- match and pause_when: one rule, a JSON object of at most 8 kB (pause_when may be NULL).
    for v_column, v_value, v_hint in
        select c.column_name, c.value, c.hint from (values
            ('match', new.match, new.match is distinct from old.match,
                'Name the lead columns to match, e.g. {"source": "web"}; {} matches every lead.'),
            ('pause_when', new.pause_when, new.pause_when is distinct from old.pause_when,
                'Name the lead columns whose values stop the clock, e.g. {"status": "waiting on '
                || 'customer"}; NULL never pauses.')
        ) as c (column_name, value, changed, hint)
        where c.changed and (c.value is not null or c.column_name = 'match')
    loop
        if v_value is null or pg_catalog.jsonb_typeof(v_value) <> 'object'
            or pg_catalog.octet_length(v_value::text) > v_match_bytes then
            raise exception 'SLA policy "%": % must be a JSON object of at most % bytes',
                new.name, v_column, v_match_bytes
                using errcode = 'SL010',
                    detail = pg_catalog.format(
                        '%s is a %s of %s bytes.', v_column, pg_catalog.jsonb_typeof(v_value),
                        pg_catalog.octet_length(v_value::text)
                    ),
                    hint = v_hint;
        end if;
    end loop;
    if new.pause_when is distinct from old.pause_when and new.pause_when is not null then
        -- Each value must fit its column (the pause trigger writes them over a lead's row to
        -- test the condition cheaply): {"created_at": "soon"} would fail every UPDATE.
        begin
            perform pg_catalog.jsonb_populate_record(null::public.crm_leads, new.pause_when);
        exception when others then
            raise exception 'SLA policy "%": a value of pause_when does not fit its column',
                new.name
                using errcode = 'SL010',
                    detail = sqlerrm,
                    hint = 'Give each crm_leads column a value of its type, e.g. {"status": '
                    || '"waiting on customer"} for a text column.';
        end;
    end if;
    if new.owner_key is distinct from old.owner_key then
        v_key_problem := public.crm_sla_owner_key_problem(new.owner_key);
    end if;
    if v_key_problem is not null then
        raise exception 'SLA policy "%": owner_key % is not a column leads can share',
            new.name, new.owner_key
            using errcode = 'SL010',
                detail = v_key_problem || '.',
                hint = 'Name a column of public.crm_leads that the CRM writes and = compares, e.g. '
                || 'email' || case when pg_catalog.strpos(v_key_problem, 'has no column') > 0
                    then pg_catalog.format(
                        '; to key on %1$I, add it first: alter table public.crm_leads add column '
                        || '%1$I text;', new.owner_key
                    )
                    else '.'
                end;
    end if;
    return new;
end
$_$;

COMMENT ON FUNCTION public.crm_sla_policies_check() IS 'Trigger: refuses an SLA policy with a window outside (0, 1 year], a negative max_reassignments, a match or pause_when that is not a JSON object of at most 8 kB or an owner_key that is not a usable crm_leads column (SL010)';

CREATE FUNCTION public.crm_sla_policies_in_use() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
    if exists (select from public.crm_leads as l where l.sla_policy_id = old.id) then
        raise exception 'SLA policy "%" is the policy of existing leads', old.name
            using errcode = 'SL010',
                hint = 'Deactivate it (is_active = false): new leads stop matching it, and the '
                || 'leads that have it keep it for life.';
    end if;
    return old;
end
$$;

COMMENT ON FUNCTION public.crm_sla_policies_in_use() IS 'Trigger: refuses to delete an SLA policy that leads follow (SL010)';

CREATE FUNCTION public.crm_sla_policies_pause() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
    update public.crm_leads as l
    set sla_paused_at = l.sla_paused_at  -- the pause trigger decides
    where l.sla_policy_id = new.id
        and not l.first_action_completed and l.sla_escalated_at is null
        and (
            l.sla_paused_at is not null
            or coalesce(pg_catalog.to_jsonb(l) @> new.pause_when, false)
        );
    return null;
end
$$;

COMMENT ON FUNCTION public.crm_sla_policies_pause() IS 'Trigger: re-evaluates the open leads of a policy whose pause_when changed (pause or resume)';

CREATE FUNCTION public.crm_sla_policy_findings() RETURNS TABLE(table_name text, policy_name text, command text, roles text, effect text, fix text)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
    with engine (table_name, policy_name) as (
        values
        ('crm_leads', 'Admins can manage all leads'),
        ('crm_leads', 'Agents can view own leads'),
        ('crm_leads', 'Agents can update own leads'),
        ('crm_leads', 'Service role can manage leads'),
        ('crm_lead_reassignments', 'Admins can view all reassignments'),
        ('crm_lead_reassignments', 'Agents can view own reassignments'),
        ('crm_lead_reassignments', 'Service role can insert reassignments'),
        ('crm_lead_reassignments', 'Service role can read reassignments')
    ),

    theirs as (
        select
            p.tablename::text as table_name,
            p.policyname::text as policy_name,
            p.cmd::text as command,
            array_to_string(p.roles, ', ') as roles,
            -- (select auth.uid()) and auth.uid() mean the same: compare the bare form.
            replace(p.qual, '( SELECT auth.uid() AS uid)', 'auth.uid()') as using_expr,
            replace(p.with_check, '( SELECT auth.uid() AS uid)', 'auth.uid()') as check_expr
        from pg_catalog.pg_policies as p
        where
            p.schemaname = 'public'
            and p.tablename in ('crm_leads', 'crm_lead_reassignments')
            and p.permissive = 'PERMISSIVE'
            and p.roles && array['public', 'anon', 'authenticated']::name []
            and not exists (
                select from engine as e
                where e.table_name = p.tablename and e.policy_name = p.policyname
            )
    ),

    -- Conditions no wider than the engine's own: the owner's leads, the agent's audit rows,
    -- admins only.
    narrow (table_name, expr) as (
        values
        ('crm_leads', '(assigned_agent_id = auth.uid())'),
        ('crm_leads', 'is_admin(auth.uid())'),
        ('crm_lead_reassignments',
            '((from_agent_id = auth.uid()) OR (to_agent_id = auth.uid()))'),
        ('crm_lead_reassignments', 'is_admin(auth.uid())')
    ),

    judged as (
        select
            t.*,
            case when t.roles = 'public' then 'every role (PUBLIC, anon included)'
                else t.roles end as who,
            case
                when t.command = 'ALL' and t.table_name = 'crm_leads'
                    then 'read, insert, update and delete'
                when t.command = 'ALL' then 'read and write'
                else lower(t.command)
            end as verb,
            case
                when t.table_name = 'crm_leads'
                    then 'an agent reads and updates only the leads it owns, intake is the '
                    || 'service role''s and admins'', anon sees nothing'
                else 'an agent reads only the audit rows where it lost or received a lead, '
                    || 'only the engine and the service role write them, anon sees nothing'
            end as promise
        from theirs as t
        where not (
            -- As narrow as the engine's own, for a command the engine grants that way.
            (
                t.command in ('SELECT', 'UPDATE')
                or t.using_expr like '%is_admin(auth.uid())%'
            )
            and exists (
                select from narrow as n
                where n.table_name = t.table_name and n.expr = t.using_expr
            )
            and (
                t.check_expr is null
                or exists (
                    select from narrow as n
                    where n.table_name = t.table_name and n.expr = t.check_expr
                )
            )
        )
        -- The append-only trigger refuses every update and delete of an audit row anyway.
        and not (
            t.table_name = 'crm_lead_reassignments' and t.command in ('UPDATE', 'DELETE')
        )
    )

    select
        j.table_name,
        j.policy_name,
        j.command,
        j.roles,
        format(
            'lets %s %s %s: it is permissive, so it is OR-ed with the engine''s policies and '
            || 'widens their promise (%s)',
            j.who, j.verb,
            case
                when coalesce(j.using_expr, j.check_expr) = 'true'
                    then 'every row of ' || j.table_name
                else format(
                    'the rows of %s where %s', j.table_name,
                    coalesce(j.using_expr, j.check_expr)
                )
            end,
            j.promise
        ),
        format(
            'drop policy %I on public.%I; (the engine''s own policies already give agents, '
            || 'admins and the service role what docs/security.md lists), or re-create it AS '
            || 'RESTRICTIVE, or limit it to admins with using ((select public.is_admin((select '
            || 'auth.uid()))))',
            j.policy_name, j.table_name
        )
    from judged as j
    order by j.table_name, j.policy_name
$$;

COMMENT ON FUNCTION public.crm_sla_policy_findings() IS 'Permissive policies of the CRM''s own on crm_leads / crm_lead_reassignments that widen the engine''s promise: what each does, and how to fix it (crm-sla migrate and status list them)';

CREATE FUNCTION public.crm_sla_policy_for(p_index jsonb, p_row jsonb) RETURNS uuid
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
    v_sets constant jsonb := p_index -> 'sets';
    v_keys jsonb;
    v_values jsonb;
    v_id uuid;
    v_priority integer;
    v_name text;
    v_best_id uuid;
    v_best_priority integer;
    v_best_name text;
begin
    -- Expressions rather than queries where they can be: a query costs each lead ~10 us.
    for i in 0 .. pg_catalog.jsonb_array_length(v_sets) - 1 loop
        v_keys := v_sets -> i;
        v_values := '{}'::jsonb;
        for j in 0 .. pg_catalog.jsonb_array_length(v_keys) - 1 loop
            if not p_row operator(pg_catalog.?) (v_keys ->> j) then
                v_values := null;
                exit;
            end if;
            v_values := v_values
                operator(pg_catalog.||) pg_catalog.jsonb_build_object(v_keys ->> j, p_row -> (v_keys ->> j));
        end loop;
        continue when v_values is null;
        select p.id, p.priority, p.name into v_id, v_priority, v_name
        from public.crm_sla_policies as p
        where public.crm_sla_match_keys(p.match) = v_keys and p.match = v_values and p.is_active
        order by p.priority, p.name
        limit 1;
        if v_id is not null and (v_best_id is null
            or (v_priority, v_name) < (v_best_priority, v_best_name)) then
            v_best_id := v_id;
            v_best_priority := v_priority;
            v_best_name := v_name;
        end if;
        v_id := null;
    end loop;
    if (p_index ->> 'others')::boolean then
        select p.id, p.priority, p.name into v_id, v_priority, v_name
        from public.crm_sla_policies as p
        where public.crm_sla_match_keys(p.match) is null and p.is_active
            and p_row operator(pg_catalog.@>) p.match
        order by p.priority, p.name
        limit 1;
        if v_id is not null and (v_best_id is null
            or (v_priority, v_name) < (v_best_priority, v_best_name)) then
            v_best_id := v_id;
        end if;
    end if;
    return v_best_id;
end
$$;

COMMENT ON FUNCTION public.crm_sla_policy_for(p_index jsonb, p_row jsonb) IS 'Internal: a new lead''s policy among many active ones, one index probe a key set (intake)';

CREATE FUNCTION public.crm_sla_policy_steps_check() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
    if new.stage is null or new.stage not in ('claim_window', 'contact_window') then
        raise exception 'ladder step "%": stage % does not exist', new.name, coalesce(new.stage, 'NULL')
            using errcode = 'SL010',
                hint = 'A step belongs to the claim_window or the contact_window timer.';
    end if;
    if new.at is null or new.at <= 0 or new.at >= 1 then
        raise exception 'ladder step "%": at % is not a share of the window', new.name,
            coalesce(new.at::text, 'NULL')
            using errcode = 'SL010',
                hint = 'Give a number between 0 and 1 (exclusive): 0.5 is half the window, in '
                || 'the policy''s open time.';
    end if;
    if new.notify is null or new.notify not in ('owner', 'manager') then
        raise exception 'ladder step "%": notify % is unknown', new.name,
            coalesce(new.notify, 'NULL')
            using errcode = 'SL010',
                hint = 'notify is owner (the lead''s owner) or manager (the first active agent in '
                || 'the owner''s manager chain).';
    end if;
    if new.name is null or pg_catalog.length(new.name) not between 1 and 200 then
        raise exception 'a ladder step needs a name of 1 to 200 characters'
            using errcode = 'SL010',
                hint = 'The name is payload.step of its events, e.g. ''remind_rep''.';
    end if;
    return new;
end
$$;

COMMENT ON FUNCTION public.crm_sla_policy_steps_check() IS 'Trigger: refuses a ladder step with an unknown stage or notify, at outside (0, 1) or no name (SL010)';

CREATE FUNCTION public.crm_sla_progress_lead(p_lead_id uuid, p_action text) RETURNS public.crm_leads
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
    v_caller constant text := public.crm_sla_caller();
    v_uid constant uuid := auth.uid();
    v_lead public.crm_leads;
begin
    if v_caller = 'anon' then
        raise exception 'a % needs a signed-in agent', p_action
            using errcode = 'SL006',
                hint = 'Call it with the owning agent''s JWT, or as the service role.';
    end if;
    if p_lead_id is null then
        raise exception 'p_lead_id must not be null'
            using errcode = 'SL010', hint = 'Pass the id of a lead you own.';
    end if;
    -- One statement, so a reassignment racing it either happened before (no row matches: the
    -- owner changed) or waits for it; the due test is on the row it locks.
    update public.crm_leads as l
    set
        lead_claimed = true,
        first_action_completed = l.first_action_completed or p_action = 'first action'
    where l.id = p_lead_id
        and (v_caller <> 'user' or l.assigned_agent_id = v_uid)
        and case p_action
            when 'claim' then l.lead_claimed = false
            else l.first_action_completed = false
        end
    returning l.* into v_lead;
    if found then
        return v_lead;
    end if;
    perform public.crm_sla_explain_refusal(v_caller, v_uid, p_lead_id, p_action);
    return null;  -- not reached: the call above always raises
end
$$;

COMMENT ON FUNCTION public.crm_sla_progress_lead(p_lead_id uuid, p_action text) IS 'Internal: the claim or first action behind claim_lead() and complete_first_action()';

CREATE PROCEDURE public.crm_sla_purge_outbox(IN p_batch integer DEFAULT 10000)
    LANGUAGE plpgsql
    AS $$
declare
    v_before timestamptz;
    v_deleted integer;
begin
    if p_batch is null or p_batch < 1 then
        raise exception 'crm_sla_purge_outbox needs a positive batch size'
            using errcode = 'SL010', hint = 'For example: call public.crm_sla_purge_outbox(10000).';
    end if;
    select pg_catalog.now() - s.outbox_keep_days * interval '1 day' into v_before
    from public.crm_sla_settings as s;
    loop
        delete from public.crm_sla_outbox as o
        where o.id = any(array(
            select x.id from public.crm_sla_outbox as x
            where x.created_at < v_before
                and not exists (
                    select from public.crm_sla_webhook_deliveries as d
                    inner join public.crm_sla_webhooks as h on d.webhook_id = h.id
                    where d.outbox_id = x.id and d.status = 'pending' and h.is_active
                )
            order by x.id
            limit p_batch
            for update skip locked
        ));
        get diagnostics v_deleted = row_count;
        commit;
        exit when v_deleted < p_batch;
    end loop;
end
$$;

COMMENT ON PROCEDURE public.crm_sla_purge_outbox(IN p_batch integer) IS 'Deletes old outbox rows (outbox_keep_days) whose deliveries are finished or wait only on inactive webhooks, batch by batch';

CREATE FUNCTION public.crm_sla_replan_calendars(p_calendar_ids uuid[]) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
    v_count integer;
    v_started constant timestamptz := pg_catalog.clock_timestamp();
begin
    -- Running timers are on the seed's partial indexes (open claim and contact timers).
    with due as (
        select
            l.id,
            public.crm_sla_deadline(
                l.sla_timer_calendar_id,
                case when l.lead_claimed then l.contact_timer_started_at else l.claim_timer_started_at end,
                l.sla_timer_window
            ) as expires_at,
            -- A timer that had a warning instant gets it again (its run keeps a warning written).
            case when l.sla_warn_at is not null then public.crm_sla_warn_instant(
                l.sla_policy_id,
                l.sla_timer_calendar_id,
                case when l.lead_claimed then l.contact_timer_started_at else l.claim_timer_started_at end,
                l.sla_timer_window
            ) end as warn_at,
            -- Its next ladder step likewise (the steps this run took stay taken).
            case when l.sla_step_at is not null then public.crm_sla_step_instant(
                l.sla_policy_id,
                case when l.lead_claimed then 'contact_window' else 'claim_window' end,
                l.sla_timer_calendar_id,
                case when l.lead_claimed then l.contact_timer_started_at else l.claim_timer_started_at end,
                l.sla_timer_window,
                l.sla_step_done
            ) end as step_at
        from public.crm_leads as l
        where
            l.sla_timer_calendar_id = any(p_calendar_ids)
            and l.sla_timer_window is not null
            -- A timer that was paused keeps the deadline its resume gave it (its start no longer
            -- tells it); a paused one has none to re-plan (it resumes in the calendar as it is).
            and l.sla_paused_total is null
            and (
                (l.lead_claimed = false and l.claim_timer_expires_at is not null)
                or (
                    l.lead_claimed and l.first_action_completed = false
                    and l.contact_timer_expires_at is not null
                )
            )
    ),

    replanned as (
        update public.crm_leads as l
        set
            claim_timer_expires_at
            = case when l.lead_claimed then l.claim_timer_expires_at else d.expires_at end,
            claim_window_expires_at
            = case when l.lead_claimed then l.claim_window_expires_at else d.expires_at end,
            contact_timer_expires_at
            = case when l.lead_claimed then d.expires_at else l.contact_timer_expires_at end,
            sla_warn_at = d.warn_at,
            sla_step_at = d.step_at
        from due as d
        where
            l.id = d.id
            and (d.expires_at, d.warn_at, d.step_at) is distinct from (
                case
                    when l.lead_claimed then l.contact_timer_expires_at
                    else l.claim_timer_expires_at
                end,
                l.sla_warn_at,
                l.sla_step_at
            )
        returning l.id
    )

    select count(*) into v_count from replanned;
    if v_count >= 1000 then
        raise notice 'calendar edit re-planned % running timers in % ms', v_count,
            round(extract(epoch from pg_catalog.clock_timestamp() - v_started) * 1000)
            using hint = 'Edit calendars outside busy hours: the edit holds these leads'' row '
            || 'locks until it commits.';
    end if;
    return v_count;
end
$$;

COMMENT ON FUNCTION public.crm_sla_replan_calendars(p_calendar_ids uuid[]) IS 'Internal: recomputes the deadlines of the running timers that follow these calendars';

CREATE FUNCTION public.crm_sla_resume_snoozed(p_now timestamp with time zone, p_limit integer) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
    v_count integer;
begin
    with due as (
        select l.id from public.crm_leads as l
        where l.sla_snoozed_until <= p_now and l.sla_snoozed_until is not null
        order by l.sla_snoozed_until
        limit p_limit
        for update of l skip locked
    ),

    ended as (
        update public.crm_leads as l
        set sla_snoozed_until = null
        from due as d
        where l.id = d.id
        returning l.id
    )

    select count(*) into v_count from ended;
    return v_count;
end
$$;

COMMENT ON FUNCTION public.crm_sla_resume_snoozed(p_now timestamp with time zone, p_limit integer) IS 'Internal: ends the snoozes due (their timers resume at the snooze''s instant)';

CREATE FUNCTION public.crm_sla_route_ladder(p_leads uuid[], p_at timestamp with time zone) RETURNS TABLE(lead_id uuid, agent_id uuid, escalate boolean, eligible boolean, reason text, rank integer)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
    v_leads uuid[];
    v_picks uuid[];  -- the router's pick for each lead
    v_escalates boolean[];
    v_reasons text[];
    v_owners uuid[];
    v_modes text[];  -- each lead's on_breach
    v_teams uuid[];  -- each lead's policy's team (NULL: none)
    v_pick uuid;
    v_pool_ids uuid[];  -- who may take a lead now, with the room the router's picks left it
    v_room bigint[];
    v_at integer;
begin
    select
        array_agg(r.lead_id order by t.ord),
        array_agg(r.agent_id order by t.ord),
        array_agg(r.escalate order by t.ord),
        array_agg(r.reason order by t.ord),
        array_agg(l.assigned_agent_id order by t.ord),
        array_agg(coalesce(p.on_breach, 'reassign') order by t.ord),
        array_agg(p.team_id order by t.ord)
    into v_leads, v_picks, v_escalates, v_reasons, v_owners, v_modes, v_teams
    from public.crm_sla_route_leads(p_leads, p_at, false, null) as r
    inner join unnest(p_leads) with ordinality as t (id, ord) on r.lead_id = t.id
    left join public.crm_leads as l on r.lead_id = l.id
    left join public.crm_sla_policies as p on l.sla_policy_id = p.id;

    for v_i in 1..coalesce(cardinality(v_leads), 0) loop
        v_pick := null;
        if v_escalates[v_i] then
            v_pick := public.crm_sla_escalation_target(v_owners[v_i], v_picks[v_i]);
        elsif v_modes[v_i] = 'manager' and v_owners[v_i] is not null then
            if v_pool_ids is null then
                -- The room under each cap less what the router gave out in this batch (a
                -- manager the router picked for another lead has that much less room).
                select
                    coalesce(array_agg(p.agent_id), '{}'),
                    coalesce(array_agg(p.max_open_leads - p.open_leads - (
                        select count(*) from unnest(v_picks, v_escalates) as x (agent_id, esc)
                        where x.agent_id = p.agent_id and not x.esc
                    )), '{}')
                into v_pool_ids, v_room
                from public.crm_sla_routing_pool(p_at) as p
                where p.reason is null;
            end if;
            select c.agent_id into v_pick
            from public.crm_sla_manager_chain(v_owners[v_i]) as c
            where c.agent_id = any(v_pool_ids)
                and coalesce(v_room[pg_catalog.array_position(v_pool_ids, c.agent_id)], 1) > 0
                and (
                    v_teams[v_i] is null or exists (
                        select from public.crm_sla_team_members as m
                        where m.team_id = v_teams[v_i] and m.agent_id = c.agent_id
                    )
                )
            order by c.level
            limit 1;
            if v_pick is not null then
                v_at := pg_catalog.array_position(v_pool_ids, v_pick);
                v_room[v_at] := v_room[v_at] - 1;
                -- The router's pick for this lead is not used: its room comes back.
                v_at := pg_catalog.array_position(v_pool_ids, v_picks[v_i]);
                if v_at is not null then
                    v_room[v_at] := v_room[v_at] + 1;
                end if;
            end if;
        end if;
        lead_id := v_leads[v_i];
        agent_id := coalesce(v_pick, v_picks[v_i]);
        escalate := v_escalates[v_i];
        eligible := agent_id is not null;
        reason := case when agent_id is null then v_reasons[v_i] end;
        rank := case when agent_id is not null then 1 end;
        return next;
    end loop;
end
$$;

COMMENT ON FUNCTION public.crm_sla_route_ladder(p_leads uuid[], p_at timestamp with time zone) IS 'Internal: breach routing with the ladder (escalation and on_breach ''manager'' up the manager chain) over crm_sla_route_leads';

CREATE FUNCTION public.crm_sla_route_leads(p_leads uuid[], p_at timestamp with time zone, p_explain boolean, p_new_policies uuid[]) RETURNS TABLE(lead_id uuid, agent_id uuid, escalate boolean, eligible boolean, reason text, rank integer)
    LANGUAGE plpgsql
    SET search_path TO ''
    SET plan_cache_mode TO 'force_generic_plan'
    SET jit TO 'off'
    AS $$
declare
    -- The pool (crm_sla_routing_pool), read once: one element an agent or admin, by id. These
    -- are parallel arrays on purpose: the pick reads credit, weight and sequence once an agent a
    -- lead, and an element of an array of scalars is the fastest thing PL/pgSQL reads.
    v_ids uuid[];
    v_admin boolean[];
    v_why text[];  -- why it cannot take a lead now (NULL: it can)
    v_weight double precision[];
    v_credit double precision[];  -- routing credit (of v_agents: less v_weight * v_rounds)
    v_seq bigint[];  -- the routing sequence of its last pick (0: never picked)
    v_room bigint[];  -- what is left under its cap (NULL: no cap)
    v_picked integer[];  -- leads it got in this batch
    v_start double precision[];  -- the credits before the batch
    -- Who can take leads (indexes into the pool, by id).
    v_agents integer[];  -- the agents who can take leads now and have room in this batch
    v_available boolean[];  -- v_agents as a mask
    v_admins integer[];  -- the admins who can take escalated leads
    -- The credits of v_agents are kept lazily: such an agent's credit is v_credit plus v_weight
    -- * v_rounds, v_rounds counting the rounds in which every one of v_agents but the lead's
    -- owner was a candidate (the common case: no team, never moved), so that such a round costs
    -- one comparison an agent.
    v_rounds integer := 0;
    v_all double precision := 0;  -- the total weight of v_agents
    v_next_seq bigint;
    v_lead record;  -- the lead being routed (the query below)
    v_owner integer;  -- its owner's index in the pool (0: none)
    v_pref integer;  -- its owner_key's owner's index in the pool (0: none)
    v_key_pick integer[];  -- for each keyed lead of p_leads (by position): its key's owner now
    v_by_key boolean;  -- the pick is v_pref's (ownership routing: no round, no credit moves)
    v_lazy boolean;  -- the candidates are all of v_agents but the owner (a lazy round)
    v_cand integer[];  -- the lead's candidates
    v_held integer[];  -- eligible agents who held the lead (candidates when nobody else is)
    v_total double precision;  -- the candidates' total weight: what the pick pays
    v_j integer;
    v_best integer;
    v_score double precision;
    v_best_score double precision;
    v_rank integer[];  -- p_explain: each agent's rank
    v_ranked integer := 0;
begin
    select
        array_agg(p.agent_id order by p.agent_id),
        array_agg(p.role = 'admin' order by p.agent_id),
        array_agg(p.reason order by p.agent_id),
        array_agg(p.weight order by p.agent_id),
        array_agg(p.credit order by p.agent_id),
        array_agg(coalesce(p.last_routed_seq, 0) order by p.agent_id),
        array_agg(p.max_open_leads - p.open_leads order by p.agent_id),
        coalesce(max(p.last_routed_seq), 0)
    into v_ids, v_admin, v_why, v_weight, v_credit, v_seq, v_room, v_next_seq
    from public.crm_sla_routing_pool(p_at) as p;
    if v_ids is null then
        return;
    end if;

    v_agents := array(
        select x.j from pg_catalog.generate_subscripts(v_ids, 1) as x (j)
        where v_why[x.j] is null and not v_admin[x.j] order by x.j
    );
    v_admins := array(
        select x.j from pg_catalog.generate_subscripts(v_ids, 1) as x (j)
        where v_why[x.j] is null and v_admin[x.j] order by x.j
    );
    v_available := array_fill(false, array[cardinality(v_ids)]);
    foreach v_j in array v_agents loop
        v_available[v_j] := true;
        v_all := v_all + v_weight[v_j];
    end loop;
    v_start := v_credit;
    v_picked := array_fill(0, array[cardinality(v_ids)]);
    v_rank := array_fill(null::integer, array[cardinality(v_ids)]);
    v_key_pick := array_fill(null::integer, array[coalesce(cardinality(p_leads), 0)]);

    -- Everything the rules need to know about the leads, in one statement, in routing order.
    for v_lead in
        with team_members as (
            select m.team_id, pg_catalog.array_agg(m.agent_id) as members
            from public.crm_sla_team_members as m
            group by m.team_id
        ),

        keys as (
            select
                o.ord, o.key_label, o.owner_id,
                pg_catalog.lag(o.ord) over (partition by o.key_label order by o.ord) as prev
            from public.crm_sla_owner_keys(p_leads, p_new_policies) as o
        )

        select
            t.ord::integer as ord,
            t.id,
            l.assigned_agent_id as owner_id,
            l.assigned_agent_id is not null
            and coalesce(h.automatic, 0) >= coalesce(
                pol.max_reassignments,
                (select s.max_reassignments from public.crm_sla_settings as s limit 1),
                3
            ) as escalate,
            tm.name as team,
            -- its team's members (NULL: the policy names no team)
            case when tm.id is not null then coalesce(mm.members, '{}') end as members,
            h.holders,  -- everyone its audit rows name (NULL: it was never moved)
            k.key_label,  -- '<owner_key column> <value>' of an unowned lead with one
            k.owner_id as key_owner_id,  -- the owner of the most recent other lead with it
            k.prev as key_prev  -- the position of the batch's previous lead with that key
        from unnest(p_leads, p_new_policies) with ordinality as t (id, new_policy, ord)
        left join public.crm_leads as l on t.id = l.id
        left join public.crm_sla_policies as pol
            on coalesce(l.sla_policy_id, t.new_policy) = pol.id
        left join public.crm_sla_teams as tm on pol.team_id = tm.id
        left join team_members as mm on tm.id = mm.team_id
        left join lateral (
            select
                pg_catalog.array_cat(
                    pg_catalog.array_agg(a.from_agent_id)
                    filter (where a.from_agent_id is not null),
                    pg_catalog.array_agg(a.to_agent_id)
                ) as holders,
                count(*) filter (where a.reason <> 'manual') as automatic
            from public.crm_lead_reassignments as a
            where a.lead_id = l.id and coalesce(l.reassignment_count, 0) > 0
        ) as h on true
        left join keys as k on t.ord = k.ord
        where l.id is not null or p_new_policies is not null
        order by t.ord
    loop
        v_owner := coalesce(pg_catalog.array_position(v_ids, v_lead.owner_id), 0);
        v_pref := coalesce(
            v_key_pick[v_lead.key_prev], pg_catalog.array_position(v_ids, v_lead.key_owner_id), 0
        );
        loop  -- once when routing; p_explain: again and again, each pick leaving the candidates
            -- 1. The lead's candidates.
            v_by_key := v_pref > 0 and v_available[v_pref] and v_pref <> v_owner
                and coalesce(v_ids[v_pref] = any(v_lead.members), true);
            v_lazy := not v_by_key and not v_lead.escalate and v_lead.members is null
                and v_lead.holders is null;
            if v_by_key then
                v_cand := array[v_pref];
            elsif v_lazy then
                v_cand := v_agents;  -- the owner is skipped below
            else
                -- A team, earlier holders or an escalation: the eligible ones, never-held first.
                v_cand := '{}';
                v_held := '{}';
                foreach v_j in array case when v_lead.escalate then v_admins else v_agents end
                loop
                    continue when v_j = v_owner or (
                        not v_lead.escalate and not coalesce(v_ids[v_j] = any(v_lead.members), true)
                    );
                    if v_ids[v_j] = any(v_lead.holders) then
                        v_held := v_held || v_j;
                    else
                        v_cand := v_cand || v_j;
                    end if;
                end loop;
                if cardinality(v_cand) = 0 then
                    v_cand := v_held;
                end if;
            end if;

            -- 2. The best candidate: the most credit once this round's weight is earned, then
            -- the least recently routed, then the smaller id. (The one comparison.)
            v_best := null;
            foreach v_j in array v_cand loop
                continue when v_j = v_owner;
                v_score := v_credit[v_j]
                    + v_weight[v_j] * (case when v_available[v_j] then v_rounds else 0 end + 1);
                if v_best is null or v_score > v_best_score or (
                    v_score = v_best_score
                    and (v_seq[v_j], v_ids[v_j]) < (v_seq[v_best], v_ids[v_best])
                ) then
                    v_best := v_j;
                    v_best_score := v_score;
                end if;
            end loop;

            exit when not p_explain or v_best is null;
            v_ranked := v_ranked + 1;
            v_rank[v_best] := v_ranked;
            v_available[v_best] := false;
            v_agents := pg_catalog.array_remove(v_agents, v_best);
            v_admins := pg_catalog.array_remove(v_admins, v_best);
        end loop;

        if p_explain then
            -- Why each agent can or cannot take the lead now, in the rules' order.
            return query
            select
                v_lead.id,
                v_ids[x.j],
                v_lead.escalate,
                v_rank[x.j] is not null,
                case
                    when v_rank[x.j] is not null then case
                        when x.j = v_pref then 'owner of ' || v_lead.key_label
                        when v_ids[x.j] = any(v_lead.holders)
                            then 'eligible, but held this lead before'
                        else 'eligible'
                    end
                    when x.j = v_owner then 'current owner'
                    when v_why[x.j] is not null then v_why[x.j]
                    when v_lead.escalate and not v_admin[x.j]
                        then 'the lead goes to an admin: it was moved max_reassignments times'
                    when not v_lead.escalate and v_admin[x.j]
                        then 'admin: takes only escalated leads'
                    else 'not in team ' || v_lead.team
                end,
                v_rank[x.j]
            from pg_catalog.generate_subscripts(v_ids, 1) as x (j);
            return;
        end if;

        -- 3. The round: the candidates earn their weight and the pick pays their total.
        if v_best is not null and not v_by_key then
            if v_lazy then
                v_rounds := v_rounds + 1;
                v_total := v_all;
                if v_owner > 0 and v_available[v_owner] then  -- the owner earns nothing
                    v_credit[v_owner] := v_credit[v_owner] - v_weight[v_owner];
                    v_total := v_total - v_weight[v_owner];
                end if;
            else
                v_total := 0;
                foreach v_j in array v_cand loop
                    v_credit[v_j] := v_credit[v_j] + v_weight[v_j];
                    v_total := v_total + v_weight[v_j];
                end loop;
            end if;
            v_credit[v_best] := v_credit[v_best] - v_total;
        end if;
        if v_best is not null then
            v_next_seq := v_next_seq + 1;
            v_seq[v_best] := v_next_seq;
            v_room[v_best] := v_room[v_best] - 1;
            v_picked[v_best] := v_picked[v_best] + 1;
            if v_room[v_best] <= 0 and v_available[v_best] then
                -- At its cap: no candidate for the rest of the batch (its credit is kept as is).
                v_credit[v_best] := v_credit[v_best] + v_weight[v_best] * v_rounds;
                v_available[v_best] := false;
                v_agents := pg_catalog.array_remove(v_agents, v_best);
                v_all := v_all - v_weight[v_best];
            end if;
        end if;
        if v_lead.key_label is not null then
            v_key_pick[v_lead.ord] := coalesce(v_best, v_key_pick[v_lead.key_prev]);
        end if;

        lead_id := v_lead.id;
        agent_id := v_ids[v_best];
        escalate := v_lead.escalate;
        eligible := v_best is not null;
        reason := case when v_best is null then 'nobody eligible' end;
        rank := case when v_best is not null then 1 end;
        return next;
    end loop;

    if p_explain then
        return;
    end if;
    insert into public.crm_sla_agent_state as s (
        agent_id, last_routed_seq, leads_routed, routing_credit
    )
    select x.id, x.seq, x.picked, c.credit
    from unnest(v_ids, v_seq, v_picked, v_credit, v_start, v_weight, v_available)
        as x (id, seq, picked, credit_now, start, weight, lazy)
    cross join lateral (
        select x.credit_now + case when x.lazy then x.weight * v_rounds else 0 end as credit
    ) as c
    where x.picked > 0 or c.credit <> x.start
    on conflict on constraint crm_sla_agent_state_pkey do update
        set last_routed_seq = excluded.last_routed_seq,
            leads_routed = s.leads_routed + excluded.leads_routed,
            routing_credit = excluded.routing_credit;
end
$$;

COMMENT ON FUNCTION public.crm_sla_route_leads(p_leads uuid[], p_at timestamp with time zone, p_explain boolean, p_new_policies uuid[]) IS 'Internal: the router (eligibility, ownership, never-held first, smooth weighted round robin, caps, escalation) behind intake, the monitor, declines, hand-overs, crm_sla_explain_routing and reassign_lead';

CREATE FUNCTION public.crm_sla_route_new_lead(p_lead_id uuid, p_policy_id uuid, p_at timestamp with time zone) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
    v_agent uuid;
begin
    -- Only from the intake trigger: called on its own it would move the routing credits without
    -- a lead.
    if pg_catalog.pg_trigger_depth() = 0 then
        raise exception 'crm_sla_route_new_lead is called by the intake trigger only'
            using errcode = 'SL006', hint = 'Insert the lead without an owner: it is routed then.';
    end if;
    if exists (select from public.crm_leads as w where w.assigned_agent_id is null) then
        return null;
    end if;
    -- One order for every router: the routing row first (to the end of the transaction).
    perform from public.crm_sla_routing_lock for update;
    select r.agent_id into v_agent
    from public.crm_sla_route_leads(array[p_lead_id], p_at, false, array[p_policy_id]) as r;
    return v_agent;
end
$$;

COMMENT ON FUNCTION public.crm_sla_route_new_lead(p_lead_id uuid, p_policy_id uuid, p_at timestamp with time zone) IS 'Internal: routes a new lead as it is written (the first unowned lead of an INSERT statement)';

CREATE FUNCTION public.crm_sla_route_waiting(p_limit integer, p_at timestamp with time zone) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
declare
    v_room bigint;
    v_ids uuid[];
    v_routed integer;
begin
    if not exists (select from public.crm_leads as w where w.assigned_agent_id is null) then
        return 0;
    end if;
    -- How many leads the available agents can take at most (NULL: no limit), so that a queue
    -- nobody can take from is not locked at all.
    select
        case
            when count(*) filter (where p.max_open_leads is null) > 0 then null
            else coalesce(sum(p.max_open_leads - p.open_leads), 0)
        end
    into v_room
    from public.crm_sla_routing_pool(p_at) as p
    where p.role = 'agent' and p.reason is null;
    if v_room = 0 then
        return 0;
    end if;

    -- Oldest first; the leads of one INSERT (one created_at) in the order they were written.
    select array_agg(u.id order by u.created_at, u.ctid) into v_ids
    from (
        select w.id, w.created_at, w.ctid
        from public.crm_leads as w
        where w.assigned_agent_id is null
        order by w.created_at, w.ctid
        limit least(p_limit, v_room)
        for update skip locked
    ) as u;
    if v_ids is null then
        return 0;
    end if;

    -- Each routed lead's claim timer follows its policy (computed once a policy: materialized,
    -- as inlined the planner calls the plan functions once a lead), and its first owner is
    -- announced (an `assigned` event each).
    with picks as (
        select r.lead_id, r.agent_id, l.sla_policy_id, t.ord
        from public.crm_sla_route_leads(v_ids, p_at, false, null) as r
        inner join public.crm_leads as l on r.lead_id = l.id
        inner join unnest(v_ids) with ordinality as t (id, ord) on r.lead_id = t.id
        where r.agent_id is not null
    ),

    plans as materialized (
        select
            q.policy_id, pl.expires_at, pl.timer_window, pl.calendar_id,
            public.crm_sla_warn_instant(q.policy_id, pl.calendar_id, p_at, pl.timer_window)
            as warn_at,
            public.crm_sla_step_instant(
                q.policy_id, 'claim_window', pl.calendar_id, p_at, pl.timer_window, null
            ) as step_at  -- the ladder's first step
        from (select distinct p.sla_policy_id as policy_id from picks as p) as q
        cross join lateral public.crm_sla_timer_plan(q.policy_id, 'claim', p_at) as pl
    ),

    routed as (
        update public.crm_leads as l
        set
            assigned_agent_id = p.agent_id,
            claim_timer_started_at = p_at,
            claim_timer_expires_at = pl.expires_at,
            claim_window_expires_at = pl.expires_at,
            sla_timer_window = pl.timer_window,
            sla_timer_calendar_id = pl.calendar_id,
            sla_warn_at = pl.warn_at,
            sla_warned_at = null,
            sla_step_at = pl.step_at,
            sla_step_done = null
        from picks as p, plans as pl
        where
            l.id = p.lead_id and l.assigned_agent_id is null
            and pl.policy_id is not distinct from p.sla_policy_id
        returning l.id, l.assigned_agent_id, l.claim_timer_expires_at, p.ord
    )

    select
        public.crm_sla_emit(
            array_agg('assigned'::text order by r.ord),
            array_agg(r.id order by r.ord),
            array_agg(r.assigned_agent_id order by r.ord),
            array_agg('claim_window'::text order by r.ord),
            array_agg(r.claim_timer_expires_at order by r.ord),
            array_agg(p_at order by r.ord)
        )
    into v_routed
    from routed as r;
    v_routed := coalesce(v_routed, 0);
    return v_routed;
end
$$;

COMMENT ON FUNCTION public.crm_sla_route_waiting(p_limit integer, p_at timestamp with time zone) IS 'Internal: routes leads waiting for an owner, oldest first; their claim timers start now';

CREATE FUNCTION public.crm_sla_routing_pool(p_at timestamp with time zone) RETURNS TABLE(agent_id uuid, role text, full_name text, weight double precision, max_open_leads integer, open_leads bigint, credit double precision, last_routed_seq bigint, reason text)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
    -- PL/pgSQL rather than SQL, so its plan is kept (a SQL function with a SET clause is parsed
    -- and planned again on every call: every routing statement calls this one).
    return query
    select
        a.id,
        a.role,
        a.full_name,
        case when a.role = 'agent' then coalesce(r.weight, 1)::double precision else 1 end,
        r.max_open_leads,
        o.n,
        coalesce(s.routing_credit, 0),
        s.last_routed_seq,
        case
            when not a.is_active then 'inactive'
            when a.role <> 'agent' then null  -- admins take escalations whatever their routing
            when not a.accepting_leads then 'not accepting leads'
            when r.calendar_id is not null
                and not public.crm_sla_calendar_is_open(r.calendar_id, p_at) then 'off shift'
            when b.absent_until is not null then 'absent until ' || b.absent_until::text
            when o.n >= r.max_open_leads
                then pg_catalog.format('at capacity %s/%s', o.n, r.max_open_leads)
        end
    from public.crm_agents as a
    left join public.crm_sla_agent_routing as r on a.id = r.agent_id
    left join public.crm_sla_agent_state as s on a.id = s.agent_id
    left join public.crm_sla_absences_at(p_at) as b on a.id = b.agent_id
    left join lateral (
        -- Open leads count only against a cap (and read crm_leads_open_by_agent_idx).
        select count(*) as n
        from public.crm_leads as l
        where
            r.max_open_leads is not null
            and l.assigned_agent_id = a.id
            and l.first_action_completed = false
            and l.sla_escalated_at is null
    ) as o on true
    where a.role in ('agent', 'admin');
end
$$;

COMMENT ON FUNCTION public.crm_sla_routing_pool(p_at timestamp with time zone) IS 'Internal: agents and admins with weight, cap, open leads, credit, and why they cannot take leads';

CREATE FUNCTION public.crm_sla_snooze(p_lead_id uuid, p_until timestamp with time zone, p_note text DEFAULT NULL::text) RETURNS public.crm_leads
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
    v_caller constant text := public.crm_sla_caller();
    v_uid constant uuid := auth.uid();
    v_now constant timestamptz := public.sla_now();
    v_longest constant interval := interval '30 days';
    v_lead public.crm_leads;
    v_owner_may boolean;
begin
    if v_caller = 'anon' then
        raise exception 'a snooze needs a signed-in agent'
            using errcode = 'SL006',
                hint = 'Call it with an admin''s or the owning agent''s JWT, or as the service role.';
    end if;
    if p_lead_id is null then
        raise exception 'p_lead_id must not be null'
            using errcode = 'SL010', hint = 'Pass the id of the lead to snooze.';
    end if;
    if p_until <= v_now or p_until > v_now + v_longest then
        raise exception 'a snooze ends after now and at most % ahead, not at %', v_longest, p_until
            using errcode = 'SL010',
                detail = pg_catalog.format('The SLA clock reads %s.', v_now),
                hint = 'Pass an instant within the next 30 days, or NULL to resume at once.';
    end if;
    if pg_catalog.length(p_note) > 2000 then
        raise exception 'the note is % characters long; at most 2000 are kept',
            pg_catalog.length(p_note)
            using errcode = 'SL010', hint = 'Shorten the note.';
    end if;

    select l.* into v_lead from public.crm_leads as l where l.id = p_lead_id for update;
    if not found or (
        v_caller = 'user' and v_lead.assigned_agent_id is distinct from v_uid
        and not public.is_admin(v_uid)
    ) then
        if v_caller = 'user' then
            raise exception 'lead % is not yours', p_lead_id
                using errcode = 'SL002', hint = 'Only its owner or an admin may snooze a lead.';
        end if;
        raise exception 'lead % does not exist', p_lead_id
            using errcode = 'SL001', hint = 'Check the lead id; it may have been deleted.';
    end if;
    if v_caller = 'user' and not public.is_admin(v_uid) then
        select p.owner_may_snooze into v_owner_may
        from public.crm_sla_policies as p where p.id = v_lead.sla_policy_id;
        if not coalesce(v_owner_may, false) then
            raise exception 'the policy of lead % does not let its owner snooze it', p_lead_id
                using errcode = 'SL006',
                    hint = 'Ask an admin, or set owner_may_snooze on the lead''s SLA policy.';
        end if;
    end if;
    if p_until is not null and (
        v_lead.assigned_agent_id is null or v_lead.sla_escalated_at is not null
        or v_lead.first_action_completed or v_lead.sla_waiting_since is not null
    ) then
        raise exception 'lead % has no running timer to snooze', p_lead_id
            using errcode = 'SL010',
                detail = 'Its first action is recorded, it is escalated, it has no owner yet, or '
                || 'its window has already run out.',
                hint = 'Snooze a lead whose claim or contact window is running.';
    end if;

    -- The note reaches the paused event through the pause trigger, for this statement only.
    perform pg_catalog.set_config('crm_sla.snooze_note', coalesce(p_note, ''), true);
    update public.crm_leads as l set sla_snoozed_until = p_until
    where l.id = p_lead_id
    returning l.* into v_lead;
    perform pg_catalog.set_config('crm_sla.snooze_note', '', true);
    return v_lead;
end
$$;

COMMENT ON FUNCTION public.crm_sla_snooze(p_lead_id uuid, p_until timestamp with time zone, p_note text) IS 'Pauses a lead''s running timer until p_until (at most 30 days ahead; NULL resumes it): admins, the service role, and owners where the policy has owner_may_snooze';

CREATE FUNCTION public.crm_sla_stats_by_hour(p_from timestamp with time zone DEFAULT NULL::timestamp with time zone, p_to timestamp with time zone DEFAULT NULL::timestamp with time zone, p_time_zone text DEFAULT 'UTC'::text) RETURNS TABLE(weekday smallint, hour smallint, claim_windows bigint, claimed_in_window bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
    v_from timestamptz;
    v_to timestamptz;
    v_everyone boolean;  -- false: an agent, who sees its own numbers only
    v_me constant uuid := auth.uid();
begin
    select s.period_from, s.period_to, s.everyone into v_from, v_to, v_everyone
    from public.crm_sla_stats_scope(p_from, p_to) as s;
    if p_time_zone is null
        or not exists (select from pg_catalog.pg_timezone_names as z where z.name = p_time_zone)
        then
        raise exception 'unknown time zone %', coalesce(p_time_zone, 'NULL')
            using errcode = 'SL010',
                hint = 'Use a name from pg_timezone_names, such as Europe/Berlin.';
    end if;
    return query
    with ended as (
        select e.at as at, not e.late as in_window
        from public.crm_lead_sla_events as e
        where e.event = 'claimed' and e.at >= v_from and e.at < v_to
            and (v_everyone or e.agent_id = v_me)
        union all
        select r.created_at, false
        from public.crm_lead_reassignments as r
        where r.reason = 'unclaimed' and r.created_at >= v_from and r.created_at < v_to
            and (v_everyone or r.from_agent_id = v_me)
    )

    select
        extract(dow from e.at at time zone p_time_zone)::smallint,
        extract(hour from e.at at time zone p_time_zone)::smallint,
        count(*),
        count(*) filter (where e.in_window)
    from ended as e
    group by 1, 2
    order by 1, 2;
end
$$;

COMMENT ON FUNCTION public.crm_sla_stats_by_hour(p_from timestamp with time zone, p_to timestamp with time zone, p_time_zone text) IS 'Claim windows ended and claimed in time, per weekday (0 = Sunday) and local hour';

CREATE FUNCTION public.crm_sla_stats_scope(p_from timestamp with time zone, p_to timestamp with time zone, OUT period_from timestamp with time zone, OUT period_to timestamp with time zone, OUT everyone boolean) RETURNS record
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
    v_caller constant text := public.crm_sla_caller();
begin
    if v_caller = 'anon' then
        raise exception 'SLA statistics are for signed-in agents and admins'
            using errcode = 'SL006', hint = 'Sign in, or use the service role.';
    end if;
    period_to := coalesce(p_to, public.sla_now());
    period_from := coalesce(p_from, period_to - interval '1 day');
    if period_from >= period_to then
        raise exception 'the period is empty: % is not before %', period_from, period_to
            using errcode = 'SL010', hint = 'Pass p_from < p_to.';
    end if;
    everyone := v_caller <> 'user' or public.is_admin(auth.uid());
end
$$;

COMMENT ON FUNCTION public.crm_sla_stats_scope(p_from timestamp with time zone, p_to timestamp with time zone, OUT period_from timestamp with time zone, OUT period_to timestamp with time zone, OUT everyone boolean) IS 'Internal: the period of the statistics functions and whether the caller sees every agent';

CREATE FUNCTION public.crm_sla_stats_timeline(p_from timestamp with time zone DEFAULT NULL::timestamp with time zone, p_to timestamp with time zone DEFAULT NULL::timestamp with time zone, p_buckets integer DEFAULT 24) RETURNS TABLE(bucket_start timestamp with time zone, breaches bigint, reassignments bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
    v_from timestamptz;
    v_to timestamptz;
    v_everyone boolean;  -- false: an agent, who sees its own numbers only
    v_me constant uuid := auth.uid();
    v_step interval;
begin
    select s.period_from, s.period_to, s.everyone into v_from, v_to, v_everyone
    from public.crm_sla_stats_scope(p_from, p_to) as s;
    if p_buckets is null or p_buckets not between 1 and 1000 then
        raise exception 'p_buckets must be between 1 and 1000, not %',
            coalesce(p_buckets::text, 'NULL')
            using errcode = 'SL010', hint = 'For example 24 buckets for a day, 7 for a week.';
    end if;
    v_step := (v_to - v_from) / p_buckets;
    return query
    with marks as (
        select r.created_at as at, r.reason in ('unclaimed', 'no_contact') as breach, true as moved
        from public.crm_lead_reassignments as r
        where r.created_at >= v_from and r.created_at < v_to
            and (v_everyone or v_me in (r.from_agent_id, r.to_agent_id))
        union all
        -- on_breach 'flag': a breach that moved nothing
        select (o.payload ->> 'at')::timestamptz, true, false
        from public.crm_sla_outbox as o
        where o.event = 'breached'
            and (o.payload ->> 'at')::timestamptz >= v_from
            and (o.payload ->> 'at')::timestamptz < v_to
            and (v_everyone or o.agent_id = v_me)
    )

    select
        v_from + v_step * b.n,
        count(m.at) filter (where m.breach),
        count(m.at) filter (where m.moved)
    from pg_catalog.generate_series(0, p_buckets - 1) as b (n)
    left join marks as m
        on m.at >= v_from + v_step * b.n
        and m.at < v_from + v_step * (b.n + 1)
    group by b.n
    order by b.n;
end
$$;

COMMENT ON FUNCTION public.crm_sla_stats_timeline(p_from timestamp with time zone, p_to timestamp with time zone, p_buckets integer) IS 'Breaches and reassignments per bucket of a period; an agent sees those it lost or received';

CREATE FUNCTION public.crm_sla_step_instant(p_policy_id uuid, p_stage text, p_calendar_id uuid, p_start timestamp with time zone, p_window interval, p_done numeric) RETURNS timestamp with time zone
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
    v_at numeric;
begin
    select min(s.at) into v_at
    from public.crm_sla_policy_steps as s
    where s.policy_id is not distinct from p_policy_id and s.stage = p_stage
        and s.at > coalesce(p_done, 0);
    if v_at is null or p_window is null or p_start is null then
        return null;
    end if;
    return public.crm_sla_deadline(p_calendar_id, p_start, p_window * v_at::double precision);
end
$$;

COMMENT ON FUNCTION public.crm_sla_step_instant(p_policy_id uuid, p_stage text, p_calendar_id uuid, p_start timestamp with time zone, p_window interval, p_done numeric) IS 'Internal: when a timer takes its next ladder step (its share of the window in open time), or NULL';

CREATE FUNCTION public.crm_sla_step_stats(p_from timestamp with time zone DEFAULT NULL::timestamp with time zone, p_to timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS TABLE(policy_name text, stage text, step text, notify text, sent bigint, to_nobody bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
    v_from timestamptz;
    v_to timestamptz;
    v_everyone boolean;  -- false: an agent, who sees its own numbers only
    v_me constant uuid := auth.uid();
begin
    select s.period_from, s.period_to, s.everyone into v_from, v_to, v_everyone
    from public.crm_sla_stats_scope(p_from, p_to) as s;
    return query
    select
        p.name,
        o.payload ->> 'stage',
        o.payload ->> 'step',
        o.payload ->> 'notify',
        count(*),
        count(*) filter (where o.agent_id is null)
    from public.crm_sla_outbox as o
    left join public.crm_leads as l on o.lead_id = l.id
    left join public.crm_sla_policies as p on l.sla_policy_id = p.id
    where o.event = 'step'
        and (o.payload ->> 'at')::timestamptz >= v_from
        and (o.payload ->> 'at')::timestamptz < v_to
        and (
            v_everyone or o.agent_id = v_me
            or (o.payload ->> 'owner_id')::uuid is not distinct from v_me
        )
    group by 1, 2, 3, 4
    order by 1 nulls first, 2, 3, 4;
end
$$;

COMMENT ON FUNCTION public.crm_sla_step_stats(p_from timestamp with time zone, p_to timestamp with time zone) IS 'Ladder steps sent over a period of the SLA clock, by policy, stage and step name; an agent counts those about its own leads or sent to it';

CREATE FUNCTION public.crm_sla_system_actor() RETURNS uuid
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    select '00000000-0000-0000-0000-000000000000'::uuid
$$;

COMMENT ON FUNCTION public.crm_sla_system_actor() IS 'The agent id that system reassignments (the monitor, the service role) are recorded under';

CREATE FUNCTION public.crm_sla_team_stats(p_from timestamp with time zone DEFAULT NULL::timestamp with time zone, p_to timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS TABLE(team_id uuid, team_name text, agents bigint, leads_received numeric, claimed_in_window numeric, contacted_in_window numeric, breach_rate numeric, median_seconds_to_claim numeric, median_seconds_to_contact numeric)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
    v_from timestamptz;
    v_to timestamptz;
    v_everyone boolean;
begin
    select s.period_from, s.period_to, s.everyone into v_from, v_to, v_everyone
    from public.crm_sla_stats_scope(p_from, p_to) as s;
    if not v_everyone then
        return;  -- an agent: no team rows
    end if;
    return query
    with per_agent as (
        select s.* from public.crm_agent_sla_stats(v_from, v_to) as s
    )

    select
        t.id,
        t.name,
        count(a.agent_id),
        coalesce(sum(a.leads_received), 0),
        coalesce(sum(a.claimed_in_window), 0),
        coalesce(sum(a.contacted_in_window), 0),
        round(
            sum(a.claimed_late + a.contacted_late + a.missed_claim + a.missed_contact)::numeric
            / nullif(sum(a.leads_received), 0), 3
        ),
        (
            select round(percentile_cont(0.5) within group (
                order by extract(epoch from e.elapsed))::numeric)
            from public.crm_lead_sla_events as e
            inner join public.crm_sla_team_members as m2 on e.agent_id = m2.agent_id
            where m2.team_id = t.id and e.event = 'claimed' and e.at >= v_from and e.at < v_to
        ),
        (
            select round(percentile_cont(0.5) within group (
                order by extract(epoch from e.elapsed))::numeric)
            from public.crm_lead_sla_events as e
            inner join public.crm_sla_team_members as m2 on e.agent_id = m2.agent_id
            where m2.team_id = t.id and e.event = 'contacted' and e.at >= v_from and e.at < v_to
        )
    from public.crm_sla_teams as t
    left join public.crm_sla_team_members as m on t.id = m.team_id
    left join per_agent as a on m.agent_id = a.agent_id
    group by t.id, t.name
    order by t.name, t.id;
end
$$;

COMMENT ON FUNCTION public.crm_sla_team_stats(p_from timestamp with time zone, p_to timestamp with time zone) IS 'Per-team SLA statistics over a period of the SLA clock (default: the last 24 hours); admins';

CREATE FUNCTION public.crm_sla_timer_left(p_calendar_id uuid, p_now timestamp with time zone, p_expires_at timestamp with time zone, OUT seconds_left numeric, OUT resumes_at timestamp with time zone) RETURNS record
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
    -- Within the view's numeric(12, 3) and any calendar arithmetic.
    v_farthest constant interval := interval '30 years';
    v_expires_at constant timestamptz
        := least(greatest(p_expires_at, p_now - v_farthest), p_now + v_farthest);
begin
    if p_expires_at is null then
        return;
    end if;
    if p_calendar_id is not null and v_expires_at = p_expires_at
        and exists (select from public.crm_sla_calendars as c where c.id = p_calendar_id) then
        -- The first open instant from p_now on: p_now itself while the calendar is open.
        resumes_at := public.sla_business_add(p_calendar_id, p_now, interval '1 microsecond')
            - interval '1 microsecond';
        if resumes_at <= p_now + interval '1 year' then
            seconds_left := extract(
                epoch from public.sla_business_elapsed(p_calendar_id, p_now, v_expires_at)
            );
            if resumes_at <= p_now then
                resumes_at := null;
            end if;
            return;
        end if;
        resumes_at := null;  -- no open time within a year: the timer runs on plain time
    end if;
    seconds_left := extract(epoch from v_expires_at - p_now);
end
$$;

COMMENT ON FUNCTION public.crm_sla_timer_left(p_calendar_id uuid, p_now timestamp with time zone, p_expires_at timestamp with time zone, OUT seconds_left numeric, OUT resumes_at timestamp with time zone) IS 'Internal: open time left on a timer and when a paused timer resumes (crm_lead_sla_timers)';

CREATE FUNCTION public.crm_sla_timer_plan(p_policy_id uuid, p_stage text, p_start timestamp with time zone, OUT expires_at timestamp with time zone, OUT timer_window interval, OUT calendar_id uuid) RETURNS record
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
    select
        case when p_stage = 'claim' then p.claim_window else p.contact_window end,
        p.calendar_id
    into timer_window, calendar_id
    from public.crm_sla_policies as p
    where p.id = p_policy_id;
    if not found then
        select
            case when p_stage = 'claim' then s.claim_window else s.contact_window end,
            s.calendar_id
        into timer_window, calendar_id
        from public.crm_sla_settings as s;
    end if;
    timer_window := coalesce(timer_window, interval '5 minutes');
    expires_at := public.crm_sla_deadline(calendar_id, p_start, timer_window);
end
$$;

COMMENT ON FUNCTION public.crm_sla_timer_plan(p_policy_id uuid, p_stage text, p_start timestamp with time zone, OUT expires_at timestamp with time zone, OUT timer_window interval, OUT calendar_id uuid) IS 'Internal: window, calendar and deadline of a claim or contact timer under a policy (or the settings)';

CREATE FUNCTION public.crm_sla_warn_instant(p_policy_id uuid, p_calendar_id uuid, p_start timestamp with time zone, p_window interval) RETURNS timestamp with time zone
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
    v_fraction numeric;
begin
    select p.warn_at into v_fraction from public.crm_sla_policies as p where p.id = p_policy_id;
    if not found then
        select s.warn_at into v_fraction from public.crm_sla_settings as s;
        if not found then
            v_fraction := 0.8;
        end if;
    end if;
    if v_fraction is null or p_window is null or p_start is null then
        return null;
    end if;
    return public.crm_sla_deadline(p_calendar_id, p_start, p_window * v_fraction::double precision);
end
$$;

COMMENT ON FUNCTION public.crm_sla_warn_instant(p_policy_id uuid, p_calendar_id uuid, p_start timestamp with time zone, p_window interval) IS 'Internal: when a timer warns (warn_at of its window in its calendar''s open time), or NULL';

CREATE FUNCTION public.crm_sla_webhook_url_problem(p_url text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $_$
declare
    -- scheme://[userinfo@]host[:port][/path][?query][#fragment], ASCII, no spaces or controls
    v_parts text[] := pg_catalog.regexp_match(
        p_url,
        '^(https?)://(?:[A-Za-z0-9._~%!$&''()*+,;=:-]+@)?'
        || '([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?'
        || '|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?([/?#][\x21-\x7e]*)?$',
        'i'
    );
begin
    if p_url is null then
        return 'no URL';
    elsif octet_length(p_url) > 2048 then
        return 'longer than 2048 bytes';
    elsif v_parts is null then
        return 'not an http:// or https:// URL with a host name or IP address, an optional port '
            || 'and a path of printable ASCII';
    elsif v_parts[3]::integer not between 1 and 65535 then
        return 'port ' || v_parts[3] || ' is not between 1 and 65535';
    elsif v_parts[2] like '[%' then
        begin
            perform pg_catalog.btrim(v_parts[2], '[]')::inet;
        exception when invalid_text_representation then
            return v_parts[2] || ' is not an IPv6 address';
        end;
    end if;
    return null;
end
$_$;

COMMENT ON FUNCTION public.crm_sla_webhook_url_problem(p_url text) IS 'What is wrong with a webhook URL for crm-sla deliver (NULL: nothing); the one URL check';

CREATE FUNCTION public.crm_sla_webhooks_validate() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
declare
    v_known constant text[] := array[
        'assigned', 'reassigned', 'escalated', 'warning', 'no_eligible_agent', 'claimed',
        'contacted',
        'agent_paused',
        'step',
        'breached',
        'paused',
        'resumed'
    ];
    v_secret_hint constant text
        := 'Leave it NULL to have one generated, or pass whsec_<base64 of 24 to 64 random bytes> '
        || '(several, space-separated, while rotating).';
    v_problem text := public.crm_sla_webhook_url_problem(new.url);
    v_unknown text;
    v_each text;
    v_key bytea;
begin
    if v_problem is not null then
        raise exception 'webhook URL % is refused: %', coalesce(new.url, 'NULL'), v_problem
            using errcode = 'SL010',
                hint = 'Give the full URL the events are POSTed to, e.g. '
                || 'https://example.com/hooks/sla or https://hooks.example.com:8443/sla.';
    end if;
    if new.events is not null then
        select string_agg(e, ', ') into v_unknown
        from unnest(new.events) as e
        where e is null or not e = any(v_known);
        if v_unknown is not null or cardinality(new.events) = 0 then
            raise exception 'unknown event name(s): %', coalesce(v_unknown, '(an empty list)')
                using errcode = 'SL010',
                    hint = 'Events are ' || array_to_string(v_known, ', ')
                    || '; NULL subscribes to every event.';
        end if;
    end if;
    if new.secret is null then
        -- 32 bytes from the server's strong random source (two version 4 UUIDs, 244 random bits).
        new.secret := 'whsec_' || encode(decode(
            replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'
        ), 'base64');
    end if;
    if new.secret !~ '^whsec_[A-Za-z0-9+/]+={0,2}( whsec_[A-Za-z0-9+/]+={0,2})*$' then
        raise exception 'the webhook secret is not whsec_ followed by base64'
            using errcode = 'SL010',
                hint = v_secret_hint;
    end if;
    foreach v_each in array pg_catalog.string_to_array(new.secret, ' ') loop
        begin
            v_key := pg_catalog.decode(pg_catalog.substr(v_each, 7), 'base64');
        exception when invalid_parameter_value then
            v_key := null;
        end;
        if v_key is null or pg_catalog.octet_length(v_key) not between 24 and 64
            or pg_catalog.ltrim(pg_catalog.encode(v_key, 'hex'), '0') = '' then
            raise exception 'the webhook secret must be the base64 of 24 to 64 bytes, not all zero'
                using errcode = 'SL010',
                    detail = 'A key shorter than 24 bytes, longer than 64 or all zero is refused.',
                    hint = v_secret_hint;
        end if;
    end loop;
    return new;
end
$_$;

COMMENT ON FUNCTION public.crm_sla_webhooks_validate() IS 'Trigger: refuses a webhook with a bad URL, event name or secret (SL010); generates a secret';

CREATE FUNCTION public.crm_sla_workflow_stats(p_from timestamp with time zone DEFAULT NULL::timestamp with time zone, p_to timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS TABLE(agent_id uuid, full_name text, declined bigint, handed_over bigint, breaches_reassigned bigint, breaches_to_manager bigint, breaches_flagged bigint, pauses bigint, snoozes bigint, paused_seconds numeric)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
    v_from timestamptz;
    v_to timestamptz;
    v_everyone boolean;  -- false: an agent, who sees its own numbers only
    v_now constant timestamptz := public.sla_now();
begin
    select s.period_from, s.period_to, s.everyone into v_from, v_to, v_everyone
    from public.crm_sla_stats_scope(p_from, p_to) as s;
    return query
    with moves as (
        select
            r.from_agent_id,
            r.reason,
            coalesce(p.on_breach, 'reassign') as on_breach
        from public.crm_lead_reassignments as r
        inner join public.crm_leads as l on r.lead_id = l.id
        left join public.crm_sla_policies as p on l.sla_policy_id = p.id
        where r.created_at >= v_from and r.created_at < v_to
            and r.reason in ('declined', 'unavailable', 'unclaimed', 'no_contact')
    ),

    flagged as (
        select o.agent_id, count(*) as n
        from public.crm_sla_outbox as o
        where o.event = 'breached'
            and (o.payload ->> 'at')::timestamptz >= v_from
            and (o.payload ->> 'at')::timestamptz < v_to
        group by o.agent_id
    ),

    -- Each pause with the instant it ended: the lead's next event that resumes its timer or ends
    -- the timer run (a run that starts paused has its claimed or reassigned event, without a
    -- deadline, after its paused event: that one does not end it).
    ends as (
        select
            o.agent_id,
            o.event,
            o.payload ->> 'reason' as reason,
            (o.payload ->> 'until')::timestamptz as until,
            (o.payload ->> 'at')::timestamptz as at,
            lead((o.payload ->> 'at')::timestamptz) over (
                partition by o.lead_id order by o.id
            ) as ended_at
        from public.crm_sla_outbox as o
        where o.lead_id is not null
            and (o.payload ->> 'at')::timestamptz >= v_from
            and (
                o.event in ('paused', 'resumed', 'contacted', 'escalated')
                or (
                    o.event in ('assigned', 'reassigned', 'claimed')
                    and o.payload ->> 'expires_at' is not null
                )
            )
    ),

    paused as (
        select
            e.agent_id,
            count(*) filter (where e.reason is distinct from 'snoozed') as n,
            count(*) filter (where e.reason = 'snoozed') as snoozed,
            -- a snooze resumes at its end, whenever the monitor writes the event
            sum(extract(epoch from least(coalesce(e.ended_at, v_now), e.until, v_to) - e.at))
                as seconds
        from ends as e
        where e.event = 'paused' and e.at < v_to
        group by e.agent_id
    )

    select
        a.id,
        a.full_name,
        count(m.reason) filter (where m.reason = 'declined'),
        count(m.reason) filter (where m.reason = 'unavailable'),
        count(m.reason) filter (
            where m.reason in ('unclaimed', 'no_contact') and m.on_breach <> 'manager'
        ),
        count(m.reason) filter (
            where m.reason in ('unclaimed', 'no_contact') and m.on_breach = 'manager'
        ),
        coalesce(max(f.n), 0),
        coalesce(max(z.n), 0),
        coalesce(max(z.snoozed), 0),
        round(coalesce(max(z.seconds), 0))
    from public.crm_agents as a
    left join moves as m on a.id = m.from_agent_id
    left join flagged as f on a.id = f.agent_id
    left join paused as z on a.id = z.agent_id
    where a.role <> 'system'
        and (v_everyone or a.id = auth.uid())
    group by a.id, a.full_name
    order by a.full_name, a.id;
end
$$;

COMMENT ON FUNCTION public.crm_sla_workflow_stats(p_from timestamp with time zone, p_to timestamp with time zone) IS 'Per-agent declines, absence hand-overs, breaches by how they were handled (reassign, manager, flag), and pauses, snoozes and paused time over a period of the SLA clock; an agent sees only its own row';

CREATE FUNCTION public.decline_lead(p_lead_id uuid, p_reason text DEFAULT NULL::text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
    v_caller constant text := public.crm_sla_caller();
    v_uid constant uuid := auth.uid();
    v_now constant timestamptz := public.sla_now();
    v_lead public.crm_leads;
    v_route record;
begin
    if v_caller = 'anon' then
        raise exception 'sign in to decline a lead'
            using errcode = 'SL006', hint = 'Call decline_lead with the owning agent''s JWT.';
    end if;
    if p_lead_id is null then
        raise exception 'decline_lead needs a lead id'
            using errcode = 'SL010', hint = 'Call decline_lead(lead_id, reason).';
    end if;
    if length(p_reason) > 2000 then
        raise exception 'the reason is % characters long; at most 2000 are kept', length(p_reason)
            using errcode = 'SL010', hint = 'Shorten the reason.';
    end if;

    -- One order for every router: the routing row first, then the lead's row.
    perform from public.crm_sla_routing_lock for update;
    select l.* into v_lead from public.crm_leads as l where l.id = p_lead_id for update;
    if v_caller = 'user' and v_lead.assigned_agent_id is distinct from v_uid then
        -- Whether or not it exists: an agent learns no more than its row-level security shows.
        raise exception 'lead % is not yours', p_lead_id
            using errcode = 'SL002',
                hint = 'Only the lead''s owner can decline it; admins move leads with '
                || 'reassign_lead().';
    end if;
    if v_lead.id is null then
        raise exception 'lead % does not exist', p_lead_id
            using errcode = 'SL001', hint = 'Check the lead id; it may have been deleted.';
    end if;
    if v_lead.assigned_agent_id is null then
        raise exception 'lead % has no owner to decline it', p_lead_id
            using errcode = 'SL002', hint = 'It waits in the overflow queue for an agent.';
    end if;
    if v_lead.lead_claimed then
        raise exception 'lead % is already claimed', p_lead_id
            using errcode = 'SL003',
                hint = 'A claimed lead is yours to contact; ask an admin to reassign it.';
    end if;

    select r.agent_id, r.escalate into v_route
    from public.crm_sla_route_leads(array[p_lead_id], v_now, false, null) as r;
    if v_route.agent_id is null then
        raise exception 'nobody else can take lead % now', p_lead_id
            using errcode = 'SL007',
                detail = 'Every other agent is inactive, not accepting leads, absent, off shift, '
                || 'at capacity or outside the lead''s team.',
                hint = 'Keep it and claim it, or ask an admin (crm_sla_explain_routing shows why).';
    end if;

    if v_route.escalate then
        v_route.agent_id := public.crm_sla_escalation_target(
            v_lead.assigned_agent_id, v_route.agent_id
        );
    end if;
    perform public.crm_sla_apply_reassignments(
        array[p_lead_id], array[v_route.agent_id], array['declined'], array[v_route.escalate],
        v_lead.assigned_agent_id, p_reason, v_now
    );
end
$$;

COMMENT ON FUNCTION public.decline_lead(p_lead_id uuid, p_reason text) IS 'The owner hands back an unclaimed lead: routed at once to another eligible agent (declined)';

CREATE FUNCTION public.is_admin(uid uuid) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
            select exists (
                select from public.crm_agents
                where id = uid and role = 'admin' and is_active
            )
        $$;

COMMENT ON FUNCTION public.is_admin(uid uuid) IS 'True when uid is an active admin (crm-sla baseline)';

CREATE FUNCTION public.process_sla_timers() RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
    v_now constant timestamptz := public.sla_now();
    v_batch integer;
    v_fresh integer;
    v_waited bigint;
    v_last_waited timestamptz;
    v_last_due timestamptz;
    v_last_id uuid;
    v_last_waited_id uuid;
    v_skipped bigint;
    v_ids uuid[];
    v_stages text[];
    v_to uuid[];
    v_escalate boolean[];
    v_stuck_ids uuid[] := '{}'::uuid[];
    v_stuck_stages text[] := '{}'::text[];
    v_routed integer := 0;
    v_unclaimed integer := 0;
    v_no_contact integer := 0;
    v_escalated integer := 0;
    v_remaining bigint := 0;
    v_warned integer := 0;
    v_steps integer := 0;
    v_flagged_ids uuid[] := '{}'::uuid[];
    v_flagged uuid[];  -- stuck leads announced (no_eligible_agent) by this pass
    v_flagged_owners uuid[];
    v_flagged_stages text[];
    v_flagged_expiries timestamptz[];
begin
    select s.monitor_batch_size into v_batch from public.crm_sla_settings as s;
    v_batch := coalesce(v_batch, 1000);

    -- Absences that started: their agents' unclaimed leads move (reason unavailable).
    perform public.crm_sla_hand_over_absent(v_batch, v_now);

    -- Idle fast path: nothing unowned and nothing due means no locks at all. Each due test asks
    -- for the earliest instant due, which the planner reads off the first entries of its partial
    -- index whatever the statistics say (an EXISTS may pick a sequential scan when the table is
    -- full of old, closed timers): the cost follows the due work, not the table size. What is
    -- due to breach is crm_sla_breach_at (on crm_leads_sla_breach_idx); warnings, ladder steps
    -- and snoozes each have their instant column.
    if not exists (select from public.crm_leads as l where l.assigned_agent_id is null)
        and (
            select min(public.crm_sla_breach_at(l)) from public.crm_leads as l
            where public.crm_sla_breach_at(l) <= v_now
        ) is null
        and (
            select min(l.sla_warn_at) from public.crm_leads as l
            where l.sla_warn_at <= v_now and l.sla_warn_at is not null and l.sla_warned_at is null
        ) is null
        and (
            select min(l.sla_step_at) from public.crm_leads as l
            where l.sla_step_at <= v_now and l.sla_step_at is not null
        ) is null
        and (
            select min(l.sla_snoozed_until) from public.crm_leads as l
            where l.sla_snoozed_until <= v_now and l.sla_snoozed_until is not null
        ) is null then
        return jsonb_build_object(
            'routed', 0, 'unclaimed', 0, 'no_contact', 0, 'escalated', 0,
            'no_eligible_agent', 0, 'warned', 0, 'remaining', 0, 'skipped_locked', 0,
            'steps', 0, 'flagged', 0, 'at', v_now
        );
    end if;

    -- One order for every router: the routing row first (to the end of the transaction), then
    -- lead rows (always SKIP LOCKED here). Only the engine's definer functions may lock that row.
    perform from public.crm_sla_routing_lock for update;

    -- 1. The overflow queue (leads nobody could take when they arrived), oldest first: a first
    --    assignment, no audit row; the claim timer starts now.
    v_routed := public.crm_sla_route_waiting(v_batch, v_now);

    -- 1a. Snoozes that ended: their timers resume (stop the clock), before anything falls due.
    perform public.crm_sla_resume_snoozed(v_now, v_batch);

    -- 1b. Up to one batch of warnings due (after the routing lock, like every router).
    v_warned := public.crm_sla_emit_warnings(v_now, v_batch);
    v_steps := public.crm_sla_emit_steps(v_now, v_batch);  -- the ladder's steps due

    -- 2. Lock the leads this pass works on, skipping rows another session holds: those are
    --    counted (skipped_locked), never done, and never fill the batch. First up to one batch
    --    of leads already waiting with their owner for an eligible agent (so that leads nobody
    --    can take never hold up the others), oldest first; then up to one batch of newly due
    --    leads, earliest breach first whatever the stage (crm_leads_sla_breach_idx in order),
    --    each candidate locked as it comes, until the batch is full. Each lock re-checks
    --    crm_sla_breach_at on the locked row itself, so a lead claimed (or reassigned) since the
    --    candidates were read is left alone.
    select
        coalesce(array_agg(w.id order by w.waited, w.id), '{}'),
        coalesce(array_agg(w.stage order by w.waited, w.id), '{}'),
        max(w.waited),
        (array_agg(w.id order by w.waited desc, w.id desc))[1],
        count(*)
    into v_ids, v_stages, v_last_waited, v_last_waited_id, v_waited
    from (
        select
            l.id,
            l.sla_waiting_since as waited,
            case when l.lead_claimed then 'contact_window' else 'claim_window' end as stage
        from public.crm_leads as l
        where l.sla_waiting_since is not null and public.crm_sla_breach_at(l) <= v_now
        order by l.sla_waiting_since, l.id
        limit v_batch
        for update of l skip locked
    ) as w;

    select
        v_ids || coalesce(array_agg(f.id order by f.due_at, f.id), '{}'),
        v_stages || coalesce(array_agg(f.stage order by f.due_at, f.id), '{}'),
        max(f.due_at),
        (array_agg(f.id order by f.due_at desc, f.id desc))[1],
        count(*)
    into v_ids, v_stages, v_last_due, v_last_id, v_fresh
    from (
        select
            c.id,
            case when c.lead_claimed then 'contact_window' else 'claim_window' end as stage,
            public.crm_sla_breach_at(c) as due_at
        from public.crm_leads as c
        cross join lateral (
            select from public.crm_leads as l
            where l.id = c.id and l.sla_waiting_since is null
                and public.crm_sla_breach_at(l) <= v_now
            for update of l skip locked
        ) as locked
        where public.crm_sla_breach_at(c) <= v_now and c.sla_waiting_since is null
        order by public.crm_sla_breach_at(c), c.id
        limit v_batch
    ) as f;

    -- Due leads this pass passed over because another session holds them: every due lead it
    -- did not lock up to the last one it reached (all of them where it did not fill a batch).
    v_skipped := (
        select count(*) from public.crm_leads as c
        where c.sla_waiting_since is not null and public.crm_sla_breach_at(c) <= v_now
            and (
                v_waited < v_batch
                or (c.sla_waiting_since, c.id) <= (v_last_waited, v_last_waited_id)
            )
            and not c.id = any(v_ids)
    ) + (
        select count(*) from public.crm_leads as c
        where public.crm_sla_breach_at(c) <= v_now and c.sla_waiting_since is null
            and (
                v_fresh < v_batch
                or (public.crm_sla_breach_at(c), c.id) <= (v_last_due, v_last_id)
            )
            and not c.id = any(v_ids)
    );

    if cardinality(v_ids) = 0 then
        return jsonb_build_object(
            'routed', v_routed, 'unclaimed', 0, 'no_contact', 0, 'escalated', 0,
            'no_eligible_agent', 0, 'warned', v_warned,
            'remaining', (v_warned >= v_batch or v_steps >= v_batch)::integer,
            'skipped_locked', v_skipped, 'steps', v_steps, 'flagged', 0, 'at', v_now
        );
    end if;

    -- 2b. Leads whose policy flags breaches stay with their owner (crm_sla_flag_breaches).
    v_flagged_ids := public.crm_sla_flag_breaches(v_ids, v_stages, v_now);
    if cardinality(v_flagged_ids) > 0 then
        select
            coalesce(array_agg(t.id order by t.ord), '{}'),
            coalesce(array_agg(t.stage order by t.ord), '{}')
        into v_ids, v_stages
        from unnest(v_ids, v_stages) with ordinality as t (id, stage, ord)
        where not t.id = any(v_flagged_ids);
    end if;

    -- 3. Each lead's next owner, oldest due first: the router skips the owner, prefers agents
    --    who never held the lead, keeps to the policy's team, shifts and caps, and names an admin
    --    once the lead was moved max_reassignments times (escalate). NULL: nobody is eligible.
    select
        array_agg(r.agent_id order by t.ord) filter (where r.agent_id is not null),
        array_agg(r.escalate order by t.ord) filter (where r.agent_id is not null),
        coalesce(array_agg(t.id order by t.ord) filter (where r.agent_id is null), '{}'),
        coalesce(array_agg(t.stage order by t.ord) filter (where r.agent_id is null), '{}'),
        count(*) filter (where r.escalate and r.agent_id is not null),
        count(*) filter (
            where not r.escalate and r.agent_id is not null and t.stage = 'claim_window'
        ),
        count(*) filter (
            where not r.escalate and r.agent_id is not null and t.stage = 'contact_window'
        )
    into v_to, v_escalate, v_stuck_ids, v_stuck_stages, v_escalated, v_unclaimed, v_no_contact
    from unnest(v_ids, v_stages) with ordinality as t (id, stage, ord)
    inner join public.crm_sla_route_ladder(v_ids, v_now) as r on t.id = r.lead_id;

    -- 4. Write the reassignments (lead rows, audit rows, events) in one statement.
    if cardinality(v_to) > 0 then
        perform public.crm_sla_apply_reassignments(
            array(select x from unnest(v_ids) as x where not x = any(v_stuck_ids)),
            v_to,
            array(
                select t.stage from unnest(v_ids, v_stages) as t (id, stage)
                where not t.id = any(v_stuck_ids)
            ),
            v_escalate,
            public.crm_sla_system_actor(),
            null,
            v_now
        );
        perform public.crm_sla_auto_pause(v_ids, v_now);  -- owners who missed claim windows
    end if;

    -- 5. Nobody eligible: the lead stays with its owner, flagged and marked waiting, and the
    --    next passes retry it (before newly due leads). Only the first detection announces it.
    if cardinality(v_stuck_ids) > 0 then
        with flagged as (
            update public.crm_leads as l
            set
                claim_sla_breached = coalesce(l.claim_sla_breached, false) or t.stage = 'claim_window',
                contact_sla_breached
                = coalesce(l.contact_sla_breached, false) or t.stage = 'contact_window',
                sla_breached = true,
                sla_waiting_since = v_now,
                sla_warn_at = null,  -- its breach came first: no warning for this run
                sla_step_at = null
            from unnest(v_stuck_ids, v_stuck_stages) as t (id, stage)
            where l.id = t.id and l.sla_waiting_since is null
            returning
                l.id, l.assigned_agent_id, t.stage, public.crm_sla_breach_at(l) as expires_at
        )

        select
            array_agg(f.id), array_agg(f.assigned_agent_id), array_agg(f.stage),
            array_agg(f.expires_at)
        into v_flagged, v_flagged_owners, v_flagged_stages, v_flagged_expiries
        from flagged as f;
        perform public.crm_sla_emit(
            array_fill('no_eligible_agent'::text, array[coalesce(cardinality(v_flagged), 0)]),
            v_flagged, v_flagged_owners, v_flagged_stages, v_flagged_expiries,
            array_fill(v_now, array[coalesce(cardinality(v_flagged), 0)])
        );
    end if;

    if v_fresh >= v_batch then
        select count(*) into v_remaining from public.crm_leads as c
        where public.crm_sla_breach_at(c) <= v_now and c.sla_waiting_since is null;
        -- Leads held elsewhere are not work another pass can do now (it would skip them too).
        v_remaining := greatest(v_remaining - v_skipped, 0);
    end if;

    return jsonb_build_object(
        'routed', v_routed,
        'unclaimed', v_unclaimed,
        'no_contact', v_no_contact,
        'escalated', v_escalated,
        'no_eligible_agent', cardinality(v_stuck_ids),
        'warned', v_warned,
        'remaining', v_remaining + (v_warned >= v_batch or v_steps >= v_batch)::integer,
        'skipped_locked', v_skipped,
        'steps', v_steps,
        'flagged', cardinality(v_flagged_ids),
        'at', v_now
    );
end
$$;

COMMENT ON FUNCTION public.process_sla_timers() IS 'One SLA monitor pass: reassigns (or escalates) up to one batch of leads whose window expired';

CREATE FUNCTION public.reassign_lead(p_lead_id uuid, p_to_agent_id uuid, p_notes text DEFAULT NULL::text) RETURNS public.crm_leads
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
    v_caller constant text := public.crm_sla_caller();
    v_uid constant uuid := auth.uid();
    v_lead public.crm_leads;
    v_agent public.crm_agents;
    v_reason text;
begin
    if v_caller = 'anon' or (v_caller = 'user' and not public.is_admin(v_uid)) then
        raise exception 'only admins and the service role can reassign leads'
            using errcode = 'SL006',
                hint = 'Ask an admin; agents lose leads only by missing an SLA window.';
    end if;
    if p_lead_id is null or p_to_agent_id is null then
        raise exception 'reassign_lead needs a lead id and an agent id, got (%, %)',
            coalesce(p_lead_id::text, 'NULL'), coalesce(p_to_agent_id::text, 'NULL')
            using errcode = 'SL010', hint = 'Call reassign_lead(lead_id, to_agent_id, notes).';
    end if;
    if length(p_notes) > 2000 then
        raise exception 'notes are % characters long; at most 2000 are kept', length(p_notes)
            using errcode = 'SL010', hint = 'Shorten the notes.';
    end if;

    select l.* into v_lead from public.crm_leads as l where l.id = p_lead_id for update;
    if not found then
        raise exception 'lead % does not exist', p_lead_id
            using errcode = 'SL001', hint = 'Check the lead id; it may have been deleted.';
    end if;
    -- The router's own verdict on the target (crm_sla_route_leads, as crm_sla_explain_routing shows
    -- it): a manual move may override the routing preferences (accepting leads, team, shift,
    -- cap: the admin's call), never an inactive target or the current owner.
    select r.reason into v_reason
    from public.crm_sla_route_leads(array[p_lead_id], public.sla_now(), true, null) as r
    where r.agent_id = p_to_agent_id;
    if not found then
        select a.* into v_agent from public.crm_agents as a where a.id = p_to_agent_id;
        if not found then
            raise exception 'agent % does not exist', p_to_agent_id
                using errcode = 'SL007', hint = 'Pass the id of an active agent from crm_agents.';
        end if;
        raise exception 'the system actor cannot own leads'
            using errcode = 'SL007', hint = 'Pass the id of an active agent or admin.';
    end if;
    if v_reason = 'current owner' then
        raise exception 'lead % already belongs to agent %', p_lead_id, p_to_agent_id
            using errcode = 'SL008', hint = 'Pick a different agent.';
    end if;
    if v_reason = 'inactive' then
        select a.* into v_agent from public.crm_agents as a where a.id = p_to_agent_id;
        raise exception 'agent % (%) is inactive', p_to_agent_id, v_agent.full_name
            using errcode = 'SL007', hint = 'Reactivate the agent first, or pick an active one.';
    end if;

    perform public.crm_sla_apply_reassignments(
        array[p_lead_id], array[p_to_agent_id], array['manual'], array[false],
        case
            when v_caller = 'user' then v_uid
            else public.crm_sla_system_actor()
        end,
        p_notes,
        public.sla_now()
    );
    select l.* into v_lead from public.crm_leads as l where l.id = p_lead_id;
    return v_lead;
end
$$;

COMMENT ON FUNCTION public.reassign_lead(p_lead_id uuid, p_to_agent_id uuid, p_notes text) IS 'Manual reassignment by an admin or the service role: new owner, fresh claim window, audit row';

CREATE PROCEDURE public.run_sla_monitor(IN p_duration interval DEFAULT '00:00:59'::interval, IN p_interval interval DEFAULT '00:00:02'::interval)
    LANGUAGE plpgsql
    AS $$
declare
    v_lock constant bigint := public.crm_sla_lock_key('monitor');
    v_locked boolean;
    v_holder integer;
    v_deadline timestamptz;
    v_result jsonb;
    v_wake timestamptz;
begin
    if p_duration is null or p_interval is null or p_interval <= interval '0' then
        raise exception 'run_sla_monitor needs a duration and a positive interval'
            using errcode = 'SL010',
                hint = 'For example: call public.run_sla_monitor(''59 seconds'', ''2 seconds'').';
    end if;
    v_locked := pg_catalog.pg_try_advisory_lock(v_lock);
    if not v_locked then
        -- Any session may take an advisory lock: only a trusted one (a superuser, or a login that
        -- has the engine tables' owner's rights, as the pg_cron job has) is another loop to
        -- step aside for. Anyone else holding the key does not stop the monitor.
        select l.pid into v_holder
        from pg_catalog.pg_locks as l
        inner join pg_catalog.pg_database as d on l.database = d.oid
        where l.locktype = 'advisory' and l.granted and l.objsubid = 1
            and d.datname = pg_catalog.current_database()
            and l.classid::bigint = (v_lock >> 32) & 4294967295
            and l.objid::bigint = v_lock & 4294967295;
        if exists (
            select from pg_catalog.pg_stat_activity as a
            inner join pg_catalog.pg_roles as r on a.usesysid = r.oid
            where a.pid = v_holder
                and (r.rolsuper or pg_catalog.pg_has_role(
                    a.usesysid,
                    (select c.relowner from pg_catalog.pg_class as c
                        where c.oid = 'public.crm_sla_settings'::pg_catalog.regclass),
                    'usage'
                ))
        ) then
            raise notice 'another run_sla_monitor is already running in this database; exiting';
            return;
        end if;
        raise warning 'backend %, not a trusted session, holds the monitor''s lock: running anyway',
            coalesce(v_holder::text, '(gone)');
    end if;
    v_deadline := pg_catalog.clock_timestamp() + p_duration;
    loop
        -- Paused by a trusted session (the demo), for as long as that session lives: the loop
        -- ends now, and pg_cron starts a new one next minute.
        exit when exists (
            select from public.crm_sla_monitor_pause as p
            inner join pg_catalog.pg_stat_activity as a on p.paused_by_pid = a.pid
            where a.backend_start is null or a.backend_start = p.paused_by_backend_start
        );
        v_result := public.process_sla_timers();
        commit;
        -- A full batch that moved leads or warned: more is waiting, so go again at once (even
        -- past the deadline: the backlog is drained before the call returns).
        continue when (v_result ->> 'remaining')::bigint > 0
            and (v_result ->> 'unclaimed')::bigint + (v_result ->> 'no_contact')::bigint
            + (v_result ->> 'escalated')::bigint + (v_result ->> 'warned')::bigint > 0;
        exit when pg_catalog.clock_timestamp() >= v_deadline;
        -- Wake when the next timer falls due: its SLA-clock instant less the clock's offset
        -- (sla_clock_travel) is the wall-clock moment; a millisecond late, so it is due then.
        v_wake := public.crm_sla_next_due((v_result ->> 'at')::timestamptz)
            - (public.sla_now() - pg_catalog.now()) + interval '1 millisecond';
        perform pg_catalog.pg_sleep(greatest(extract(epoch from least(
            v_wake, pg_catalog.clock_timestamp() + p_interval, v_deadline
        ) - pg_catalog.clock_timestamp()), 0));
        commit;  -- end the sleeping transaction
    end loop;
    if v_locked then
        perform pg_catalog.pg_advisory_unlock(v_lock);
    end if;
end
$$;

COMMENT ON PROCEDURE public.run_sla_monitor(IN p_duration interval, IN p_interval interval) IS 'Runs the SLA monitor pass after pass for a while (the pg_cron job calls it every minute)';

CREATE FUNCTION public.sla_business_add(p_calendar_id uuid, p_from timestamp with time zone, p_duration interval) RETURNS timestamp with time zone
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
    v_left bigint;
    v_cal record;
    v_cur timestamptz := p_from;
    v_day date;
    v_end timestamptz;
    v_step integer := 4;  -- days looked at in one go; doubles while nothing is found
    v_got bigint;
    v_at timestamptz;
    v_upto bigint;
begin
    if p_from is null or p_duration is null then
        raise exception 'sla_business_add needs an instant and a duration, got (%, %)',
            coalesce(p_from::text, 'NULL'), coalesce(p_duration::text, 'NULL')
            using errcode = 'SL010',
                hint = 'Call sla_business_add(calendar_id or NULL, from, duration).';
    end if;
    if not pg_catalog.isfinite(p_from) or p_duration < interval '0' then
        raise exception 'sla_business_add needs a finite instant and a duration >= 0, got (%, %)',
            p_from, p_duration
            using errcode = 'SL010',
                hint = 'Open time only moves forward: pass a duration of zero or more.';
    end if;
    if p_calendar_id is null then
        return p_from + p_duration;
    end if;
    v_cal := public.crm_sla_calendar_pattern(p_calendar_id);
    v_left := (extract(epoch from p_duration) * 1000000)::bigint;
    if v_left = 0 then
        return p_from;
    end if;
    if v_cal.week_open = 0 then
        return 'infinity'::timestamptz;  -- no open hours at all: the time never passes
    end if;

    loop
        if v_cur > p_from + interval '400 years' then
            return 'infinity'::timestamptz;  -- holidays as far as anyone plans
        end if;
        v_day := (v_cur at time zone v_cal.time_zone)::date;
        v_end := (v_day + v_step + 1)::timestamp at time zone v_cal.time_zone;
        if v_step <= 16 then
            -- The stretches of these days after v_cur, in order, with running totals.
            select
                y.lo + (v_left - (y.upto - y.len)) * interval '1 microsecond',
                y.upto,
                y.total
            into v_at, v_upto, v_got
            from (
                select
                    x.lo,
                    x.len,
                    sum(x.len) over (order by x.lo rows unbounded preceding) as upto,
                    sum(x.len) over () as total
                from (
                    select
                        greatest(t.ps, v_cur) as lo,
                        (extract(epoch from t.pe - greatest(t.ps, v_cur)) * 1000000)::bigint
                        as len
                    from (
                        select
                            ((d.d + pc.s * interval '1 microsecond') at time zone v_cal.time_zone)
                            as ps,
                            ((d.d + pc.e * interval '1 microsecond') at time zone v_cal.time_zone)
                            as pe
                        from pg_catalog.generate_series(
                            (v_day - 1)::timestamp, (v_day + v_step)::timestamp, interval '1 day'
                        ) as d (d)
                        inner join unnest(v_cal.dows, v_cal.starts, v_cal.ends) as pc (dow, s, e)
                            on extract(dow from d.d)::integer = pc.dow
                        where not exists (
                            select from public.crm_sla_holidays as h
                            where h.calendar_id = p_calendar_id and h.day = d.d::date
                        )
                    ) as t
                    where t.pe > greatest(t.ps, v_cur)
                ) as x
            ) as y
            order by (y.upto >= v_left) desc, y.lo
            limit 1;
            if v_upto >= v_left then
                return v_at;
            end if;
            v_left := v_left - coalesce(v_got, 0);
            v_cur := greatest(v_end, v_cur);
            v_step := v_step * 2;
        else
            v_got := public.crm_sla_calendar_open(
                p_calendar_id, v_cal.time_zone, v_cal.dows, v_cal.starts, v_cal.ends,
                v_cal.day_open, v_cal.week_open, v_cur, v_end
            );
            if v_got < v_left then
                v_left := v_left - v_got;
                v_cur := v_end;
                v_step := least(v_step * 2, 8192);
            else
                v_step := v_step / 2;
            end if;
        end if;
    end loop;
    return null;  -- not reached: the loop returns
end
$$;

COMMENT ON FUNCTION public.sla_business_add(p_calendar_id uuid, p_from timestamp with time zone, p_duration interval) IS 'The earliest instant by which p_duration of the calendar''s open time has passed since p_from (NULL calendar: around the clock)';

CREATE FUNCTION public.sla_business_elapsed(p_calendar_id uuid, p_from timestamp with time zone, p_to timestamp with time zone) RETURNS interval
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
    v_cal record;
    v_us bigint;
begin
    if p_from is null or p_to is null then
        raise exception 'sla_business_elapsed needs two instants, got (%, %)',
            coalesce(p_from::text, 'NULL'), coalesce(p_to::text, 'NULL')
            using errcode = 'SL010',
                hint = 'Call sla_business_elapsed(calendar_id or NULL, from, to).';
    end if;
    if not (pg_catalog.isfinite(p_from) and pg_catalog.isfinite(p_to)) then
        raise exception 'sla_business_elapsed needs finite instants, got (%, %)', p_from, p_to
            using errcode = 'SL010', hint = 'Pass instants other than infinity.';
    end if;
    if p_calendar_id is null then
        return p_to - p_from;
    end if;
    v_cal := public.crm_sla_calendar_pattern(p_calendar_id);
    v_us := public.crm_sla_calendar_open(
        p_calendar_id, v_cal.time_zone, v_cal.dows, v_cal.starts, v_cal.ends, v_cal.day_open,
        v_cal.week_open, least(p_from, p_to), greatest(p_from, p_to)
    );
    return case when p_to < p_from then -v_us else v_us end * interval '1 microsecond';
end
$$;

COMMENT ON FUNCTION public.sla_business_elapsed(p_calendar_id uuid, p_from timestamp with time zone, p_to timestamp with time zone) IS 'The calendar''s open time between two instants, negative when p_to is before p_from (NULL calendar: around the clock)';

CREATE FUNCTION public.sla_clock_reset() RETURNS timestamp with time zone
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
    insert into public.crm_sla_clock as c (id, travelled) values (true, interval '0')
    on conflict (id) do update set travelled = interval '0';
    return now();
end
$$;

COMMENT ON FUNCTION public.sla_clock_reset() IS 'Puts the SLA clock back on the wall clock; owner and service role only';

CREATE FUNCTION public.sla_clock_travel(p_by interval) RETURNS timestamp with time zone
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
    v_travelled interval;
begin
    if p_by is null or p_by < interval '0' then
        raise exception 'sla_clock_travel needs a non-negative interval, got %',
            coalesce(p_by::text, 'NULL')
            using errcode = 'SL010',
                hint = 'The SLA clock only moves forward; sla_clock_reset() returns it to the wall clock.';
    end if;
    insert into public.crm_sla_clock as c (id, travelled) values (true, p_by)
    on conflict (id) do update set travelled = c.travelled + excluded.travelled
    returning c.travelled into v_travelled;
    return now() + v_travelled;
end
$$;

COMMENT ON FUNCTION public.sla_clock_travel(p_by interval) IS 'Moves the SLA clock forward (cumulative), returns the new sla_now(); owner and service role only';

CREATE FUNCTION public.sla_now() RETURNS timestamp with time zone
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    select now() + coalesce((select c.travelled from public.crm_sla_clock as c), interval '0')
$$;

COMMENT ON FUNCTION public.sla_now() IS 'The SLA clock: now() plus the offset moved by sla_clock_travel(); zero in production';

CREATE VIEW public.crm_agent_sla_stats WITH (security_invoker='true') AS
 SELECT s.agent_id,
    s.full_name,
    s.leads_received,
    s.received_by_reassignment,
    s.claimed_in_window,
    s.claimed_late,
    s.contacted_in_window,
    s.contacted_late,
    s.missed_claim,
    s.missed_contact,
    s.reassigned_away,
    s.breach_rate,
    s.median_seconds_to_claim,
    s.median_seconds_to_contact
   FROM public.crm_agent_sla_stats() s(agent_id, full_name, leads_received, received_by_reassignment, claimed_in_window, claimed_late, contacted_in_window, contacted_late, missed_claim, missed_contact, reassigned_away, breach_rate, median_seconds_to_claim, median_seconds_to_contact);

COMMENT ON VIEW public.crm_agent_sla_stats IS 'Per-agent SLA statistics over the last 24 hours (an agent sees only its own row)';

CREATE TABLE public.crm_agents (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    full_name text NOT NULL,
    email text,
    role text DEFAULT 'agent'::text NOT NULL,
    is_active boolean DEFAULT true NOT NULL,
    accepting_leads boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT crm_agents_role_check CHECK ((role = ANY (ARRAY['agent'::text, 'admin'::text, 'system'::text])))
);

COMMENT ON TABLE public.crm_agents IS 'Sales agents and admins; id is the user id auth.uid() returns (crm-sla baseline)';

COMMENT ON COLUMN public.crm_agents.role IS 'agent: receives leads; admin: sees and manages everything; system: the SLA engine itself';

COMMENT ON COLUMN public.crm_agents.accepting_leads IS 'false keeps an active agent out of routing (on leave, at capacity)';

CREATE TABLE public.crm_lead_reassignments (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    lead_id uuid NOT NULL,
    from_agent_id uuid,
    to_agent_id uuid NOT NULL,
    reassigned_by uuid NOT NULL,
    reason text NOT NULL,
    stage text NOT NULL,
    notes text,
    created_at timestamp with time zone DEFAULT now(),
    CONSTRAINT crm_lead_reassignments_reason_check CHECK ((reason = ANY (ARRAY['unclaimed'::text, 'no_contact'::text, 'manual'::text, 'declined'::text, 'unavailable'::text]))),
    CONSTRAINT crm_lead_reassignments_stage_check CHECK ((stage = ANY (ARRAY['claim_window'::text, 'contact_window'::text, 'manual'::text])))
);

COMMENT ON TABLE public.crm_lead_reassignments IS 'Append-only audit trail: one row per reassignment of a lead, written by the SLA engine';

CREATE TABLE public.crm_lead_sla_events (
    id bigint NOT NULL,
    lead_id uuid NOT NULL,
    agent_id uuid,
    event text NOT NULL,
    at timestamp with time zone NOT NULL,
    elapsed interval NOT NULL,
    late boolean NOT NULL,
    CONSTRAINT crm_lead_sla_events_event_check CHECK ((event = ANY (ARRAY['claimed'::text, 'contacted'::text])))
);

COMMENT ON TABLE public.crm_lead_sla_events IS 'Append-only log of claims and first actions (who, when, how long it took, late or not)';

COMMENT ON COLUMN public.crm_lead_sla_events.elapsed IS 'Time from the start of the window (claim or contact) to the event';

ALTER TABLE public.crm_lead_sla_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.crm_lead_sla_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.crm_sla_policies (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    priority integer DEFAULT 100 NOT NULL,
    match jsonb DEFAULT '{}'::jsonb NOT NULL,
    claim_window interval DEFAULT '00:05:00'::interval NOT NULL,
    contact_window interval DEFAULT '00:05:00'::interval NOT NULL,
    max_reassignments integer DEFAULT 3 NOT NULL,
    warn_at numeric DEFAULT 0.8,
    calendar_id uuid,
    team_id uuid,
    is_active boolean DEFAULT true NOT NULL,
    owner_key text,
    on_breach text DEFAULT 'reassign'::text NOT NULL,
    pause_when jsonb,
    owner_may_snooze boolean DEFAULT false NOT NULL,
    CONSTRAINT crm_sla_policies_on_breach_check CHECK ((on_breach = ANY (ARRAY['reassign'::text, 'manager'::text, 'flag'::text]))),
    CONSTRAINT crm_sla_policies_warn_at_check CHECK (((warn_at > (0)::numeric) AND (warn_at < (1)::numeric)))
);

COMMENT ON TABLE public.crm_sla_policies IS 'SLA policies: a new lead gets the first active one (by priority, name) that its row contains';

COMMENT ON COLUMN public.crm_sla_policies.match IS 'Contained in the lead''s row (to_jsonb(lead) @> match), e.g. {"lead_source": "web"}';

COMMENT ON COLUMN public.crm_sla_policies.warn_at IS 'Share of a window after which the owner is warned; NULL: no warning';

COMMENT ON COLUMN public.crm_sla_policies.calendar_id IS 'Windows count only this calendar''s open time; NULL: around the clock';

COMMENT ON COLUMN public.crm_sla_policies.team_id IS 'Leads of this policy are routed only to this team''s members; NULL: to anyone';

COMMENT ON COLUMN public.crm_sla_policies.owner_key IS 'The name of a crm_leads column (NULL: none): an unowned lead of this policy with a value there goes first to the current owner of the most recent other lead with the same value, when that agent is eligible';

COMMENT ON COLUMN public.crm_sla_policies.on_breach IS 'On a breach: reassign (to the next eligible agent), manager (to the first eligible agent in the owner''s manager chain, else as reassign) or flag (breach flags and a breached event, no move)';

COMMENT ON COLUMN public.crm_sla_policies.pause_when IS 'While a lead''s row contains this JSON object (to_jsonb(lead) @> pause_when) its running timer is paused; NULL: never (at most 8 kB)';

COMMENT ON COLUMN public.crm_sla_policies.owner_may_snooze IS 'True: the owner of a lead of this policy may snooze its timer (crm_sla_snooze); admins and the service role always may';

CREATE VIEW public.crm_lead_sla_timers WITH (security_invoker='true') AS
 WITH clock AS (
         SELECT public.sla_now() AS now
        ), cards AS (
         SELECT l.id,
            l.assigned_agent_id,
            l.claim_sla_breached,
            l.contact_sla_breached,
            l.sla_breached,
            l.reassignment_count,
            l.reassignment_reason,
            l.reassigned_at,
            l.previous_agent_id,
            l.sla_escalated_at,
            l.created_at,
            l.sla_policy_id,
            l.sla_timer_calendar_id,
            l.sla_warn_at,
            l.sla_warned_at,
            l.sla_paused_at,
            l.sla_paused_left,
            l.sla_snoozed_until,
            (to_jsonb(l.*) ->> 'full_name'::text) AS lead_name,
                CASE
                    WHEN l.first_action_completed THEN 'done'::text
                    WHEN (l.sla_escalated_at IS NOT NULL) THEN 'escalated'::text
                    WHEN l.lead_claimed THEN 'contact'::text
                    ELSE 'claim'::text
                END AS stage,
                CASE
                    WHEN (l.first_action_completed OR (l.sla_escalated_at IS NOT NULL)) THEN NULL::timestamp with time zone
                    WHEN l.lead_claimed THEN l.contact_timer_started_at
                    ELSE l.claim_timer_started_at
                END AS timer_started_at,
            public.crm_sla_breach_at(l.*) AS timer_expires_at
           FROM public.crm_leads l
        )
 SELECT k.id AS lead_id,
    k.lead_name,
    k.assigned_agent_id,
    a.full_name AS agent_name,
    k.stage,
    k.timer_started_at,
    k.timer_expires_at,
    k.sla_breached,
    k.reassignment_reason,
    k.reassigned_at,
    k.previous_agent_id,
    k.sla_escalated_at,
    k.created_at,
    c.now AS sla_now,
    (w.seconds_left)::numeric(12,3) AS seconds_left,
    p.name AS policy_name,
    t.resumes_at AS timer_resumes_at,
    COALESCE(k.claim_sla_breached, false) AS claim_sla_breached,
    COALESCE(k.contact_sla_breached, false) AS contact_sla_breached,
    COALESCE(k.reassignment_count, 0) AS reassignment_count,
    ((t.resumes_at IS NOT NULL) OR (k.sla_paused_at IS NOT NULL)) AS timer_paused,
        CASE
            WHEN (k.timer_expires_at IS NOT NULL) THEN k.sla_warn_at
            ELSE NULL::timestamp with time zone
        END AS timer_warn_at,
    COALESCE(((k.timer_expires_at IS NOT NULL) AND (k.sla_warned_at IS NOT NULL)), false) AS timer_warned,
        CASE
            WHEN ((k.sla_paused_at IS NOT NULL) AND (k.sla_snoozed_until > c.now)) THEN 'snoozed'::text
            WHEN (k.sla_paused_at IS NOT NULL) THEN 'status'::text
            WHEN (t.resumes_at IS NOT NULL) THEN 'closed'::text
            ELSE NULL::text
        END AS paused_reason,
        CASE
            WHEN ((k.sla_paused_at IS NOT NULL) AND (k.sla_snoozed_until > c.now)) THEN k.sla_snoozed_until
            WHEN (k.sla_paused_at IS NULL) THEN t.resumes_at
            ELSE NULL::timestamp with time zone
        END AS resumes_at
   FROM (((((cards k
     CROSS JOIN clock c)
     LEFT JOIN public.crm_agents a ON ((k.assigned_agent_id = a.id)))
     LEFT JOIN public.crm_sla_policies p ON ((k.sla_policy_id = p.id)))
     CROSS JOIN LATERAL public.crm_sla_timer_left(k.sla_timer_calendar_id, c.now, k.timer_expires_at) t(seconds_left, resumes_at))
     CROSS JOIN LATERAL ( VALUES (COALESCE(t.seconds_left, EXTRACT(epoch FROM k.sla_paused_left)))) w(seconds_left));

COMMENT ON VIEW public.crm_lead_sla_timers IS 'One row per lead for a lead card: stage (claim, contact, done, escalated), its SLA policy, the running timer, seconds left in its calendar''s open time on the SLA clock (negative when overdue; while paused, what was left), whether it is paused (paused_reason: closed calendar, status, snoozed) until resumes_at, and its warning (timer_warn_at, timer_warned). security_invoker: an agent sees only its own leads through it.';

COMMENT ON COLUMN public.crm_lead_sla_timers.seconds_left IS 'Open time left on the running timer, in seconds (its calendar''s open time; negative: overdue)';

COMMENT ON COLUMN public.crm_lead_sla_timers.timer_resumes_at IS 'When a paused timer counts again (the calendar''s next opening); NULL when it counts now';

COMMENT ON COLUMN public.crm_lead_sla_timers.timer_paused IS 'True while the running timer does not count: its calendar is closed, its policy''s pause_when matches the lead, or it is snoozed (paused_reason)';

COMMENT ON COLUMN public.crm_lead_sla_timers.timer_warn_at IS 'When the running timer warns (warn_at of its window used, in its calendar''s open time); NULL when it does not (its policy''s warn_at is NULL, or no timer runs)';

COMMENT ON COLUMN public.crm_lead_sla_timers.timer_warned IS 'True once the running timer''s warning event was written (the board turns the card amber)';

COMMENT ON COLUMN public.crm_lead_sla_timers.paused_reason IS 'Why the timer is paused: closed (its calendar''s closed time), status (the policy''s pause_when matches the lead), snoozed (crm_sla_snooze); NULL while it counts';

COMMENT ON COLUMN public.crm_lead_sla_timers.resumes_at IS 'When the paused timer counts again, where known: the snooze''s end, the calendar''s next opening; NULL for a status pause (until the lead changes) and while it counts';

CREATE TABLE public.crm_sla_agent_absences (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    agent_id uuid NOT NULL,
    starts_at timestamp with time zone NOT NULL,
    ends_at timestamp with time zone NOT NULL,
    reason text,
    CONSTRAINT crm_sla_agent_absences_check CHECK ((ends_at > starts_at))
);

COMMENT ON TABLE public.crm_sla_agent_absences IS 'Absences (out of office): routing skips the agent from starts_at until ends_at, and the monitor hands its unclaimed leads over (reason unavailable) when one starts';

COMMENT ON COLUMN public.crm_sla_agent_absences.agent_id IS 'The absent agent (an agent manages its own absences, admins every agent''s)';

COMMENT ON COLUMN public.crm_sla_agent_absences.starts_at IS 'When the absence starts (SLA clock, sla_now()): from then on the agent is not routed leads';

COMMENT ON COLUMN public.crm_sla_agent_absences.ends_at IS 'When the absence ends (exclusive): the agent takes its weighted share again, no catch-up burst';

COMMENT ON COLUMN public.crm_sla_agent_absences.reason IS 'Free text for people (vacation, sick day), at most 500 characters; the engine does not read it';

CREATE TABLE public.crm_sla_agent_misses (
    agent_id uuid NOT NULL,
    missed_claims integer DEFAULT 0 NOT NULL,
    CONSTRAINT crm_sla_agent_misses_missed_claims_check CHECK ((missed_claims >= 0))
);

COMMENT ON TABLE public.crm_sla_agent_misses IS 'Engine-owned: claim windows each agent missed in a row, for crm_sla_settings.auto_pause_after';

COMMENT ON COLUMN public.crm_sla_agent_misses.missed_claims IS 'Leads moved away from this agent unclaimed (window missed) since its last claim or pause';

CREATE TABLE public.crm_sla_agent_routing (
    agent_id uuid NOT NULL,
    weight numeric DEFAULT 1 NOT NULL,
    max_open_leads integer,
    calendar_id uuid,
    manager_id uuid,
    CONSTRAINT crm_sla_agent_routing_max_open_leads_check CHECK ((max_open_leads > 0)),
    CONSTRAINT crm_sla_agent_routing_weight_check CHECK ((weight > (0)::numeric))
);

COMMENT ON TABLE public.crm_sla_agent_routing IS 'Per-agent routing: weight, cap on open leads, shift calendar (no row: weight 1, no cap, no shift)';

COMMENT ON COLUMN public.crm_sla_agent_routing.weight IS 'Share of the leads relative to the other eligible agents (weighted fair order)';

COMMENT ON COLUMN public.crm_sla_agent_routing.max_open_leads IS 'Most open leads (owned, not contacted, not escalated) the agent holds; NULL: no cap';

COMMENT ON COLUMN public.crm_sla_agent_routing.calendar_id IS 'The agent''s shift: routed to only while this calendar is open; NULL: always';

COMMENT ON COLUMN public.crm_sla_agent_routing.manager_id IS 'The agent''s manager (first in its manager chain); NULL: its first team''s manager, if any';

CREATE TABLE public.crm_sla_agent_state (
    agent_id uuid NOT NULL,
    last_routed_seq bigint NOT NULL,
    leads_routed bigint DEFAULT 0 NOT NULL,
    routing_credit double precision DEFAULT 0 NOT NULL
);

COMMENT ON TABLE public.crm_sla_agent_state IS 'Routing state: when each agent was last routed a lead (round robin); engine-internal';

COMMENT ON COLUMN public.crm_sla_agent_state.routing_credit IS 'Smooth weighted round robin: credit earned (weight a round while a candidate) less leads taken';

CREATE TABLE public.crm_sla_calendar_hours (
    calendar_id uuid NOT NULL,
    weekday smallint NOT NULL,
    opens time without time zone NOT NULL,
    closes time without time zone NOT NULL,
    CONSTRAINT crm_sla_calendar_hours_weekday_check CHECK (((weekday >= 0) AND (weekday <= 6)))
);

COMMENT ON TABLE public.crm_sla_calendar_hours IS 'Open hours per weekday (0 = Sunday), local wall-clock; closes <= opens runs past midnight';

COMMENT ON COLUMN public.crm_sla_calendar_hours.closes IS 'When it closes (24:00 allowed); at or before opens, the interval ends on the next day';

CREATE TABLE public.crm_sla_calendars (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    time_zone text DEFAULT 'UTC'::text NOT NULL
);

COMMENT ON TABLE public.crm_sla_calendars IS 'Business-hours calendars: SLA windows and agent shifts count only their open time';

COMMENT ON COLUMN public.crm_sla_calendars.time_zone IS 'The zone its hours are wall-clock times in (a name from pg_timezone_names); DST is followed';

CREATE TABLE public.crm_sla_clock (
    id boolean DEFAULT true NOT NULL,
    travelled interval DEFAULT '00:00:00'::interval NOT NULL,
    CONSTRAINT crm_sla_clock_id_check CHECK (id),
    CONSTRAINT crm_sla_clock_travelled_check CHECK ((travelled >= '00:00:00'::interval))
);

COMMENT ON TABLE public.crm_sla_clock IS 'The SLA clock''s offset from the wall clock (one row); zero in production, moved by tests';

CREATE TABLE public.crm_sla_holidays (
    calendar_id uuid NOT NULL,
    day date NOT NULL,
    name text
);

COMMENT ON TABLE public.crm_sla_holidays IS 'Closed days: 00:00 to 24:00 local; an overnight interval is cut at that midnight';

CREATE TABLE public.crm_sla_monitor_pause (
    id boolean DEFAULT true NOT NULL,
    paused_by_pid integer,
    paused_by_backend_start timestamp with time zone,
    paused_at timestamp with time zone,
    paused_by text,
    CONSTRAINT crm_sla_monitor_pause_id_check CHECK (id)
);

COMMENT ON TABLE public.crm_sla_monitor_pause IS 'Pauses run_sla_monitor while the session named here lives (one row; owner and service role only)';

COMMENT ON COLUMN public.crm_sla_monitor_pause.paused_by_pid IS 'The backend that paused the monitor (NULL: not paused); the pause ends when that session ends';

COMMENT ON COLUMN public.crm_sla_monitor_pause.paused_by_backend_start IS 'When that backend started, so that a later backend reusing its pid is not mistaken for it';

COMMENT ON COLUMN public.crm_sla_monitor_pause.paused_by IS 'Who paused it and why, for crm-sla status (for example crm-sla simulate)';

CREATE TABLE public.crm_sla_outbox (
    id bigint NOT NULL,
    event text NOT NULL,
    lead_id uuid,
    agent_id uuid,
    payload jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

COMMENT ON TABLE public.crm_sla_outbox IS 'Every SLA event (assigned, reassigned, escalated, warning, no_eligible_agent, claimed, contacted), written by the engine in the transaction that caused it; an agent reads its own';

COMMENT ON COLUMN public.crm_sla_outbox.event IS 'assigned, reassigned, escalated, warning, no_eligible_agent, claimed or contacted';

COMMENT ON COLUMN public.crm_sla_outbox.agent_id IS 'The agent the event is for: the new owner, the warned owner, the owner left with the lead';

COMMENT ON COLUMN public.crm_sla_outbox.payload IS 'What webhooks receive: event, lead_id, agent_id, stage, expires_at, at (SLA clock), and from_agent_id and reason for reassigned and escalated';

ALTER TABLE public.crm_sla_outbox ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.crm_sla_outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.crm_sla_policy_steps (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    policy_id uuid,
    stage text NOT NULL,
    at numeric NOT NULL,
    notify text NOT NULL,
    name text NOT NULL,
    CONSTRAINT crm_sla_policy_steps_at_check CHECK (((at > (0)::numeric) AND (at < (1)::numeric))),
    CONSTRAINT crm_sla_policy_steps_notify_check CHECK ((notify = ANY (ARRAY['owner'::text, 'manager'::text]))),
    CONSTRAINT crm_sla_policy_steps_stage_check CHECK ((stage = ANY (ARRAY['claim_window'::text, 'contact_window'::text])))
);

COMMENT ON TABLE public.crm_sla_policy_steps IS 'The SLA ladder: at share `at` of a running timer''s window (open time) a `step` event for the owner or its manager, once per timer run';

COMMENT ON COLUMN public.crm_sla_policy_steps.policy_id IS 'The policy whose timers take this step; NULL: the steps of leads without a policy';

COMMENT ON COLUMN public.crm_sla_policy_steps.stage IS 'The timer it belongs to: claim_window or contact_window';

COMMENT ON COLUMN public.crm_sla_policy_steps.at IS 'Share of the window (0 < at < 1, open time) after which the step is taken';

COMMENT ON COLUMN public.crm_sla_policy_steps.notify IS 'Who the step event is for: owner, or manager (the first active agent in the owner''s chain)';

COMMENT ON COLUMN public.crm_sla_policy_steps.name IS 'The step''s name, payload.step of its events (unique per policy and stage)';

CREATE TABLE public.crm_sla_routing_lock (
    id boolean DEFAULT true NOT NULL,
    CONSTRAINT crm_sla_routing_lock_id_check CHECK (id)
);

COMMENT ON TABLE public.crm_sla_routing_lock IS 'One row that routing locks (FOR UPDATE) to run one at a time; no API role may lock it';

CREATE TABLE public.crm_sla_settings (
    id boolean DEFAULT true NOT NULL,
    claim_window interval DEFAULT '00:05:00'::interval NOT NULL,
    contact_window interval DEFAULT '00:05:00'::interval NOT NULL,
    max_reassignments integer DEFAULT 3 NOT NULL,
    monitor_batch_size integer DEFAULT 1000 NOT NULL,
    warn_at numeric DEFAULT 0.8,
    calendar_id uuid,
    outbox_keep_days integer DEFAULT 30 NOT NULL,
    webhook_retry_delays interval[] DEFAULT '{00:00:05,00:05:00,00:30:00,02:00:00,05:00:00,10:00:00,10:00:00}'::interval[] NOT NULL,
    webhook_allow_private boolean DEFAULT false NOT NULL,
    auto_pause_after integer,
    CONSTRAINT crm_sla_settings_auto_pause_after_check CHECK ((auto_pause_after > 0)),
    CONSTRAINT crm_sla_settings_claim_window_check CHECK ((claim_window > '00:00:00'::interval)),
    CONSTRAINT crm_sla_settings_contact_window_check CHECK ((contact_window > '00:00:00'::interval)),
    CONSTRAINT crm_sla_settings_id_check CHECK (id),
    CONSTRAINT crm_sla_settings_max_reassignments_check CHECK ((max_reassignments >= 0)),
    CONSTRAINT crm_sla_settings_monitor_batch_size_check CHECK (((monitor_batch_size >= 1) AND (monitor_batch_size <= 100000))),
    CONSTRAINT crm_sla_settings_outbox_keep_days_check CHECK ((outbox_keep_days > 0)),
    CONSTRAINT crm_sla_settings_warn_at_check CHECK (((warn_at > (0)::numeric) AND (warn_at < (1)::numeric))),
    CONSTRAINT crm_sla_settings_webhook_retry_delays_check CHECK (('00:00:00'::interval < ALL (webhook_retry_delays)))
);

COMMENT ON TABLE public.crm_sla_settings IS 'The SLA engine''s settings: one row. Changes apply to timers started afterwards.';

COMMENT ON COLUMN public.crm_sla_settings.claim_window IS 'How long a new owner has to claim a lead';

COMMENT ON COLUMN public.crm_sla_settings.contact_window IS 'How long the owner has, once the lead is claimed, to complete the first action';

COMMENT ON COLUMN public.crm_sla_settings.max_reassignments IS 'Automatic reassignments before the next breach escalates the lead to an admin';

COMMENT ON COLUMN public.crm_sla_settings.monitor_batch_size IS 'Most leads one monitor pass (one transaction) reassigns';

COMMENT ON COLUMN public.crm_sla_settings.warn_at IS 'Default warning point (share of a window) for leads that match no policy; NULL: none';

COMMENT ON COLUMN public.crm_sla_settings.calendar_id IS 'Default calendar for leads that match no policy; NULL: around the clock';

COMMENT ON COLUMN public.crm_sla_settings.outbox_keep_days IS 'The daily purge deletes outbox rows older than this whose deliveries are finished';

COMMENT ON COLUMN public.crm_sla_settings.webhook_retry_delays IS 'The wait before each retry of a failed delivery; after the last, the delivery is dead';

COMMENT ON COLUMN public.crm_sla_settings.webhook_allow_private IS 'When true, crm-sla deliver also POSTs to private, loopback, link-local and metadata addresses (checked after resolving the host); false refuses them';

COMMENT ON COLUMN public.crm_sla_settings.auto_pause_after IS 'After this many claim windows missed in a row (no claim in between) an agent stops accepting leads (accepting_leads = false) and an agent_paused event names it; NULL: never';

CREATE TABLE public.crm_sla_team_members (
    team_id uuid NOT NULL,
    agent_id uuid NOT NULL
);

COMMENT ON TABLE public.crm_sla_team_members IS 'Which agents belong to which team';

CREATE TABLE public.crm_sla_teams (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    manager_id uuid
);

COMMENT ON TABLE public.crm_sla_teams IS 'Teams: a policy that names one routes its leads only to the team''s members';

COMMENT ON COLUMN public.crm_sla_teams.manager_id IS 'The team''s manager: the manager of members without one of their own (first team by name)';

CREATE TABLE public.crm_sla_webhook_deliveries (
    webhook_id uuid NOT NULL,
    outbox_id bigint NOT NULL,
    status text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone,
    last_error text,
    delivered_at timestamp with time zone,
    CONSTRAINT crm_sla_webhook_deliveries_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'delivered'::text, 'dead'::text])))
);

COMMENT ON TABLE public.crm_sla_webhook_deliveries IS 'One row per event and webhook: pending until the endpoint answers 2xx (delivered) or the retries of crm_sla_settings.webhook_retry_delays run out (dead)';

COMMENT ON COLUMN public.crm_sla_webhook_deliveries.next_attempt_at IS 'When crm-sla deliver tries it next (wall clock)';

COMMENT ON COLUMN public.crm_sla_webhook_deliveries.last_error IS 'What the last failed attempt got: the HTTP status and the start of the body, or the error';

CREATE TABLE public.crm_sla_webhooks (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    url text NOT NULL,
    secret text NOT NULL,
    events text[],
    is_active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    deactivated_reason text,
    format text DEFAULT 'standard'::text NOT NULL,
    CONSTRAINT crm_sla_webhooks_format_check CHECK ((format = ANY (ARRAY['standard'::text, 'slack'::text])))
);

COMMENT ON TABLE public.crm_sla_webhooks IS 'HTTP endpoints that receive the events written after they were created, signed as Standard Webhooks says; admins and the service role only';

COMMENT ON COLUMN public.crm_sla_webhooks.url IS 'An http:// or https:// URL the events are POSTed to';

COMMENT ON COLUMN public.crm_sla_webhooks.secret IS 'The signing secret, whsec_<base64 of 24 to 64 bytes>; generated when inserted as NULL';

COMMENT ON COLUMN public.crm_sla_webhooks.events IS 'The events it receives; NULL: every event';

COMMENT ON COLUMN public.crm_sla_webhooks.deactivated_reason IS 'Why crm-sla deliver set is_active to false (an endpoint answered 410 Gone), and when; NULL otherwise';

COMMENT ON COLUMN public.crm_sla_webhooks.format IS 'Body sent: standard (the event''s JSON payload) or slack ({"text": one sentence})';

ALTER TABLE ONLY public.crm_agents
    ADD CONSTRAINT crm_agents_email_key UNIQUE (email);

ALTER TABLE ONLY public.crm_agents
    ADD CONSTRAINT crm_agents_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.crm_lead_reassignments
    ADD CONSTRAINT crm_lead_reassignments_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.crm_lead_sla_events
    ADD CONSTRAINT crm_lead_sla_events_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.crm_leads
    ADD CONSTRAINT crm_leads_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.crm_sla_agent_absences
    ADD CONSTRAINT crm_sla_agent_absences_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.crm_sla_agent_misses
    ADD CONSTRAINT crm_sla_agent_misses_pkey PRIMARY KEY (agent_id);

ALTER TABLE ONLY public.crm_sla_agent_routing
    ADD CONSTRAINT crm_sla_agent_routing_pkey PRIMARY KEY (agent_id);

ALTER TABLE ONLY public.crm_sla_agent_state
    ADD CONSTRAINT crm_sla_agent_state_pkey PRIMARY KEY (agent_id);

ALTER TABLE ONLY public.crm_sla_calendars
    ADD CONSTRAINT crm_sla_calendars_name_key UNIQUE (name);

ALTER TABLE ONLY public.crm_sla_calendars
    ADD CONSTRAINT crm_sla_calendars_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.crm_sla_clock
    ADD CONSTRAINT crm_sla_clock_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.crm_sla_holidays
    ADD CONSTRAINT crm_sla_holidays_pkey PRIMARY KEY (calendar_id, day);

ALTER TABLE ONLY public.crm_sla_monitor_pause
    ADD CONSTRAINT crm_sla_monitor_pause_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.crm_sla_outbox
    ADD CONSTRAINT crm_sla_outbox_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.crm_sla_policies
    ADD CONSTRAINT crm_sla_policies_name_key UNIQUE (name);

ALTER TABLE ONLY public.crm_sla_policies
    ADD CONSTRAINT crm_sla_policies_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.crm_sla_policy_steps
    ADD CONSTRAINT crm_sla_policy_steps_name_key UNIQUE NULLS NOT DISTINCT (policy_id, stage, name);

ALTER TABLE ONLY public.crm_sla_policy_steps
    ADD CONSTRAINT crm_sla_policy_steps_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.crm_sla_routing_lock
    ADD CONSTRAINT crm_sla_routing_lock_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.crm_sla_settings
    ADD CONSTRAINT crm_sla_settings_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.crm_sla_team_members
    ADD CONSTRAINT crm_sla_team_members_pkey PRIMARY KEY (team_id, agent_id);

ALTER TABLE ONLY public.crm_sla_teams
    ADD CONSTRAINT crm_sla_teams_name_key UNIQUE (name);

ALTER TABLE ONLY public.crm_sla_teams
    ADD CONSTRAINT crm_sla_teams_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.crm_sla_webhook_deliveries
    ADD CONSTRAINT crm_sla_webhook_deliveries_pkey PRIMARY KEY (webhook_id, outbox_id);

ALTER TABLE ONLY public.crm_sla_webhooks
    ADD CONSTRAINT crm_sla_webhooks_pkey PRIMARY KEY (id);

CREATE INDEX crm_leads_assigned_agent_id_idx ON public.crm_leads USING btree (assigned_agent_id);

CREATE INDEX crm_leads_open_by_agent_idx ON public.crm_leads USING btree (assigned_agent_id) WHERE ((first_action_completed = false) AND (sla_escalated_at IS NULL));

COMMENT ON INDEX public.crm_leads_open_by_agent_idx IS 'Open leads (not contacted, not escalated) by owner: counts them against max_open_leads';

CREATE INDEX crm_leads_sla_breach_idx ON public.crm_leads USING btree (public.crm_sla_breach_at_columns(lead_claimed, first_action_completed, sla_escalated_at, claim_timer_expires_at, contact_timer_expires_at), id) WHERE (public.crm_sla_breach_at_columns(lead_claimed, first_action_completed, sla_escalated_at, claim_timer_expires_at, contact_timer_expires_at) IS NOT NULL);

COMMENT ON INDEX public.crm_leads_sla_breach_idx IS 'What is due: leads whose SLA timer runs, by the instant it breaches (crm_sla_breach_at), then id';

CREATE INDEX crm_leads_snoozed_idx ON public.crm_leads USING btree (sla_snoozed_until) WHERE (sla_snoozed_until IS NOT NULL);

COMMENT ON INDEX public.crm_leads_snoozed_idx IS 'Snoozed leads by the end of their snooze: the monitor resumes them then';

CREATE INDEX crm_leads_unowned_idx ON public.crm_leads USING btree (created_at) WHERE (assigned_agent_id IS NULL);

CREATE INDEX crm_leads_waiting_idx ON public.crm_leads USING btree (sla_waiting_since) WHERE (sla_waiting_since IS NOT NULL);

COMMENT ON INDEX public.crm_leads_waiting_idx IS 'Overdue leads waiting with their owner for an eligible agent, oldest first';

CREATE INDEX crm_sla_agent_absences_agent_idx ON public.crm_sla_agent_absences USING btree (agent_id, starts_at);

CREATE INDEX crm_sla_agent_absences_ends_idx ON public.crm_sla_agent_absences USING btree (ends_at, agent_id);

CREATE INDEX crm_sla_policies_match_lookup ON public.crm_sla_policies USING btree (public.crm_sla_match_keys(match), match) WHERE is_active;

COMMENT ON INDEX public.crm_sla_policies_match_lookup IS 'Intake with many active policies: the policy whose match equals a lead''s values of its keys';

CREATE INDEX idx_crm_lead_sla_events_agent ON public.crm_lead_sla_events USING btree (agent_id, at);

CREATE INDEX idx_crm_lead_sla_events_lead ON public.crm_lead_sla_events USING btree (lead_id);

CREATE INDEX idx_crm_leads_sla_step_due ON public.crm_leads USING btree (sla_step_at) WHERE (sla_step_at IS NOT NULL);

CREATE INDEX idx_crm_leads_sla_warn_due ON public.crm_leads USING btree (sla_warn_at) WHERE ((sla_warn_at IS NOT NULL) AND (sla_warned_at IS NULL));

CREATE INDEX idx_crm_sla_calendar_hours_calendar ON public.crm_sla_calendar_hours USING btree (calendar_id, weekday);

CREATE INDEX idx_crm_sla_policy_steps_policy ON public.crm_sla_policy_steps USING btree (policy_id, stage, at);

CREATE INDEX idx_crm_sla_team_members_agent ON public.crm_sla_team_members USING btree (agent_id);

CREATE INDEX idx_crm_sla_webhook_deliveries_due ON public.crm_sla_webhook_deliveries USING btree (next_attempt_at) WHERE (status = 'pending'::text);

CREATE INDEX idx_crm_sla_webhook_deliveries_outbox ON public.crm_sla_webhook_deliveries USING btree (outbox_id);

CREATE INDEX idx_reassignments_from_agent ON public.crm_lead_reassignments USING btree (from_agent_id, created_at DESC);

CREATE INDEX idx_reassignments_lead ON public.crm_lead_reassignments USING btree (lead_id, created_at DESC);

CREATE INDEX idx_reassignments_to_agent ON public.crm_lead_reassignments USING btree (to_agent_id, created_at DESC);

CREATE TRIGGER crm_lead_reassignments_100_append_only BEFORE DELETE OR UPDATE ON public.crm_lead_reassignments FOR EACH ROW EXECUTE FUNCTION public.crm_lead_reassignments_append_only();

COMMENT ON TRIGGER crm_lead_reassignments_100_append_only ON public.crm_lead_reassignments IS 'Audit rows are append-only; they go only with their lead';

CREATE TRIGGER crm_leads_050_intake_clock BEFORE INSERT ON public.crm_leads FOR EACH STATEMENT EXECUTE FUNCTION public.crm_leads_intake_clock();

COMMENT ON TRIGGER crm_leads_050_intake_clock ON public.crm_leads IS 'Reads the SLA clock, the windows and the policies once for the statement''s new leads';

CREATE TRIGGER crm_leads_100_intake BEFORE INSERT ON public.crm_leads FOR EACH ROW EXECUTE FUNCTION public.crm_leads_intake();

COMMENT ON TRIGGER crm_leads_100_intake ON public.crm_leads IS 'Starts a new lead''s claim timer; engine-owned columns start fresh';

CREATE TRIGGER crm_leads_150_route_first BEFORE INSERT ON public.crm_leads FOR EACH ROW WHEN ((new.assigned_agent_id IS NULL)) EXECUTE FUNCTION public.crm_leads_route_first();

COMMENT ON TRIGGER crm_leads_150_route_first ON public.crm_leads IS 'Routes the first unowned lead of an INSERT as it is written; the others wait for the end of it';

CREATE TRIGGER crm_leads_200_progress BEFORE UPDATE ON public.crm_leads FOR EACH ROW EXECUTE FUNCTION public.crm_leads_progress();

COMMENT ON TRIGGER crm_leads_200_progress ON public.crm_leads IS 'Starts the contact timer on claim, sets late flags, guards the engine-owned columns';

CREATE TRIGGER crm_leads_250_pause BEFORE UPDATE ON public.crm_leads FOR EACH ROW WHEN (((new.sla_policy_id IS NOT NULL) OR (num_nonnulls(new.sla_paused_at, new.sla_paused_left, new.sla_paused_warn_left, new.sla_paused_step_left, new.sla_paused_total, new.sla_snoozed_until) > 0))) EXECUTE FUNCTION public.crm_leads_pause();

COMMENT ON TRIGGER crm_leads_250_pause ON public.crm_leads IS 'Pauses and resumes the running timer (pause_when, snoozes): paused and resumed events';

CREATE TRIGGER crm_leads_250_pause_sent BEFORE INSERT ON public.crm_leads FOR EACH ROW WHEN ((num_nonnulls(new.sla_paused_at, new.sla_paused_left, new.sla_paused_warn_left, new.sla_paused_step_left, new.sla_paused_total, new.sla_snoozed_until) > 0)) EXECUTE FUNCTION public.crm_leads_pause();

COMMENT ON TRIGGER crm_leads_250_pause_sent ON public.crm_leads IS 'Clears the pause columns an INSERT sent: they are the engine''s';

CREATE TRIGGER crm_leads_300_sla_events AFTER UPDATE OF lead_claimed, first_action_completed ON public.crm_leads FOR EACH ROW WHEN (((new.lead_claimed AND (NOT old.lead_claimed)) OR (new.first_action_completed AND (NOT old.first_action_completed)))) EXECUTE FUNCTION public.crm_leads_sla_events();

COMMENT ON TRIGGER crm_leads_300_sla_events ON public.crm_leads IS 'Logs claims and first actions for the per-agent SLA statistics';

CREATE TRIGGER crm_leads_400_announce_intake AFTER INSERT ON public.crm_leads REFERENCING NEW TABLE AS new_leads FOR EACH STATEMENT EXECUTE FUNCTION public.crm_leads_announce_intake();

COMMENT ON TRIGGER crm_leads_400_announce_intake ON public.crm_leads IS 'Writes an assigned event for each new lead with an owner, once per INSERT statement';

CREATE TRIGGER crm_leads_410_announce_progress AFTER UPDATE OF lead_claimed, first_action_completed ON public.crm_leads FOR EACH ROW WHEN (((new.lead_claimed AND (NOT old.lead_claimed)) OR (new.first_action_completed AND (NOT old.first_action_completed)))) EXECUTE FUNCTION public.crm_leads_announce_progress();

COMMENT ON TRIGGER crm_leads_410_announce_progress ON public.crm_leads IS 'Writes claimed and contacted events for claims and first actions';

CREATE TRIGGER crm_leads_420_claim_resets_misses AFTER UPDATE ON public.crm_leads FOR EACH ROW WHEN ((new.lead_claimed AND (NOT old.lead_claimed))) EXECUTE FUNCTION public.crm_leads_claim_resets_misses();

COMMENT ON TRIGGER crm_leads_420_claim_resets_misses ON public.crm_leads IS 'A claim resets the owner''s count of claim windows missed in a row (auto-pause)';

CREATE TRIGGER crm_leads_420_pause_intake AFTER INSERT ON public.crm_leads REFERENCING NEW TABLE AS new_leads FOR EACH STATEMENT EXECUTE FUNCTION public.crm_leads_pause_intake();

COMMENT ON TRIGGER crm_leads_420_pause_intake ON public.crm_leads IS 'Pauses the new leads whose rows match their policy''s pause_when, once per INSERT statement';

CREATE TRIGGER crm_leads_900_intake_done AFTER INSERT ON public.crm_leads FOR EACH STATEMENT EXECUTE FUNCTION public.crm_leads_intake_done();

COMMENT ON TRIGGER crm_leads_900_intake_done ON public.crm_leads IS 'Routes the statement''s unowned leads (weighted, capped, by team); clears its cached clock';

CREATE TRIGGER crm_sla_agent_absences_100_check BEFORE INSERT OR UPDATE ON public.crm_sla_agent_absences FOR EACH ROW EXECUTE FUNCTION public.crm_sla_agent_absences_check();

COMMENT ON TRIGGER crm_sla_agent_absences_100_check ON public.crm_sla_agent_absences IS 'Refuses an absence that does not end after it starts, or past 100 pending ones (SL010)';

CREATE TRIGGER crm_sla_agent_routing_100_check BEFORE INSERT OR UPDATE OF manager_id, agent_id ON public.crm_sla_agent_routing FOR EACH ROW EXECUTE FUNCTION public.crm_sla_agent_routing_check();

COMMENT ON TRIGGER crm_sla_agent_routing_100_check ON public.crm_sla_agent_routing IS 'Refuses an agent that is its own manager (SL010)';

CREATE TRIGGER crm_sla_calendar_hours_100_check BEFORE INSERT OR DELETE OR UPDATE ON public.crm_sla_calendar_hours FOR EACH ROW EXECUTE FUNCTION public.crm_sla_calendar_hours_check();

COMMENT ON TRIGGER crm_sla_calendar_hours_100_check ON public.crm_sla_calendar_hours IS 'Refuses bad open hours (SL010); notes the calendar for re-planning';

CREATE TRIGGER crm_sla_calendar_hours_900_replan AFTER INSERT OR DELETE OR UPDATE ON public.crm_sla_calendar_hours FOR EACH STATEMENT EXECUTE FUNCTION public.crm_sla_calendar_replan();

COMMENT ON TRIGGER crm_sla_calendar_hours_900_replan ON public.crm_sla_calendar_hours IS 'Re-plans the running timers of the calendars this statement changed, in its transaction';

CREATE TRIGGER crm_sla_calendars_100_check BEFORE INSERT OR UPDATE ON public.crm_sla_calendars FOR EACH ROW EXECUTE FUNCTION public.crm_sla_calendars_check();

COMMENT ON TRIGGER crm_sla_calendars_100_check ON public.crm_sla_calendars IS 'Refuses a calendar without a name or with an unknown zone (SL010); notes a changed zone';

CREATE TRIGGER crm_sla_calendars_900_replan AFTER UPDATE ON public.crm_sla_calendars FOR EACH STATEMENT EXECUTE FUNCTION public.crm_sla_calendar_replan();

COMMENT ON TRIGGER crm_sla_calendars_900_replan ON public.crm_sla_calendars IS 'Re-plans the running timers of the calendars this statement changed, in its transaction';

CREATE TRIGGER crm_sla_holidays_100_check BEFORE INSERT OR DELETE OR UPDATE ON public.crm_sla_holidays FOR EACH ROW EXECUTE FUNCTION public.crm_sla_holidays_check();

COMMENT ON TRIGGER crm_sla_holidays_100_check ON public.crm_sla_holidays IS 'Refuses a holiday without a day or a duplicate (SL010); notes the calendar for re-planning';

CREATE TRIGGER crm_sla_holidays_900_replan AFTER INSERT OR DELETE OR UPDATE ON public.crm_sla_holidays FOR EACH STATEMENT EXECUTE FUNCTION public.crm_sla_calendar_replan();

COMMENT ON TRIGGER crm_sla_holidays_900_replan ON public.crm_sla_holidays IS 'Re-plans the running timers of the calendars this statement changed, in its transaction';

CREATE TRIGGER crm_sla_policies_050_check BEFORE INSERT OR UPDATE ON public.crm_sla_policies FOR EACH ROW EXECUTE FUNCTION public.crm_sla_policies_check();

COMMENT ON TRIGGER crm_sla_policies_050_check ON public.crm_sla_policies IS 'Refuses a policy whose windows, max_reassignments, match, pause_when or owner_key are out of bounds (SL010)';

CREATE TRIGGER crm_sla_policies_100_in_use BEFORE DELETE ON public.crm_sla_policies FOR EACH ROW EXECUTE FUNCTION public.crm_sla_policies_in_use();

COMMENT ON TRIGGER crm_sla_policies_100_in_use ON public.crm_sla_policies IS 'Refuses to delete a policy that leads follow (SL010): deactivate it instead';

CREATE TRIGGER crm_sla_policies_900_pause AFTER UPDATE OF pause_when ON public.crm_sla_policies FOR EACH ROW WHEN ((new.pause_when IS DISTINCT FROM old.pause_when)) EXECUTE FUNCTION public.crm_sla_policies_pause();

COMMENT ON TRIGGER crm_sla_policies_900_pause ON public.crm_sla_policies IS 'Pauses or resumes the open leads of a policy whose pause_when changed';

CREATE TRIGGER crm_sla_policy_steps_100_check BEFORE INSERT OR UPDATE ON public.crm_sla_policy_steps FOR EACH ROW EXECUTE FUNCTION public.crm_sla_policy_steps_check();

COMMENT ON TRIGGER crm_sla_policy_steps_100_check ON public.crm_sla_policy_steps IS 'Refuses a ladder step with an unknown stage or notify, at outside (0, 1) or no name (SL010)';

CREATE TRIGGER crm_sla_webhooks_100_validate BEFORE INSERT OR UPDATE ON public.crm_sla_webhooks FOR EACH ROW EXECUTE FUNCTION public.crm_sla_webhooks_validate();

COMMENT ON TRIGGER crm_sla_webhooks_100_validate ON public.crm_sla_webhooks IS 'Refuses a bad URL, event name or secret (SL010); generates a missing secret';

ALTER TABLE ONLY public.crm_lead_reassignments
    ADD CONSTRAINT crm_lead_reassignments_from_agent_id_fkey FOREIGN KEY (from_agent_id) REFERENCES public.crm_agents(id);

ALTER TABLE ONLY public.crm_lead_reassignments
    ADD CONSTRAINT crm_lead_reassignments_lead_id_fkey FOREIGN KEY (lead_id) REFERENCES public.crm_leads(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.crm_lead_reassignments
    ADD CONSTRAINT crm_lead_reassignments_reassigned_by_fkey FOREIGN KEY (reassigned_by) REFERENCES public.crm_agents(id);

ALTER TABLE ONLY public.crm_lead_reassignments
    ADD CONSTRAINT crm_lead_reassignments_to_agent_id_fkey FOREIGN KEY (to_agent_id) REFERENCES public.crm_agents(id);

ALTER TABLE ONLY public.crm_lead_sla_events
    ADD CONSTRAINT crm_lead_sla_events_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES public.crm_agents(id);

ALTER TABLE ONLY public.crm_lead_sla_events
    ADD CONSTRAINT crm_lead_sla_events_lead_id_fkey FOREIGN KEY (lead_id) REFERENCES public.crm_leads(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.crm_leads
    ADD CONSTRAINT crm_leads_assigned_agent_id_fkey FOREIGN KEY (assigned_agent_id) REFERENCES public.crm_agents(id);

ALTER TABLE ONLY public.crm_leads
    ADD CONSTRAINT crm_leads_previous_agent_id_fkey FOREIGN KEY (previous_agent_id) REFERENCES public.crm_agents(id);

ALTER TABLE ONLY public.crm_sla_agent_absences
    ADD CONSTRAINT crm_sla_agent_absences_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES public.crm_agents(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.crm_sla_agent_misses
    ADD CONSTRAINT crm_sla_agent_misses_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES public.crm_agents(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.crm_sla_agent_routing
    ADD CONSTRAINT crm_sla_agent_routing_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES public.crm_agents(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.crm_sla_agent_routing
    ADD CONSTRAINT crm_sla_agent_routing_calendar_id_fkey FOREIGN KEY (calendar_id) REFERENCES public.crm_sla_calendars(id);

ALTER TABLE ONLY public.crm_sla_agent_routing
    ADD CONSTRAINT crm_sla_agent_routing_manager_id_fkey FOREIGN KEY (manager_id) REFERENCES public.crm_agents(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.crm_sla_agent_state
    ADD CONSTRAINT crm_sla_agent_state_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES public.crm_agents(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.crm_sla_calendar_hours
    ADD CONSTRAINT crm_sla_calendar_hours_calendar_id_fkey FOREIGN KEY (calendar_id) REFERENCES public.crm_sla_calendars(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.crm_sla_holidays
    ADD CONSTRAINT crm_sla_holidays_calendar_id_fkey FOREIGN KEY (calendar_id) REFERENCES public.crm_sla_calendars(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.crm_sla_policies
    ADD CONSTRAINT crm_sla_policies_calendar_id_fkey FOREIGN KEY (calendar_id) REFERENCES public.crm_sla_calendars(id);

ALTER TABLE ONLY public.crm_sla_policies
    ADD CONSTRAINT crm_sla_policies_team_id_fkey FOREIGN KEY (team_id) REFERENCES public.crm_sla_teams(id);

ALTER TABLE ONLY public.crm_sla_policy_steps
    ADD CONSTRAINT crm_sla_policy_steps_policy_id_fkey FOREIGN KEY (policy_id) REFERENCES public.crm_sla_policies(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.crm_sla_settings
    ADD CONSTRAINT crm_sla_settings_calendar_id_fkey FOREIGN KEY (calendar_id) REFERENCES public.crm_sla_calendars(id);

ALTER TABLE ONLY public.crm_sla_team_members
    ADD CONSTRAINT crm_sla_team_members_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES public.crm_agents(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.crm_sla_team_members
    ADD CONSTRAINT crm_sla_team_members_team_id_fkey FOREIGN KEY (team_id) REFERENCES public.crm_sla_teams(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.crm_sla_teams
    ADD CONSTRAINT crm_sla_teams_manager_id_fkey FOREIGN KEY (manager_id) REFERENCES public.crm_agents(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.crm_sla_webhook_deliveries
    ADD CONSTRAINT crm_sla_webhook_deliveries_outbox_id_fkey FOREIGN KEY (outbox_id) REFERENCES public.crm_sla_outbox(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.crm_sla_webhook_deliveries
    ADD CONSTRAINT crm_sla_webhook_deliveries_webhook_id_fkey FOREIGN KEY (webhook_id) REFERENCES public.crm_sla_webhooks(id) ON DELETE CASCADE;

CREATE POLICY "Admins and agents read their events" ON public.crm_sla_outbox FOR SELECT TO authenticated USING (((agent_id = ( SELECT auth.uid() AS uid)) OR ( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin)));

COMMENT ON POLICY "Admins and agents read their events" ON public.crm_sla_outbox IS 'An agent reads the events addressed to it; admins read every event';

CREATE POLICY "Admins can manage agents" ON public.crm_agents TO authenticated USING (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin)) WITH CHECK (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin));

CREATE POLICY "Admins can manage all leads" ON public.crm_leads TO authenticated USING (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin)) WITH CHECK (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin));

COMMENT ON POLICY "Admins can manage all leads" ON public.crm_leads IS 'Admins read, insert, update and delete every lead';

CREATE POLICY "Admins can view all reassignments" ON public.crm_lead_reassignments FOR SELECT TO authenticated USING (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin));

COMMENT ON POLICY "Admins can view all reassignments" ON public.crm_lead_reassignments IS 'Admins read every audit row';

CREATE POLICY "Admins manage absences" ON public.crm_sla_agent_absences TO authenticated USING (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin)) WITH CHECK (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin));

COMMENT ON POLICY "Admins manage absences" ON public.crm_sla_agent_absences IS 'Admins read and write every agent''s absences';

CREATE POLICY "Admins manage crm_sla_agent_routing" ON public.crm_sla_agent_routing TO authenticated USING (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin)) WITH CHECK (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin));

COMMENT ON POLICY "Admins manage crm_sla_agent_routing" ON public.crm_sla_agent_routing IS 'Admins read and write every row';

CREATE POLICY "Admins manage crm_sla_calendar_hours" ON public.crm_sla_calendar_hours TO authenticated USING (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin)) WITH CHECK (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin));

COMMENT ON POLICY "Admins manage crm_sla_calendar_hours" ON public.crm_sla_calendar_hours IS 'Admins read and write every row';

CREATE POLICY "Admins manage crm_sla_calendars" ON public.crm_sla_calendars TO authenticated USING (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin)) WITH CHECK (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin));

COMMENT ON POLICY "Admins manage crm_sla_calendars" ON public.crm_sla_calendars IS 'Admins read and write every row';

CREATE POLICY "Admins manage crm_sla_holidays" ON public.crm_sla_holidays TO authenticated USING (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin)) WITH CHECK (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin));

COMMENT ON POLICY "Admins manage crm_sla_holidays" ON public.crm_sla_holidays IS 'Admins read and write every row';

CREATE POLICY "Admins manage crm_sla_policies" ON public.crm_sla_policies TO authenticated USING (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin)) WITH CHECK (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin));

COMMENT ON POLICY "Admins manage crm_sla_policies" ON public.crm_sla_policies IS 'Admins read and write every row';

CREATE POLICY "Admins manage crm_sla_policy_steps" ON public.crm_sla_policy_steps TO authenticated USING (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin)) WITH CHECK (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin));

COMMENT ON POLICY "Admins manage crm_sla_policy_steps" ON public.crm_sla_policy_steps IS 'Admins read and write every row';

CREATE POLICY "Admins manage crm_sla_team_members" ON public.crm_sla_team_members TO authenticated USING (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin)) WITH CHECK (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin));

COMMENT ON POLICY "Admins manage crm_sla_team_members" ON public.crm_sla_team_members IS 'Admins read and write every row';

CREATE POLICY "Admins manage crm_sla_teams" ON public.crm_sla_teams TO authenticated USING (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin)) WITH CHECK (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin));

COMMENT ON POLICY "Admins manage crm_sla_teams" ON public.crm_sla_teams IS 'Admins read and write every row';

CREATE POLICY "Admins manage deliveries" ON public.crm_sla_webhook_deliveries TO authenticated USING (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin)) WITH CHECK (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin));

COMMENT ON POLICY "Admins manage deliveries" ON public.crm_sla_webhook_deliveries IS 'Admins read deliveries, retry dead ones (status pending) and delete them';

CREATE POLICY "Admins manage webhooks" ON public.crm_sla_webhooks TO authenticated USING (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin)) WITH CHECK (( SELECT public.is_admin(( SELECT auth.uid() AS uid)) AS is_admin));

COMMENT ON POLICY "Admins manage webhooks" ON public.crm_sla_webhooks IS 'Admins add, read, change and remove webhooks';

CREATE POLICY "Agents add their own absences" ON public.crm_sla_agent_absences FOR INSERT TO authenticated WITH CHECK ((agent_id = ( SELECT auth.uid() AS uid)));

COMMENT ON POLICY "Agents add their own absences" ON public.crm_sla_agent_absences IS 'An agent sets its own out of office (self-service), for itself only';

CREATE POLICY "Agents can update own leads" ON public.crm_leads FOR UPDATE TO authenticated USING ((assigned_agent_id = ( SELECT auth.uid() AS uid))) WITH CHECK ((assigned_agent_id = ( SELECT auth.uid() AS uid)));

COMMENT ON POLICY "Agents can update own leads" ON public.crm_leads IS 'An agent updates only the leads it owns (the SLA columns stay the engine''s)';

CREATE POLICY "Agents can view own leads" ON public.crm_leads FOR SELECT TO authenticated USING ((assigned_agent_id = ( SELECT auth.uid() AS uid)));

COMMENT ON POLICY "Agents can view own leads" ON public.crm_leads IS 'An agent reads only the leads it owns';

CREATE POLICY "Agents can view own reassignments" ON public.crm_lead_reassignments FOR SELECT TO authenticated USING (((from_agent_id = ( SELECT auth.uid() AS uid)) OR (to_agent_id = ( SELECT auth.uid() AS uid))));

COMMENT ON POLICY "Agents can view own reassignments" ON public.crm_lead_reassignments IS 'An agent reads the rows where it lost or received the lead';

CREATE POLICY "Agents delete their own absences" ON public.crm_sla_agent_absences FOR DELETE TO authenticated USING ((agent_id = ( SELECT auth.uid() AS uid)));

COMMENT ON POLICY "Agents delete their own absences" ON public.crm_sla_agent_absences IS 'An agent removes its own out-of-office entries (back early, plans changed)';

CREATE POLICY "Agents read their own absences" ON public.crm_sla_agent_absences FOR SELECT TO authenticated USING ((agent_id = ( SELECT auth.uid() AS uid)));

COMMENT ON POLICY "Agents read their own absences" ON public.crm_sla_agent_absences IS 'An agent reads its own out-of-office entries';

CREATE POLICY "Agents read their own routing" ON public.crm_sla_agent_routing FOR SELECT TO authenticated USING ((agent_id = ( SELECT auth.uid() AS uid)));

COMMENT ON POLICY "Agents read their own routing" ON public.crm_sla_agent_routing IS 'An agent reads its own weight, cap and shift calendar';

CREATE POLICY "Agents read their own row" ON public.crm_agents FOR SELECT TO authenticated USING ((id = ( SELECT auth.uid() AS uid)));

COMMENT ON POLICY "Agents read their own row" ON public.crm_agents IS 'An agent reads only its own row; admins read every row through "Admins can manage agents"';

CREATE POLICY "Service role can insert reassignments" ON public.crm_lead_reassignments FOR INSERT TO service_role WITH CHECK (true);

COMMENT ON POLICY "Service role can insert reassignments" ON public.crm_lead_reassignments IS 'Replaces the seed''s WITH CHECK (true) for all: only the service role (and the engine) write';

CREATE POLICY "Service role can manage leads" ON public.crm_leads TO service_role USING (true) WITH CHECK (true);

COMMENT ON POLICY "Service role can manage leads" ON public.crm_leads IS 'The service role (intake, back office) manages every lead';

CREATE POLICY "Service role can read reassignments" ON public.crm_lead_reassignments FOR SELECT TO service_role USING (true);

COMMENT ON POLICY "Service role can read reassignments" ON public.crm_lead_reassignments IS 'The service role reads every audit row';

CREATE POLICY "Service role manages absences" ON public.crm_sla_agent_absences TO service_role USING (true) WITH CHECK (true);

COMMENT ON POLICY "Service role manages absences" ON public.crm_sla_agent_absences IS 'The service role (an HR sync, a scheduler) reads and writes every absence';

CREATE POLICY "Service role manages crm_sla_agent_routing" ON public.crm_sla_agent_routing TO service_role USING (true) WITH CHECK (true);

COMMENT ON POLICY "Service role manages crm_sla_agent_routing" ON public.crm_sla_agent_routing IS 'The service role (back office, intake) reads and writes every row';

CREATE POLICY "Service role manages crm_sla_calendar_hours" ON public.crm_sla_calendar_hours TO service_role USING (true) WITH CHECK (true);

COMMENT ON POLICY "Service role manages crm_sla_calendar_hours" ON public.crm_sla_calendar_hours IS 'The service role (back office, intake) reads and writes every row';

CREATE POLICY "Service role manages crm_sla_calendars" ON public.crm_sla_calendars TO service_role USING (true) WITH CHECK (true);

COMMENT ON POLICY "Service role manages crm_sla_calendars" ON public.crm_sla_calendars IS 'The service role (back office, intake) reads and writes every row';

CREATE POLICY "Service role manages crm_sla_holidays" ON public.crm_sla_holidays TO service_role USING (true) WITH CHECK (true);

COMMENT ON POLICY "Service role manages crm_sla_holidays" ON public.crm_sla_holidays IS 'The service role (back office, intake) reads and writes every row';

CREATE POLICY "Service role manages crm_sla_policies" ON public.crm_sla_policies TO service_role USING (true) WITH CHECK (true);

COMMENT ON POLICY "Service role manages crm_sla_policies" ON public.crm_sla_policies IS 'The service role (back office, intake) reads and writes every row';

CREATE POLICY "Service role manages crm_sla_policy_steps" ON public.crm_sla_policy_steps TO service_role USING (true) WITH CHECK (true);

COMMENT ON POLICY "Service role manages crm_sla_policy_steps" ON public.crm_sla_policy_steps IS 'The service role (back office, intake) reads and writes every row';

CREATE POLICY "Service role manages crm_sla_team_members" ON public.crm_sla_team_members TO service_role USING (true) WITH CHECK (true);

COMMENT ON POLICY "Service role manages crm_sla_team_members" ON public.crm_sla_team_members IS 'The service role (back office, intake) reads and writes every row';

CREATE POLICY "Service role manages crm_sla_teams" ON public.crm_sla_teams TO service_role USING (true) WITH CHECK (true);

COMMENT ON POLICY "Service role manages crm_sla_teams" ON public.crm_sla_teams IS 'The service role (back office, intake) reads and writes every row';

CREATE POLICY "Service role manages deliveries" ON public.crm_sla_webhook_deliveries TO service_role USING (true) WITH CHECK (true);

COMMENT ON POLICY "Service role manages deliveries" ON public.crm_sla_webhook_deliveries IS 'The service role reads deliveries, retries dead ones and deletes them';

CREATE POLICY "Service role manages the SLA settings" ON public.crm_sla_settings TO service_role USING (true) WITH CHECK (true);

CREATE POLICY "Service role manages webhooks" ON public.crm_sla_webhooks TO service_role USING (true) WITH CHECK (true);

COMMENT ON POLICY "Service role manages webhooks" ON public.crm_sla_webhooks IS 'The service role adds, reads, changes and removes webhooks';

CREATE POLICY "Service role pauses the monitor" ON public.crm_sla_monitor_pause TO service_role USING (true) WITH CHECK (true);

COMMENT ON POLICY "Service role pauses the monitor" ON public.crm_sla_monitor_pause IS 'Only the service role (and the tables'' owner) may pause or resume the scheduled monitor';

CREATE POLICY "Service role reads SLA events" ON public.crm_lead_sla_events FOR SELECT TO service_role USING (true);

CREATE POLICY "Service role reads every event" ON public.crm_sla_outbox FOR SELECT TO service_role USING (true);

COMMENT ON POLICY "Service role reads every event" ON public.crm_sla_outbox IS 'The service role reads every event (it does not write them: only the engine does)';

CREATE POLICY "Signed-in users can read the SLA windows" ON public.crm_sla_settings FOR SELECT TO authenticated USING (true);

CREATE POLICY "Signed-in users read calendar hours" ON public.crm_sla_calendar_hours FOR SELECT TO authenticated USING (true);

COMMENT ON POLICY "Signed-in users read calendar hours" ON public.crm_sla_calendar_hours IS 'Agents and admins read open hours';

CREATE POLICY "Signed-in users read calendars" ON public.crm_sla_calendars FOR SELECT TO authenticated USING (true);

COMMENT ON POLICY "Signed-in users read calendars" ON public.crm_sla_calendars IS 'Agents and admins read calendars (a card shows when its timer resumes)';

CREATE POLICY "Signed-in users read holidays" ON public.crm_sla_holidays FOR SELECT TO authenticated USING (true);

COMMENT ON POLICY "Signed-in users read holidays" ON public.crm_sla_holidays IS 'Agents and admins read holidays';

CREATE POLICY "Signed-in users read policies" ON public.crm_sla_policies FOR SELECT TO authenticated USING (true);

COMMENT ON POLICY "Signed-in users read policies" ON public.crm_sla_policies IS 'Agents and admins read SLA policies (a card shows its policy''s name)';

CREATE POLICY "Signed-in users read policy steps" ON public.crm_sla_policy_steps FOR SELECT TO authenticated USING (true);

COMMENT ON POLICY "Signed-in users read policy steps" ON public.crm_sla_policy_steps IS 'Agents and admins read the ladder steps (as they read policies)';

CREATE POLICY "Signed-in users read team members" ON public.crm_sla_team_members FOR SELECT TO authenticated USING (true);

COMMENT ON POLICY "Signed-in users read team members" ON public.crm_sla_team_members IS 'Agents and admins read who is in which team';

CREATE POLICY "Signed-in users read teams" ON public.crm_sla_teams FOR SELECT TO authenticated USING (true);

COMMENT ON POLICY "Signed-in users read teams" ON public.crm_sla_teams IS 'Agents and admins read teams';

CREATE POLICY "Signed-in users read the SLA clock" ON public.crm_sla_clock FOR SELECT TO authenticated, service_role USING (true);

ALTER TABLE public.crm_agents ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.crm_lead_reassignments ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.crm_lead_sla_events ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.crm_leads ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.crm_sla_agent_absences ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.crm_sla_agent_misses ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.crm_sla_agent_routing ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.crm_sla_agent_state ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.crm_sla_calendar_hours ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.crm_sla_calendars ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.crm_sla_clock ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.crm_sla_holidays ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.crm_sla_monitor_pause ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.crm_sla_outbox ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.crm_sla_policies ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.crm_sla_policy_steps ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.crm_sla_routing_lock ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.crm_sla_settings ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.crm_sla_team_members ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.crm_sla_teams ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.crm_sla_webhook_deliveries ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.crm_sla_webhooks ENABLE ROW LEVEL SECURITY;

GRANT USAGE ON SCHEMA auth TO anon;
GRANT USAGE ON SCHEMA auth TO authenticated;
GRANT USAGE ON SCHEMA auth TO service_role;

GRANT ALL ON FUNCTION auth.uid() TO anon;
GRANT ALL ON FUNCTION auth.uid() TO authenticated;
GRANT ALL ON FUNCTION auth.uid() TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.crm_leads TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.crm_leads TO service_role;

REVOKE ALL ON FUNCTION public.claim_lead(p_lead_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.claim_lead(p_lead_id uuid) TO authenticated;
GRANT ALL ON FUNCTION public.claim_lead(p_lead_id uuid) TO service_role;

REVOKE ALL ON FUNCTION public.complete_first_action(p_lead_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.complete_first_action(p_lead_id uuid) TO authenticated;
GRANT ALL ON FUNCTION public.complete_first_action(p_lead_id uuid) TO service_role;

REVOKE ALL ON FUNCTION public.crm_agent_sla_stats(p_from timestamp with time zone, p_to timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_agent_sla_stats(p_from timestamp with time zone, p_to timestamp with time zone) TO authenticated;
GRANT ALL ON FUNCTION public.crm_agent_sla_stats(p_from timestamp with time zone, p_to timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.crm_lead_reassignments_append_only() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_leads_announce_intake() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_leads_announce_progress() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_leads_claim_resets_misses() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_leads_intake() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_leads_intake_clock() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_leads_intake_done() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_leads_pause() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_leads_pause_intake() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_leads_progress() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_leads_route_first() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_leads_sla_events() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_absences_at(p_at timestamp with time zone) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_agent_absences_check() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_agent_routing_check() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_apply_reassignments(p_lead_ids uuid[], p_to_agents uuid[], p_stages text[], p_escalate boolean[], p_by uuid, p_notes text, p_at timestamp with time zone) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_auto_pause(p_leads uuid[], p_at timestamp with time zone) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_calendar_hours_check() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_calendar_is_open(p_calendar_id uuid, p_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_calendar_is_open(p_calendar_id uuid, p_at timestamp with time zone) TO authenticated;
GRANT ALL ON FUNCTION public.crm_sla_calendar_is_open(p_calendar_id uuid, p_at timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.crm_sla_calendar_note(p_calendar_ids uuid[]) FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_calendar_note(p_calendar_ids uuid[]) TO authenticated;
GRANT ALL ON FUNCTION public.crm_sla_calendar_note(p_calendar_ids uuid[]) TO service_role;

REVOKE ALL ON FUNCTION public.crm_sla_calendar_noted() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_calendar_open(p_calendar_id uuid, p_tz text, p_dows integer[], p_starts bigint[], p_ends bigint[], p_day_open bigint[], p_week_open bigint, p_from timestamp with time zone, p_to timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_calendar_open(p_calendar_id uuid, p_tz text, p_dows integer[], p_starts bigint[], p_ends bigint[], p_day_open bigint[], p_week_open bigint, p_from timestamp with time zone, p_to timestamp with time zone) TO authenticated;
GRANT ALL ON FUNCTION public.crm_sla_calendar_open(p_calendar_id uuid, p_tz text, p_dows integer[], p_starts bigint[], p_ends bigint[], p_day_open bigint[], p_week_open bigint, p_from timestamp with time zone, p_to timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.crm_sla_calendar_pattern(p_calendar_id uuid, OUT time_zone text, OUT dows integer[], OUT starts bigint[], OUT ends bigint[], OUT day_open bigint[], OUT week_open bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_calendar_pattern(p_calendar_id uuid, OUT time_zone text, OUT dows integer[], OUT starts bigint[], OUT ends bigint[], OUT day_open bigint[], OUT week_open bigint) TO authenticated;
GRANT ALL ON FUNCTION public.crm_sla_calendar_pattern(p_calendar_id uuid, OUT time_zone text, OUT dows integer[], OUT starts bigint[], OUT ends bigint[], OUT day_open bigint[], OUT week_open bigint) TO service_role;

REVOKE ALL ON FUNCTION public.crm_sla_calendar_replan() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_calendars_check() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_caller() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_clock_now() FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_clock_now() TO authenticated;
GRANT ALL ON FUNCTION public.crm_sla_clock_now() TO service_role;

REVOKE ALL ON FUNCTION public.crm_sla_deadline(p_calendar_id uuid, p_start timestamp with time zone, p_window interval) FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_deadline(p_calendar_id uuid, p_start timestamp with time zone, p_window interval) TO authenticated;
GRANT ALL ON FUNCTION public.crm_sla_deadline(p_calendar_id uuid, p_start timestamp with time zone, p_window interval) TO service_role;

REVOKE ALL ON FUNCTION public.crm_sla_emit(p_events text[], p_lead_ids uuid[], p_agent_ids uuid[], p_stages text[], p_expires_at timestamp with time zone[], p_at timestamp with time zone[], p_extra jsonb[]) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_emit_steps(p_now timestamp with time zone, p_limit integer) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_emit_warnings(p_now timestamp with time zone, p_limit integer) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_engine_columns() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_escalation_target(p_owner uuid, p_admin uuid) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_explain_refusal(p_caller text, p_uid uuid, p_lead_id uuid, p_action text) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_explain_routing(p_lead_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_explain_routing(p_lead_id uuid) TO authenticated;
GRANT ALL ON FUNCTION public.crm_sla_explain_routing(p_lead_id uuid) TO service_role;

REVOKE ALL ON FUNCTION public.crm_sla_first_manager(p_agent_id uuid) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_flag_breaches(p_lead_ids uuid[], p_stages text[], p_at timestamp with time zone) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_hand_over_absent(p_batch integer, p_at timestamp with time zone) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_hand_over_due(p_lead public.crm_leads, p_at timestamp with time zone) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_holidays_check() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_intake_matches() FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_intake_matches() TO authenticated;
GRANT ALL ON FUNCTION public.crm_sla_intake_matches() TO service_role;

REVOKE ALL ON FUNCTION public.crm_sla_intake_plan_for(p_policy_id uuid, p_start timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_intake_plan_for(p_policy_id uuid, p_start timestamp with time zone) TO authenticated;
GRANT ALL ON FUNCTION public.crm_sla_intake_plan_for(p_policy_id uuid, p_start timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.crm_sla_lock_key(p_name text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_lock_key(p_name text) TO service_role;

REVOKE ALL ON FUNCTION public.crm_sla_manager_chain(p_agent_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_manager_chain(p_agent_id uuid) TO authenticated;
GRANT ALL ON FUNCTION public.crm_sla_manager_chain(p_agent_id uuid) TO service_role;

REVOKE ALL ON FUNCTION public.crm_sla_manager_of(p_agent_id uuid) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_match_keys(p_match jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_match_keys(p_match jsonb) TO authenticated;
GRANT ALL ON FUNCTION public.crm_sla_match_keys(p_match jsonb) TO service_role;

REVOKE ALL ON FUNCTION public.crm_sla_next_due(p_after timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_next_due(p_after timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.crm_sla_owner_key_advice() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_owner_key_problem(p_column text) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_owner_keys(p_leads uuid[], p_new_policies uuid[]) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_pause_left(p_calendar_id uuid, p_at timestamp with time zone, p_instant timestamp with time zone) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_paused_for(p_total interval, p_paused_at timestamp with time zone, p_at timestamp with time zone) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_policies_check() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_policies_in_use() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_policies_pause() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_policy_findings() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_policy_for(p_index jsonb, p_row jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_policy_for(p_index jsonb, p_row jsonb) TO authenticated;
GRANT ALL ON FUNCTION public.crm_sla_policy_for(p_index jsonb, p_row jsonb) TO service_role;

REVOKE ALL ON FUNCTION public.crm_sla_policy_steps_check() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_progress_lead(p_lead_id uuid, p_action text) FROM PUBLIC;

REVOKE ALL ON PROCEDURE public.crm_sla_purge_outbox(IN p_batch integer) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_replan_calendars(p_calendar_ids uuid[]) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_resume_snoozed(p_now timestamp with time zone, p_limit integer) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_route_ladder(p_leads uuid[], p_at timestamp with time zone) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_route_leads(p_leads uuid[], p_at timestamp with time zone, p_explain boolean, p_new_policies uuid[]) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_route_new_lead(p_lead_id uuid, p_policy_id uuid, p_at timestamp with time zone) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_route_waiting(p_limit integer, p_at timestamp with time zone) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_routing_pool(p_at timestamp with time zone) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_snooze(p_lead_id uuid, p_until timestamp with time zone, p_note text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_snooze(p_lead_id uuid, p_until timestamp with time zone, p_note text) TO authenticated;
GRANT ALL ON FUNCTION public.crm_sla_snooze(p_lead_id uuid, p_until timestamp with time zone, p_note text) TO service_role;

REVOKE ALL ON FUNCTION public.crm_sla_stats_by_hour(p_from timestamp with time zone, p_to timestamp with time zone, p_time_zone text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_stats_by_hour(p_from timestamp with time zone, p_to timestamp with time zone, p_time_zone text) TO authenticated;
GRANT ALL ON FUNCTION public.crm_sla_stats_by_hour(p_from timestamp with time zone, p_to timestamp with time zone, p_time_zone text) TO service_role;

REVOKE ALL ON FUNCTION public.crm_sla_stats_scope(p_from timestamp with time zone, p_to timestamp with time zone, OUT period_from timestamp with time zone, OUT period_to timestamp with time zone, OUT everyone boolean) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_stats_timeline(p_from timestamp with time zone, p_to timestamp with time zone, p_buckets integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_stats_timeline(p_from timestamp with time zone, p_to timestamp with time zone, p_buckets integer) TO authenticated;
GRANT ALL ON FUNCTION public.crm_sla_stats_timeline(p_from timestamp with time zone, p_to timestamp with time zone, p_buckets integer) TO service_role;

REVOKE ALL ON FUNCTION public.crm_sla_step_instant(p_policy_id uuid, p_stage text, p_calendar_id uuid, p_start timestamp with time zone, p_window interval, p_done numeric) FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_step_instant(p_policy_id uuid, p_stage text, p_calendar_id uuid, p_start timestamp with time zone, p_window interval, p_done numeric) TO authenticated;
GRANT ALL ON FUNCTION public.crm_sla_step_instant(p_policy_id uuid, p_stage text, p_calendar_id uuid, p_start timestamp with time zone, p_window interval, p_done numeric) TO service_role;

REVOKE ALL ON FUNCTION public.crm_sla_step_stats(p_from timestamp with time zone, p_to timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_step_stats(p_from timestamp with time zone, p_to timestamp with time zone) TO authenticated;
GRANT ALL ON FUNCTION public.crm_sla_step_stats(p_from timestamp with time zone, p_to timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.crm_sla_system_actor() FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_system_actor() TO service_role;

REVOKE ALL ON FUNCTION public.crm_sla_team_stats(p_from timestamp with time zone, p_to timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_team_stats(p_from timestamp with time zone, p_to timestamp with time zone) TO authenticated;
GRANT ALL ON FUNCTION public.crm_sla_team_stats(p_from timestamp with time zone, p_to timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.crm_sla_timer_left(p_calendar_id uuid, p_now timestamp with time zone, p_expires_at timestamp with time zone, OUT seconds_left numeric, OUT resumes_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_timer_left(p_calendar_id uuid, p_now timestamp with time zone, p_expires_at timestamp with time zone, OUT seconds_left numeric, OUT resumes_at timestamp with time zone) TO authenticated;
GRANT ALL ON FUNCTION public.crm_sla_timer_left(p_calendar_id uuid, p_now timestamp with time zone, p_expires_at timestamp with time zone, OUT seconds_left numeric, OUT resumes_at timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.crm_sla_timer_plan(p_policy_id uuid, p_stage text, p_start timestamp with time zone, OUT expires_at timestamp with time zone, OUT timer_window interval, OUT calendar_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_timer_plan(p_policy_id uuid, p_stage text, p_start timestamp with time zone, OUT expires_at timestamp with time zone, OUT timer_window interval, OUT calendar_id uuid) TO authenticated;
GRANT ALL ON FUNCTION public.crm_sla_timer_plan(p_policy_id uuid, p_stage text, p_start timestamp with time zone, OUT expires_at timestamp with time zone, OUT timer_window interval, OUT calendar_id uuid) TO service_role;

REVOKE ALL ON FUNCTION public.crm_sla_warn_instant(p_policy_id uuid, p_calendar_id uuid, p_start timestamp with time zone, p_window interval) FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_warn_instant(p_policy_id uuid, p_calendar_id uuid, p_start timestamp with time zone, p_window interval) TO authenticated;
GRANT ALL ON FUNCTION public.crm_sla_warn_instant(p_policy_id uuid, p_calendar_id uuid, p_start timestamp with time zone, p_window interval) TO service_role;

REVOKE ALL ON FUNCTION public.crm_sla_webhook_url_problem(p_url text) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_webhooks_validate() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.crm_sla_workflow_stats(p_from timestamp with time zone, p_to timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION public.crm_sla_workflow_stats(p_from timestamp with time zone, p_to timestamp with time zone) TO authenticated;
GRANT ALL ON FUNCTION public.crm_sla_workflow_stats(p_from timestamp with time zone, p_to timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.decline_lead(p_lead_id uuid, p_reason text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.decline_lead(p_lead_id uuid, p_reason text) TO authenticated;
GRANT ALL ON FUNCTION public.decline_lead(p_lead_id uuid, p_reason text) TO service_role;

REVOKE ALL ON FUNCTION public.is_admin(uid uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.is_admin(uid uuid) TO authenticated;
GRANT ALL ON FUNCTION public.is_admin(uid uuid) TO service_role;

REVOKE ALL ON FUNCTION public.process_sla_timers() FROM PUBLIC;
GRANT ALL ON FUNCTION public.process_sla_timers() TO service_role;

REVOKE ALL ON FUNCTION public.reassign_lead(p_lead_id uuid, p_to_agent_id uuid, p_notes text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.reassign_lead(p_lead_id uuid, p_to_agent_id uuid, p_notes text) TO authenticated;
GRANT ALL ON FUNCTION public.reassign_lead(p_lead_id uuid, p_to_agent_id uuid, p_notes text) TO service_role;

REVOKE ALL ON PROCEDURE public.run_sla_monitor(IN p_duration interval, IN p_interval interval) FROM PUBLIC;
GRANT ALL ON PROCEDURE public.run_sla_monitor(IN p_duration interval, IN p_interval interval) TO service_role;

REVOKE ALL ON FUNCTION public.sla_business_add(p_calendar_id uuid, p_from timestamp with time zone, p_duration interval) FROM PUBLIC;
GRANT ALL ON FUNCTION public.sla_business_add(p_calendar_id uuid, p_from timestamp with time zone, p_duration interval) TO authenticated;
GRANT ALL ON FUNCTION public.sla_business_add(p_calendar_id uuid, p_from timestamp with time zone, p_duration interval) TO service_role;

REVOKE ALL ON FUNCTION public.sla_business_elapsed(p_calendar_id uuid, p_from timestamp with time zone, p_to timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION public.sla_business_elapsed(p_calendar_id uuid, p_from timestamp with time zone, p_to timestamp with time zone) TO authenticated;
GRANT ALL ON FUNCTION public.sla_business_elapsed(p_calendar_id uuid, p_from timestamp with time zone, p_to timestamp with time zone) TO service_role;

REVOKE ALL ON FUNCTION public.sla_clock_reset() FROM PUBLIC;
GRANT ALL ON FUNCTION public.sla_clock_reset() TO service_role;

REVOKE ALL ON FUNCTION public.sla_clock_travel(p_by interval) FROM PUBLIC;
GRANT ALL ON FUNCTION public.sla_clock_travel(p_by interval) TO service_role;

REVOKE ALL ON FUNCTION public.sla_now() FROM PUBLIC;
GRANT ALL ON FUNCTION public.sla_now() TO authenticated;
GRANT ALL ON FUNCTION public.sla_now() TO service_role;

GRANT SELECT ON TABLE public.crm_agent_sla_stats TO authenticated;
GRANT SELECT ON TABLE public.crm_agent_sla_stats TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.crm_agents TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.crm_agents TO service_role;

GRANT SELECT ON TABLE public.crm_lead_reassignments TO authenticated;
GRANT SELECT,INSERT ON TABLE public.crm_lead_reassignments TO service_role;

GRANT SELECT ON TABLE public.crm_lead_sla_events TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.crm_sla_policies TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.crm_sla_policies TO service_role;

GRANT SELECT ON TABLE public.crm_lead_sla_timers TO authenticated;
GRANT SELECT ON TABLE public.crm_lead_sla_timers TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.crm_sla_agent_absences TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.crm_sla_agent_absences TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.crm_sla_agent_routing TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.crm_sla_agent_routing TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.crm_sla_calendar_hours TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.crm_sla_calendar_hours TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.crm_sla_calendars TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.crm_sla_calendars TO service_role;

GRANT SELECT ON TABLE public.crm_sla_clock TO authenticated;
GRANT SELECT ON TABLE public.crm_sla_clock TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.crm_sla_holidays TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.crm_sla_holidays TO service_role;

GRANT SELECT,UPDATE ON TABLE public.crm_sla_monitor_pause TO service_role;

GRANT SELECT ON TABLE public.crm_sla_outbox TO authenticated;
GRANT SELECT ON TABLE public.crm_sla_outbox TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.crm_sla_policy_steps TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.crm_sla_policy_steps TO service_role;

GRANT SELECT ON TABLE public.crm_sla_settings TO authenticated;
GRANT SELECT,UPDATE ON TABLE public.crm_sla_settings TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.crm_sla_team_members TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.crm_sla_team_members TO service_role;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.crm_sla_teams TO authenticated;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.crm_sla_teams TO service_role;

GRANT SELECT,DELETE,UPDATE ON TABLE public.crm_sla_webhook_deliveries TO authenticated;
GRANT SELECT,DELETE,UPDATE ON TABLE public.crm_sla_webhook_deliveries TO service_role;

GRANT INSERT,DELETE,UPDATE ON TABLE public.crm_sla_webhooks TO authenticated;
GRANT INSERT,DELETE,UPDATE ON TABLE public.crm_sla_webhooks TO service_role;

GRANT SELECT(id) ON TABLE public.crm_sla_webhooks TO authenticated;
GRANT SELECT(id) ON TABLE public.crm_sla_webhooks TO service_role;

GRANT SELECT(url) ON TABLE public.crm_sla_webhooks TO authenticated;
GRANT SELECT(url) ON TABLE public.crm_sla_webhooks TO service_role;

GRANT SELECT(events) ON TABLE public.crm_sla_webhooks TO authenticated;
GRANT SELECT(events) ON TABLE public.crm_sla_webhooks TO service_role;

GRANT SELECT(is_active) ON TABLE public.crm_sla_webhooks TO authenticated;
GRANT SELECT(is_active) ON TABLE public.crm_sla_webhooks TO service_role;

GRANT SELECT(created_at) ON TABLE public.crm_sla_webhooks TO authenticated;
GRANT SELECT(created_at) ON TABLE public.crm_sla_webhooks TO service_role;

GRANT SELECT(deactivated_reason) ON TABLE public.crm_sla_webhooks TO authenticated;
GRANT SELECT(deactivated_reason) ON TABLE public.crm_sla_webhooks TO service_role;

GRANT SELECT(format) ON TABLE public.crm_sla_webhooks TO authenticated;
GRANT SELECT(format) ON TABLE public.crm_sla_webhooks TO service_role;
