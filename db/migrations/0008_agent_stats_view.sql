-- The managers' view: per-agent SLA statistics over the last 24 hours of the SLA clock.
-- For another period call crm_agent_sla_stats(p_from, p_to).
-- depends: 0007_operations_functions

create or replace view public.crm_agent_sla_stats
with (security_invoker = true) as
select
    s.agent_id,
    s.full_name,
    s.leads_received,
    s.received_by_reassignment,
    s.claimed_in_window,
    s.claimed_late,
    s.contacted_in_window,
    s.contacted_late,
    s.missed_claim,
    s.missed_contact,
    s.reassigned_away,
    s.breach_rate,
    s.median_seconds_to_claim,
    s.median_seconds_to_contact
from public.crm_agent_sla_stats() as s;

comment on view public.crm_agent_sla_stats is
'Per-agent SLA statistics over the last 24 hours (admins and the service role)';

revoke all on public.crm_agent_sla_stats from public, anon, authenticated, service_role;

grant select on public.crm_agent_sla_stats to authenticated, service_role;
