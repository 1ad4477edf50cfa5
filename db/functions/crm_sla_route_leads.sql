-- The router: chooses the next owner of each lead in p_leads (in that order: oldest first), the
-- one routing implementation behind intake and the overflow queue (crm_sla_route_waiting), the
-- monitor's breaches (crm_sla_route_ladder), declines, absence hand-overs, reassign_lead's checks
-- and crm_sla_explain_routing, and a new lead's first owner as it is written
-- (crm_sla_route_new_lead). Callers that route (p_explain false) hold the routing lock (the
-- crm_sla_routing_lock row) and the leads' row locks.
--
-- Eligible for a lead: an active agent accepting leads, not its owner, in its policy's team when
-- the policy names one, on shift (crm_sla_calendar_is_open) and under its cap of open leads
-- (crm_sla_routing_pool). A lead whose owner was already moved max_reassignments times by the
-- monitor escalates instead: its candidates are the active admins (weight 1).
-- The pick, for each lead:
-- 1. Ownership routing: an unowned lead with an owner_key value (crm_sla_owner_keys) goes to the
--    owner of the most recent other lead with that value (one routed earlier in the batch first)
--    when that agent is eligible; no credit moves for such a pick.
-- 2. Otherwise the candidates are the eligible agents who never held the lead (those who did
--    when there are none), and smooth weighted round robin picks among them: each candidate earns
--    its weight in credit, the one with the most credit is picked and pays the candidates' total
--    weight (ties: least recently routed, then id). Only candidates earn credit, so an agent
--    away, off shift or at its cap earns none and comes back to its weighted share (fair
--    re-entry). Caps are counted down as the batch is routed, so no agent goes past its cap.
-- p_explain (one lead) is a dry run of the same pick: it picks for the lead again and again, each
-- pick leaving the candidates, and the order of the picks is the rank; nothing is saved.
--
-- p_new_policies, when given, holds the policy (or NULL) of each lead of p_leads that is not
-- written yet (a BEFORE INSERT trigger's row): such a lead has no owner and no history. Without
-- it, ids that are not in crm_leads are left out.
--
-- Returns, routing: one row per lead (agent_id NULL when nobody is eligible: it waits), and the
-- credits, routing sequence and counts are saved. p_explain: one row per agent and admin with
-- eligible, a reason and the rank.
create or replace function public.crm_sla_route_leads(
    p_leads uuid[],
    p_at timestamptz,
    p_explain boolean,
    p_new_policies uuid[]
)
returns table (
    lead_id uuid, agent_id uuid, escalate boolean, eligible boolean, reason text, rank integer
)
language plpgsql
volatile
set search_path = ''
-- Generic plans: its statements take arrays, and planning them again for each call cost a
-- single-row INSERT of an unowned lead about 0.7 ms (bulk intake and the monitor: no change).
set plan_cache_mode = force_generic_plan
set jit = off  -- a few hundred rows at most: compiling them would cost far more than it saves
as $$
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

comment on function public.crm_sla_route_leads(uuid[], timestamptz, boolean, uuid[]) is
'Internal: the router (eligibility, ownership, never-held first, smooth weighted round robin, '
'caps, escalation) behind intake, the monitor, declines, hand-overs, crm_sla_explain_routing and '
'reassign_lead';

revoke execute on function public.crm_sla_route_leads(uuid[], timestamptz, boolean, uuid[])
from public, anon, authenticated, service_role;
