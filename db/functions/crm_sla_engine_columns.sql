-- The engine-owned columns of crm_leads, stated once: no API role may write them (SL009 from
-- crm_leads_200_progress). Read by the tests that hold the guard, docs/security.md and docs to it.
create or replace function public.crm_sla_engine_columns()
returns text[]
language sql
immutable
parallel safe
as $$
    select array[
        'id', 'created_at', 'assigned_agent_id',
        'claim_timer_started_at', 'claim_timer_expires_at', 'claim_window_expires_at',
        'contact_timer_started_at', 'contact_timer_expires_at',
        'claim_sla_breached', 'contact_sla_breached', 'sla_breached',
        'reassignment_count', 'previous_agent_id', 'reassignment_reason', 'reassigned_at',
        'sla_escalated_at', 'sla_policy_id', 'sla_timer_window', 'sla_timer_calendar_id',
        'sla_waiting_since', 'sla_warn_at', 'sla_warned_at', 'sla_step_at', 'sla_step_done',
        'sla_paused_at', 'sla_paused_left', 'sla_paused_warn_left', 'sla_paused_step_left', 'sla_paused_total',
        'sla_snoozed_until'
    ]::text[]
$$;

comment on function public.crm_sla_engine_columns() is
'The columns of crm_leads only the engine writes: an UPDATE of one by an API role raises SL009';

revoke execute on function public.crm_sla_engine_columns()
from public, anon, authenticated, service_role;
