-- What is due, stated once: the instant a lead's running SLA timer breaches, from its timer
-- columns. The claim deadline while the lead is unclaimed, the contact deadline once it is
-- claimed, NULL when no timer runs (first contact made, escalated, clock stopped: a paused timer
-- keeps no deadline, a flagged breach clears its own). crm_leads_sla_breach_idx indexes it;
-- queries read it through crm_sla_breach_at(lead), which passes a row's columns.
create or replace function public.crm_sla_breach_at_columns(
    p_lead_claimed boolean,
    p_first_action_completed boolean,
    p_sla_escalated_at timestamptz,
    p_claim_timer_expires_at timestamptz,
    p_contact_timer_expires_at timestamptz
)
returns timestamptz
language sql
immutable
parallel safe
as $$
    -- Plain SQL without SET clauses, so the planner inlines it: queries and the index see this
    -- CASE on the columns. A change to it needs a REINDEX of crm_leads_sla_breach_idx in the
    -- same migration (the index stores what it returned).
    select case
        when p_sla_escalated_at is not null or p_first_action_completed then null
        when p_lead_claimed then p_contact_timer_expires_at
        else p_claim_timer_expires_at
    end
$$;

comment on function public.crm_sla_breach_at_columns(
    boolean, boolean, timestamptz, timestamptz, timestamptz
) is
'What is due: the instant a running SLA timer breaches (claim or contact deadline), from a lead''s '
'timer columns; NULL when no timer runs. Indexed by crm_leads_sla_breach_idx';

-- Pure arithmetic on its arguments. The index evaluates it on every write of crm_leads by any
-- role (a CRM's own importer too) and the lead card view (security_invoker) calls it as the
-- agent: a function the planner cannot execute is not inlined, and then the write fails. So it
-- stays executable by every role, the one exception to "internal functions are not executable
-- by API roles": it reads nothing and returns what its arguments already say.
revoke execute on function public.crm_sla_breach_at_columns(
    boolean, boolean, timestamptz, timestamptz, timestamptz
) from public, anon, authenticated, service_role;
grant execute on function public.crm_sla_breach_at_columns(
    boolean, boolean, timestamptz, timestamptz, timestamptz
) to public;
