-- Writes a set of reassignments in one statement: the lead rows, one audit row each, and a
-- pg_notify event each. Called by process_sla_timers() and reassign_lead() on rows they locked.
-- p_stages: 'claim_window', 'contact_window' or 'manual'; p_escalate marks escalations to an admin.
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
    v_claim interval;
    v_events text[];
begin
    select s.claim_window into v_claim from public.crm_sla_settings as s;
    v_claim := coalesce(v_claim, interval '5 minutes');

    with moves as (
        select m.lead_id, m.to_agent, m.stage, m.escalate
        from unnest(p_lead_ids, p_to_agents, p_stages, p_escalate)
            as m (lead_id, to_agent, stage, escalate)
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
                else 'manual'
            end,
            reassigned_at = p_at,
            lead_claimed = false,
            first_action_completed = false,
            claim_timer_started_at = p_at,
            claim_timer_expires_at = p_at + v_claim,
            claim_window_expires_at = p_at + v_claim,
            contact_timer_started_at = null,
            contact_timer_expires_at = null,
            claim_sla_breached = coalesce(l.claim_sla_breached, false) or m.stage = 'claim_window',
            contact_sla_breached
            = coalesce(l.contact_sla_breached, false) or m.stage = 'contact_window',
            sla_breached = l.sla_breached or m.stage <> 'manual',
            -- An escalated lead sits with an admin: the monitor no longer moves it.
            sla_escalated_at = case when m.escalate then p_at end,
            sla_waiting_since = null
        from moves as m
        where l.id = m.lead_id
        returning
            l.id, l.previous_agent_id, l.assigned_agent_id, l.reassignment_reason, m.stage,
            m.escalate
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

    select array_agg(json_build_object(
        'event', case when mv.escalate then 'escalated' else 'reassigned' end,
        'lead_id', mv.id,
        'from_agent_id', mv.previous_agent_id,
        'to_agent_id', mv.assigned_agent_id,
        'reason', mv.reassignment_reason,
        'stage', mv.stage
    )::text)
    into v_events
    from moved as mv;  -- the audit insert runs regardless: data-modifying CTEs always complete

    perform pg_notify('crm_sla', e) from unnest(v_events) as e;
    return coalesce(cardinality(v_events), 0);
end
$$;

comment on function public.crm_sla_apply_reassignments(
    uuid[], uuid[], text[], boolean[], uuid, text, timestamptz
) is
'Internal: writes reassignments (lead rows, audit rows, crm_sla events) for locked leads';

revoke execute on function public.crm_sla_apply_reassignments(
    uuid[], uuid[], text[], boolean[], uuid, text, timestamptz
) from public, anon, authenticated, service_role;
