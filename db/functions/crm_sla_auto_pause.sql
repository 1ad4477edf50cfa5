-- Auto-pause: counts the claim windows each owner of p_leads missed (those of them the monitor
-- just moved unclaimed at p_at) and stops an agent accepting leads once it missed
-- crm_sla_settings.auto_pause_after in a row (an agent_paused event names it). A claim resets the
-- count (crm_leads_420_claim_resets_misses). Called by process_sla_timers() after its moves.
create or replace function public.crm_sla_auto_pause(p_leads uuid[], p_at timestamptz)
returns integer
language plpgsql
volatile
set search_path = ''
as $$
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

comment on function public.crm_sla_auto_pause(uuid[], timestamptz) is
'Internal: counts missed claim windows and pauses an agent after auto_pause_after in a row';

revoke execute on function public.crm_sla_auto_pause(uuid[], timestamptz)
from public, anon, authenticated, service_role;
