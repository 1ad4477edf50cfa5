-- The monitor's breach routing with the ladder's rules on top of the router
-- (crm_sla_route_leads): a lead that escalates (moved max_reassignments times) goes to the first
-- active agent in its owner's manager chain, and to an admin (the router's pick) only when the
-- chain has none; a lead whose policy says on_breach 'manager' goes to the first agent in the
-- owner's chain who is eligible now as routing has it (active, accepting leads, on shift, not
-- absent, under its cap less the router's picks in this batch, counted down as the batch goes,
-- and in the policy's team when it names one), and as 'reassign' (the router's pick) when none
-- is. Same rows as crm_sla_route_leads. Called by process_sla_timers() (routing lock and row
-- locks held).
create or replace function public.crm_sla_route_ladder(p_leads uuid[], p_at timestamptz)
returns table (
    lead_id uuid, agent_id uuid, escalate boolean, eligible boolean, reason text, rank integer
)
language plpgsql
volatile
set search_path = ''
as $$
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

comment on function public.crm_sla_route_ladder(uuid[], timestamptz) is
'Internal: breach routing with the ladder (escalation and on_breach ''manager'' up the manager '
'chain) over crm_sla_route_leads';

revoke execute on function public.crm_sla_route_ladder(uuid[], timestamptz)
from public, anon, authenticated, service_role;
