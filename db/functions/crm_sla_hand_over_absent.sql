-- Absences under way: hands each absent agent's unclaimed leads (window still running, or
-- paused; not those an admin gave it by hand during the absence: crm_sla_hand_over_due) to the
-- next eligible agents, reason `unavailable`, stage claim_window, no breach flag; a lead nobody
-- can take stays, tried again next pass (an expired window is the breach pass's).
-- Called by each monitor pass (process_sla_timers) before its idle test. Returns the leads moved.
create or replace function public.crm_sla_hand_over_absent(p_batch integer, p_at timestamptz)
returns integer
language plpgsql
volatile
set search_path = ''
as $$
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

comment on function public.crm_sla_hand_over_absent(integer, timestamptz) is
'Internal: moves absent agents'' unclaimed leads to eligible agents (reason unavailable)';

revoke execute on function public.crm_sla_hand_over_absent(integer, timestamptz)
from public, anon, authenticated, service_role;
