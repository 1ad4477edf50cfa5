-- What is due for a lead: the instant its running SLA timer breaches (crm_sla_breach_at_columns
-- states the rule), as queries write it: public.crm_sla_breach_at(l) <= v_now. Plain SQL, so the
-- planner inlines it down to the row's columns and finds crm_leads_sla_breach_idx. Read by the
-- monitor (idle test, candidates, the locked row's re-check, counts), crm_sla_next_due, the
-- warnings and ladder steps, and the lead card view.
create or replace function public.crm_sla_breach_at(p_lead public.crm_leads)
returns timestamptz
language sql
immutable
parallel safe
as $$
    select public.crm_sla_breach_at_columns(
        p_lead.lead_claimed, p_lead.first_action_completed, p_lead.sla_escalated_at,
        p_lead.claim_timer_expires_at, p_lead.contact_timer_expires_at
    )
$$;

comment on function public.crm_sla_breach_at(public.crm_leads) is
'What is due: the instant the lead''s running SLA timer breaches; NULL when no timer runs';

-- Executable by every role, like crm_sla_breach_at_columns (which says why): the lead card view
-- (security_invoker) calls it as the agent.
revoke execute on function public.crm_sla_breach_at(public.crm_leads)
from public, anon, authenticated, service_role;
grant execute on function public.crm_sla_breach_at(public.crm_leads) to public;
