-- The router: chooses the next owner of each lead in p_leads (in that order: oldest first), the
-- one routing implementation behind intake, the monitor's overflow and breach passes,
-- crm_sla_explain_routing and reassign_lead's checks (through crm_sla_route), and a new lead's
-- first owner as it is written (crm_sla_route_new_lead). Callers that route (p_explain false)
-- hold the routing lock (the crm_sla_routing_lock row) and the leads' row locks.
--
-- Eligible for a lead: an active agent accepting leads, not its owner, in its policy's team when
-- the policy names one, on shift (crm_sla_calendar_is_open) and under its cap of open leads
-- (crm_sla_routing_pool). Agents who never held the lead come first; among the candidates,
-- smooth weighted round robin: each candidate earns its weight in credit, the one with the most
-- credit is picked and pays the candidates' total weight (ties: least recently routed, then id).
-- Only candidates earn credit, so an agent away, off shift or at its cap earns none and comes
-- back to its weighted share (fair re-entry). A lead whose owner was already moved
-- max_reassignments times by the monitor escalates to an active admin instead (same rule,
-- weight 1). Caps are counted down as the batch is routed, so no agent goes past its cap.
-- Ownership routing: an unowned lead with an owner_key value (crm_sla_owner_keys) goes first to
-- the owner of the most recent other lead with that value (one routed earlier in the batch
-- first) when that agent is one of the candidates above; no credit moves for such a pick.
--
-- p_new_policies, when given, holds the policy (or NULL) of each lead of p_leads that is not
-- written yet (a BEFORE INSERT trigger's row): such a lead has no owner and no history. Without
-- it, ids that are not in crm_leads are left out.
--
-- Returns, routing: one row per lead (agent_id NULL when nobody is eligible: it waits), and the
-- credits, routing sequence and counts are saved. p_explain (one lead): one row per agent and
-- admin with eligible, a reason and the rank the router would use now; nothing is saved.
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
    -- the pool, one element an agent or admin
    v_ids uuid[];
    v_key text[];  -- the id as text, to look it up in the leads' member and holder lists
    v_admin boolean[];
    v_w double precision[];
    v_cur double precision[];
    v_seq bigint[];
    v_room bigint[];  -- what is left under the cap; NULL: no cap
    v_why text[];
    v_picked integer[];
    v_start double precision[];  -- the credits before the batch
    v_agents integer[];  -- the agents who can take leads now (indexes into the pool)
    v_admins integer[];  -- the admins who can take escalated leads
    v_owner integer;  -- the lead's owner's index in the pool (0: none)
    v_next_seq bigint;
    v_max integer;
    -- the leads, one element a lead, in routing order
    l_ids uuid[];
    l_owner uuid[];
    l_team text[];  -- the team's name when the lead's policy names one
    l_members text[];  -- its members' ids, space-separated
    l_held text[];  -- ids of everyone who held the lead, space-separated
    l_escalate boolean[];
    l_fresh boolean[];  -- nobody but its owner ever held it
    -- one lead's candidates
    v_cand integer[];
    v_any_pref boolean;
    v_total double precision;
    v_best integer;
    v_score double precision;
    v_best_score double precision;
    v_rounds integer;  -- rounds in which every agent of v_agents was a candidate
    v_in boolean[];  -- in v_agents: its credit is kept lazily
    v_all double precision;  -- the total weight of v_agents
    v_j integer;
    v_reasons text[];
    l_owner_key text[];  -- '<owner_key column> <value>' of an unowned lead with one
    l_key_owner integer[];  -- the current owner of the most recent other lead with that value
    l_prev integer[];  -- the batch's previous lead with the same key
    l_pick integer[];  -- the key's owner once the lead is routed
    v_pref integer;  -- the key's owner (0: none)
begin
    select
        array_agg(p.agent_id order by p.agent_id),
        array_agg(p.agent_id::text order by p.agent_id),
        array_agg(p.role = 'admin' order by p.agent_id),
        array_agg(p.weight order by p.agent_id),
        array_agg(p.credit order by p.agent_id),
        array_agg(coalesce(p.last_routed_seq, 0) order by p.agent_id),
        array_agg(p.max_open_leads - p.open_leads order by p.agent_id),
        array_agg(p.reason order by p.agent_id),
        max(p.last_routed_seq)
    into v_ids, v_key, v_admin, v_w, v_cur, v_seq, v_room, v_why, v_next_seq
    from public.crm_sla_routing_pool(p_at) as p;
    v_next_seq := coalesce(v_next_seq, 0);

    select s.max_reassignments into v_max from public.crm_sla_settings as s;

    -- Everything the rules need to know about the leads, in one statement.
    with team_members as (
        select m.team_id, pg_catalog.string_agg(m.agent_id::text, ' ') as members
        from public.crm_sla_team_members as m
        group by m.team_id
    )

    select
        array_agg(t.id order by t.ord),
        array_agg(l.assigned_agent_id order by t.ord),
        array_agg(tm.name order by t.ord),
        array_agg(
            case when tm.id is not null then coalesce(mm.members, '') end order by t.ord
        ),
        array_agg(
            concat_ws(' ', l.assigned_agent_id::text, h.holders) order by t.ord
        ),
        array_agg(
            l.assigned_agent_id is not null
            and coalesce(h.automatic, 0)
            >= coalesce(pol.max_reassignments, v_max, 3)
            order by t.ord
        ),
        array_agg(h.holders is null order by t.ord)
    into l_ids, l_owner, l_team, l_members, l_held, l_escalate, l_fresh
    from unnest(p_leads, p_new_policies) with ordinality as t (id, new_policy, ord)
    left join public.crm_leads as l on t.id = l.id
    left join public.crm_sla_policies as pol
        on coalesce(l.sla_policy_id, t.new_policy) = pol.id
    left join public.crm_sla_teams as tm on pol.team_id = tm.id
    left join team_members as mm on tm.id = mm.team_id
    left join lateral (
        select
            pg_catalog.string_agg(
                concat_ws(' ', a.from_agent_id::text, a.to_agent_id::text), ' '
            ) as holders,
            count(*) filter (where a.reason <> 'manual') as automatic
        from public.crm_lead_reassignments as a
        where a.lead_id = l.id and coalesce(l.reassignment_count, 0) > 0
    ) as h on true
    where l.id is not null or p_new_policies is not null;

    if l_ids is null or v_ids is null then
        return;
    end if;

    select
        array_agg(k.key_label order by t.ord),
        array_agg(pg_catalog.array_position(v_ids, k.owner_id) order by t.ord),
        array_agg(k.prev order by t.ord),
        array_agg(null::integer order by t.ord)
    into l_owner_key, l_key_owner, l_prev, l_pick
    from pg_catalog.generate_series(1, cardinality(l_ids)) as t (ord)
    left join (
        select
            o.ord, o.key_label, o.owner_id,
            pg_catalog.lag(o.ord) over (partition by o.key_label order by o.ord) as prev
        from public.crm_sla_owner_keys(l_ids, p_new_policies) as o
    ) as k on t.ord = k.ord;

    if p_explain then
        -- Why each agent can or cannot take the first lead now, in the rules' order.
        v_reasons := array_fill(null::text, array[cardinality(v_ids)]);
        for v_j in 1 .. cardinality(v_ids) loop
            v_reasons[v_j] := case
                when v_ids[v_j] = l_owner[1] then 'current owner'
                when v_why[v_j] is not null then v_why[v_j]
                when l_escalate[1] and not v_admin[v_j]
                    then 'the lead goes to an admin: it was moved max_reassignments times'
                when not l_escalate[1] and v_admin[v_j] then 'admin: takes only escalated leads'
                when not l_escalate[1] and strpos(l_members[1], v_key[v_j]) = 0
                    then 'not in team ' || l_team[1]
            end;
        end loop;
        -- The order the router would pick in: the key's owner, never-held first, then the most
        -- credit after this round's earning, the least recently routed, the id.
        v_pref := coalesce(l_key_owner[1], 0);
        return query
        select
            l_ids[1],
            v_ids[x.j],
            l_escalate[1],
            v_reasons[x.j] is null,
            coalesce(v_reasons[x.j], case
                when x.j = v_pref then 'owner of ' || l_owner_key[1]
                when strpos(l_held[1], v_key[x.j]) = 0 then 'eligible'
                else 'eligible, but held this lead before'
            end),
            case when v_reasons[x.j] is null then (
                row_number() over (
                    partition by v_reasons[x.j] is null
                    order by
                        x.j = v_pref desc,
                        strpos(l_held[1], v_key[x.j]) = 0 desc,
                        v_cur[x.j] + v_w[x.j] desc, v_seq[x.j], v_ids[x.j]
                )
            )::integer end
        from pg_catalog.generate_subscripts(v_ids, 1) as x (j);
        return;
    end if;

    -- Who can take leads at all (agent-level reasons, given once for the batch).
    v_agents := array(
        select x.j from pg_catalog.generate_subscripts(v_ids, 1) as x (j)
        where v_why[x.j] is null and not v_admin[x.j] order by x.j
    );
    v_admins := array(
        select x.j from pg_catalog.generate_subscripts(v_ids, 1) as x (j)
        where v_why[x.j] is null and v_admin[x.j] order by x.j
    );
    v_start := v_cur;
    v_picked := array_fill(0, array[cardinality(v_ids)]);
    -- The credits of the agents in v_agents (who can take leads and have room) are kept lazily:
    -- an agent's credit is v_cur + v_w * v_rounds, v_rounds counting the rounds in which every
    -- one of them was a candidate, so such a round costs one comparison an agent.
    v_rounds := 0;
    v_in := array_fill(false, array[cardinality(v_ids)]);
    v_all := 0;
    foreach v_j in array v_agents loop
        v_in[v_j] := true;
        v_all := v_all + v_w[v_j];
    end loop;
    for v_k in 1 .. cardinality(l_ids) loop
        v_owner := coalesce(pg_catalog.array_position(v_ids, l_owner[v_k]), 0);
        v_best := null;
        v_pref := coalesce(l_pick[l_prev[v_k]], l_key_owner[v_k], 0);
        if v_pref > 0 and v_pref = any(v_agents) and v_pref <> v_owner
            and coalesce(strpos(l_members[v_k], v_key[v_pref]) > 0, true) then
            v_best := v_pref;  -- ownership routing: no round of weighted fair order, no credit
            v_total := 0;
        elsif not l_escalate[v_k] and l_members[v_k] is null and l_fresh[v_k] then
            -- The common case: no team, nobody but the owner ever held it. One round of smooth
            -- weighted round robin: every candidate earns its weight, the one with the most
            -- credit is picked; the owner is no candidate (earns nothing).
            v_rounds := v_rounds + 1;
            v_total := v_all;
            if v_owner > 0 and v_in[v_owner] then
                v_cur[v_owner] := v_cur[v_owner] - v_w[v_owner];
                v_total := v_total - v_w[v_owner];
            end if;
            foreach v_j in array v_agents loop
                continue when v_j = v_owner;
                v_score := v_cur[v_j] + v_w[v_j] * v_rounds;
                if v_best is null or v_score > v_best_score or (
                    v_score = v_best_score
                    and (v_seq[v_j], v_ids[v_j]) < (v_seq[v_best], v_ids[v_best])
                ) then
                    v_best := v_j;
                    v_best_score := v_score;
                end if;
            end loop;
        else
            if l_escalate[v_k] then  -- to an admin, by the same rule with weight 1
                v_cand := v_admins;
            else
                -- A team, or earlier holders: the candidates first, never-held ones when any.
                v_cand := '{}';
                v_any_pref := false;
                foreach v_j in array v_agents loop
                    continue when v_j = v_owner or strpos(l_members[v_k], v_key[v_j]) = 0;
                    if strpos(l_held[v_k], v_key[v_j]) = 0 then
                        if not v_any_pref then
                            v_cand := '{}';  -- a never-held one: earlier holders drop out
                            v_any_pref := true;
                        end if;
                        v_cand := v_cand || v_j;
                    elsif not v_any_pref then
                        v_cand := v_cand || v_j;
                    end if;
                end loop;
            end if;
            v_total := 0;
            foreach v_j in array v_cand loop
                continue when v_j = v_owner;
                v_total := v_total + v_w[v_j];
                v_cur[v_j] := v_cur[v_j] + v_w[v_j];
                v_score := v_cur[v_j] + case when v_in[v_j] then v_w[v_j] * v_rounds else 0 end;
                if v_best is null or v_score > v_best_score or (
                    v_score = v_best_score
                    and (v_seq[v_j], v_ids[v_j]) < (v_seq[v_best], v_ids[v_best])
                ) then
                    v_best := v_j;
                    v_best_score := v_score;
                end if;
            end loop;
        end if;

        if v_best is not null then  -- the pick pays the round's total weight
            v_cur[v_best] := v_cur[v_best] - v_total;
            v_next_seq := v_next_seq + 1;
            v_seq[v_best] := v_next_seq;
            v_room[v_best] := v_room[v_best] - 1;
            v_picked[v_best] := v_picked[v_best] + 1;
            if v_room[v_best] <= 0 then  -- at its cap: no candidate for the rest of the batch
                v_cur[v_best] := v_cur[v_best] + v_w[v_best] * v_rounds;
                v_in[v_best] := false;
                v_agents := pg_catalog.array_remove(v_agents, v_best);
                v_all := v_all - v_w[v_best];
            end if;
        end if;
        if l_owner_key[v_k] is not null then
            l_pick[v_k] := coalesce(v_best, l_pick[l_prev[v_k]]);
        end if;
        lead_id := l_ids[v_k];
        agent_id := v_ids[v_best];
        escalate := l_escalate[v_k];
        eligible := v_best is not null;
        reason := case when v_best is null then 'nobody eligible' end;
        rank := case when v_best is not null then 1 end;
        return next;
    end loop;

    insert into public.crm_sla_agent_state as s (
        agent_id, last_routed_seq, leads_routed, routing_credit
    )
    select x.id, x.seq, x.picked, c.credit
    from unnest(v_ids, v_seq, v_picked, v_cur, v_start, v_w, v_in)
        as x (id, seq, picked, cur, start, w, lazy)
    cross join lateral (
        select x.cur + case when x.lazy then x.w * v_rounds else 0 end as credit
    ) as c
    where x.picked > 0 or c.credit <> x.start
    on conflict on constraint crm_sla_agent_state_pkey do update
        set last_routed_seq = excluded.last_routed_seq,
            leads_routed = s.leads_routed + excluded.leads_routed,
            routing_credit = excluded.routing_credit;
end
$$;

comment on function public.crm_sla_route_leads(uuid[], timestamptz, boolean, uuid[]) is
'Internal: the router (eligibility, never-held first, smooth weighted round robin, caps, '
'escalation) behind intake, the monitor, crm_sla_explain_routing and reassign_lead';

revoke execute on function public.crm_sla_route_leads(uuid[], timestamptz, boolean, uuid[])
from public, anon, authenticated, service_role;
