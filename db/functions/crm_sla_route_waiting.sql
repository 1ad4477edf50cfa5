-- The overflow queue: routes leads waiting without an owner (nobody could take them when they
-- arrived), oldest first, up to p_limit (NULL: all); each routed lead's claim timer starts now,
-- in its policy's calendar, and an `assigned` event announces its owner.
-- Called by the intake trigger (crm_leads_900_intake_done) and each monitor pass, which hold the
-- routing lock. Returns how many leads got an owner.
create or replace function public.crm_sla_route_waiting(p_limit integer, p_at timestamptz)
returns integer
language plpgsql
volatile
set search_path = ''
-- Generic plans: its statements take arrays, and planning them again for each call cost a
-- single-row INSERT of an unowned lead about 0.7 ms (bulk intake and the monitor: no change).
set plan_cache_mode = force_generic_plan
as $$
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

comment on function public.crm_sla_route_waiting(integer, timestamptz) is
'Internal: routes leads waiting for an owner, oldest first; their claim timers start now';

revoke execute on function public.crm_sla_route_waiting(integer, timestamptz)
from public, anon, authenticated, service_role;
