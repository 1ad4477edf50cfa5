-- One monitor pass: routes leads waiting for an owner (the overflow queue), writes the warnings
-- due, then reassigns (or escalates) up to one batch of leads whose claim or contact window has
-- expired, all through the one router (crm_sla_route_leads). Called by pg_cron (through
-- run_sla_monitor), by `crm-sla monitor`, and by the service role. Returns counts; "remaining"
-- > 0 means call again; "skipped_locked" counts due leads another session held (never done).
create or replace function public.process_sla_timers()
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
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

comment on function public.process_sla_timers() is
'One SLA monitor pass: reassigns (or escalates) up to one batch of leads whose window expired';

revoke execute on function public.process_sla_timers() from public, anon, authenticated;
grant execute on function public.process_sla_timers() to service_role;
