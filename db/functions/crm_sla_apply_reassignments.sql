-- Writes a set of reassignments in one statement: the lead rows, one audit row each, and an event
-- each (reassigned, escalated, or assigned for a lead that had no owner; see crm_sla_emit).
-- Called by process_sla_timers() and reassign_lead() on rows they locked.
-- p_stages: 'claim_window', 'contact_window' or 'manual'; p_escalate marks escalations to an admin.
-- p_stages may also be 'declined' or 'unavailable' (decline_lead, crm_sla_hand_over_absent):
-- that reason, stage claim_window, and no breach flag.
create or replace function public.crm_sla_apply_reassignments(
    p_lead_ids uuid[],
    p_to_agents uuid[],
    p_stages text[],
    p_escalate boolean[],
    p_by uuid,
    p_notes text,
    p_at timestamptz
)
returns integer
language plpgsql
volatile
set search_path = ''
as $$
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

comment on function public.crm_sla_apply_reassignments(
    uuid[], uuid[], text[], boolean[], uuid, text, timestamptz
) is
'Internal: writes reassignments (lead rows, audit rows, events) for locked leads';

revoke execute on function public.crm_sla_apply_reassignments(
    uuid[], uuid[], text[], boolean[], uuid, text, timestamptz
) from public, anon, authenticated, service_role;
