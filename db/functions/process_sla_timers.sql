-- One monitor pass: routes unowned leads, then reassigns (or escalates) up to one batch of leads
-- whose claim or contact window has expired. Called by pg_cron (through run_sla_monitor), by
-- `crm-sla monitor`, and by the service role. Returns counts; "remaining" > 0 means call again.
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
    v_max integer;
    v_ids uuid[];
    v_owners uuid[];
    v_stages text[];
    v_counts integer[];
    v_maxes integer[];
    v_queue uuid[];
    v_admins uuid[];
    v_held uuid[];
    v_auto integer;
    v_pick uuid;
    v_fallback uuid;
    v_cand uuid;
    v_to uuid[] := '{}'::uuid[];
    v_escalate boolean[] := '{}'::boolean[];
    v_stuck_ids uuid[] := '{}'::uuid[];
    v_stuck_stages text[] := '{}'::text[];
    v_routed integer := 0;
    v_unclaimed integer := 0;
    v_no_contact integer := 0;
    v_escalated integer := 0;
    v_remaining bigint := 0;
    v_flagged uuid[];  -- stuck leads announced (no_eligible_agent) by this pass
    v_flagged_owners uuid[];
    v_flagged_stages text[];
    v_flagged_expiries timestamptz[];
begin
    select s.monitor_batch_size, s.max_reassignments into v_batch, v_max
    from public.crm_sla_settings as s;
    v_batch := coalesce(v_batch, 1000);
    v_max := coalesce(v_max, 3);

    -- Idle fast path: nothing unowned and nothing due means no locks at all. Each due test asks
    -- for the earliest due expiry, which the planner reads off the first entries of the seed's
    -- partial index whatever the statistics say (an EXISTS may pick a sequential scan when the
    -- table is full of old, closed timers): the cost follows the due work, not the table size.
    if not exists (select from public.crm_leads as l where l.assigned_agent_id is null)
        and (
            select min(l.claim_timer_expires_at) from public.crm_leads as l
            where l.claim_timer_expires_at <= v_now
                and l.claim_timer_expires_at is not null and l.lead_claimed = false
                and l.sla_escalated_at is null
        ) is null
        and (
            select min(l.contact_timer_expires_at) from public.crm_leads as l
            where l.contact_timer_expires_at <= v_now
                and l.contact_timer_expires_at is not null and l.first_action_completed = false
                and l.sla_escalated_at is null
        ) is null then
        return jsonb_build_object(
            'routed', 0, 'unclaimed', 0, 'no_contact', 0, 'escalated', 0,
            'no_eligible_agent', 0, 'remaining', 0, 'at', v_now
        );
    end if;

    -- One order for every router: the routing lock row first, then lead rows (always SKIP
    -- LOCKED here). Only the engine's definer functions may lock that row.
    perform from public.crm_sla_routing_lock for update;
    v_queue := public.crm_sla_routing_queue('agent');

    -- 1. Unowned leads (nobody was eligible when they arrived): a first assignment, no audit row.
    if cardinality(v_queue) > 0 then
        with unowned as (
            select l.id, row_number() over (order by l.created_at, l.id) as n
            from (
                select u.id, u.created_at from public.crm_leads as u
                where u.assigned_agent_id is null
                order by u.created_at
                limit v_batch
                for update skip locked
            ) as l
        ),

        plans as (  -- the claim timer of each policy among them, computed once a policy
            select q.policy_id, t.expires_at, t.timer_window, t.calendar_id
            from (
                select distinct l.sla_policy_id as policy_id
                from public.crm_leads as l inner join unowned as u on l.id = u.id
            ) as q
            cross join lateral public.crm_sla_timer_plan(q.policy_id, 'claim', v_now) as t
        ),

        routed as (
            update public.crm_leads as l
            set
                assigned_agent_id = v_queue[((u.n - 1) % cardinality(v_queue)) + 1],
                claim_timer_started_at = v_now,
                claim_timer_expires_at = p.expires_at,
                claim_window_expires_at = p.expires_at,
                sla_timer_window = p.timer_window,
                sla_timer_calendar_id = p.calendar_id
            from unowned as u, plans as p
            where
                l.id = u.id and l.assigned_agent_id is null
                and p.policy_id is not distinct from l.sla_policy_id
            returning l.id, l.assigned_agent_id, l.claim_timer_expires_at, u.n
        )

        select
            public.crm_sla_emit(
                array_agg('assigned'::text order by r.n),
                array_agg(r.id order by r.n),
                array_agg(r.assigned_agent_id order by r.n),
                array_agg('claim_window'::text order by r.n),
                array_agg(r.claim_timer_expires_at order by r.n),
                array_agg(v_now order by r.n)
            ),
            array_agg(r.assigned_agent_id order by r.n)
        into v_routed, v_to
        from routed as r;
        if v_routed > 0 then
            perform public.crm_sla_mark_routed(v_to);
            v_queue := public.crm_sla_routing_queue('agent');
        end if;
        v_to := '{}';
    end if;

    -- 2. Lock up to one batch of due leads. The due test is repeated on the locked row itself,
    --    so a lead claimed (or reassigned) since the candidates were read is left alone.
    select
        array_agg(d.id order by d.due_at, d.id),
        array_agg(d.owner order by d.due_at, d.id),
        array_agg(d.stage order by d.due_at, d.id),
        array_agg(d.cnt order by d.due_at, d.id),
        array_agg(d.max_moves order by d.due_at, d.id)
    into v_ids, v_owners, v_stages, v_counts, v_maxes
    from (
        select
            l.id,
            l.assigned_agent_id as owner,
            -- The lead's policy says how often it may move before it escalates.
            coalesce(
                (select p.max_reassignments from public.crm_sla_policies as p
                    where p.id = l.sla_policy_id),
                v_max
            ) as max_moves,
            case when l.lead_claimed then 'contact_window' else 'claim_window' end as stage,
            coalesce(l.reassignment_count, 0) as cnt,
            case
                when l.lead_claimed then l.contact_timer_expires_at
                else l.claim_timer_expires_at
            end as due_at
        from public.crm_leads as l
        where
            l.id = any(array(
                (
                    select c.id from public.crm_leads as c
                    where c.claim_timer_expires_at <= v_now
                        and c.claim_timer_expires_at is not null and c.lead_claimed = false
                        and c.sla_escalated_at is null
                    order by c.claim_timer_expires_at
                    limit v_batch
                )
                union all
                (
                    select c.id from public.crm_leads as c
                    where c.contact_timer_expires_at <= v_now
                        and c.contact_timer_expires_at is not null
                        and c.first_action_completed = false
                        and c.sla_escalated_at is null
                    order by c.contact_timer_expires_at
                    limit v_batch
                )
            ))
            and l.sla_escalated_at is null
            and (
                (l.lead_claimed = false and l.claim_timer_expires_at <= v_now)
                or (
                    l.lead_claimed and l.first_action_completed = false
                    and l.contact_timer_expires_at <= v_now
                )
            )
        order by due_at, l.id
        limit v_batch
        for update of l skip locked
    ) as d;

    if v_ids is null then
        return jsonb_build_object(
            'routed', v_routed, 'unclaimed', 0, 'no_contact', 0, 'escalated', 0,
            'no_eligible_agent', 0, 'remaining', 0, 'at', v_now
        );
    end if;

    -- 3. Choose each lead's next owner: round robin over the queue, skipping the owner and
    --    preferring agents who never held the lead; an admin once its policy's max_reassignments
    --    (or the settings') is reached.
    v_admins := public.crm_sla_routing_queue('admin');
    for i in 1 .. cardinality(v_ids) loop
        v_held := array_remove(array[v_owners[i]], null);
        v_auto := 0;
        if v_counts[i] > 0 then
            select
                array_remove(array_agg(a.from_agent_id) || array_agg(a.to_agent_id), null)
                || v_held,
                count(*) filter (where a.reason <> 'manual')
            into v_held, v_auto
            from public.crm_lead_reassignments as a
            where a.lead_id = v_ids[i];
        end if;

        v_pick := null;
        v_fallback := null;
        if v_auto >= v_maxes[i] then
            foreach v_cand in array v_admins loop
                if v_cand is distinct from v_owners[i] then
                    v_pick := v_cand;
                    exit;
                end if;
            end loop;
            if v_pick is not null then
                v_admins := array_remove(v_admins, v_pick) || v_pick;
            end if;
        else
            foreach v_cand in array v_queue loop
                continue when v_cand = v_owners[i];
                v_fallback := coalesce(v_fallback, v_cand);
                if not v_cand = any(v_held) then
                    v_pick := v_cand;
                    exit;
                end if;
            end loop;
            v_pick := coalesce(v_pick, v_fallback);
            if v_pick is not null then
                v_queue := array_remove(v_queue, v_pick) || v_pick;
            end if;
        end if;

        if v_pick is null then
            v_stuck_ids := v_stuck_ids || v_ids[i];
            v_stuck_stages := v_stuck_stages || v_stages[i];
        else
            v_to := v_to || v_pick;
            v_escalate := v_escalate || (v_auto >= v_maxes[i]);
            if v_auto >= v_maxes[i] then
                v_escalated := v_escalated + 1;
            elsif v_stages[i] = 'claim_window' then
                v_unclaimed := v_unclaimed + 1;
            else
                v_no_contact := v_no_contact + 1;
            end if;
        end if;
    end loop;

    -- 4. Write the reassignments (lead rows, audit rows, events) in one statement.
    if cardinality(v_to) > 0 then
        perform public.crm_sla_mark_routed(v_to);
        perform public.crm_sla_apply_reassignments(
            array(select x from unnest(v_ids) as x where not x = any(v_stuck_ids)),
            v_to,
            array(
                select t.stage from unnest(v_ids, v_stages) as t (id, stage)
                where not t.id = any(v_stuck_ids)
            ),
            v_escalate,
            '00000000-0000-0000-0000-000000000000',
            null,
            v_now
        );
    end if;

    -- 5. Nobody eligible: the lead stays with its owner, flagged, and the next pass retries.
    --    Only the first detection writes and announces it.
    if cardinality(v_stuck_ids) > 0 then
        with flagged as (
            update public.crm_leads as l
            set
                claim_sla_breached = coalesce(l.claim_sla_breached, false) or t.stage = 'claim_window',
                contact_sla_breached
                = coalesce(l.contact_sla_breached, false) or t.stage = 'contact_window',
                sla_breached = true
            from unnest(v_stuck_ids, v_stuck_stages) as t (id, stage)
            where
                l.id = t.id
                and not (
                    l.sla_breached
                    and case t.stage
                        when 'claim_window' then coalesce(l.claim_sla_breached, false)
                        else coalesce(l.contact_sla_breached, false)
                    end
                )
            returning
                l.id, l.assigned_agent_id, t.stage,
                case t.stage
                    when 'claim_window' then l.claim_timer_expires_at
                    else l.contact_timer_expires_at
                end as expires_at
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

    if cardinality(v_ids) >= v_batch then
        select
            (
                select count(*) from (
                    select from public.crm_leads as c
                    where c.claim_timer_expires_at <= v_now
                        and c.claim_timer_expires_at is not null and c.lead_claimed = false
                        and c.sla_escalated_at is null
                    limit 10000000
                ) as x
            )
            + (
                select count(*) from (
                    select from public.crm_leads as c
                    where c.contact_timer_expires_at <= v_now
                        and c.contact_timer_expires_at is not null
                        and c.first_action_completed = false
                        and c.sla_escalated_at is null
                    limit 10000000
                ) as y
            )
        into v_remaining;
    end if;

    return jsonb_build_object(
        'routed', v_routed,
        'unclaimed', v_unclaimed,
        'no_contact', v_no_contact,
        'escalated', v_escalated,
        'no_eligible_agent', cardinality(v_stuck_ids),
        'remaining', v_remaining,
        'at', v_now
    );
end
$$;

comment on function public.process_sla_timers() is
'One SLA monitor pass: reassigns (or escalates) up to one batch of leads whose window expired';

revoke execute on function public.process_sla_timers() from public, anon, authenticated;
grant execute on function public.process_sla_timers() to service_role;
