-- Whether an absent agent's lead is to be handed over at p_at: unclaimed, not escalated, its claim
-- window still running (or paused: a paused timer has no deadline; it starts paused with its next
-- owner), and not given to the agent by hand (reassign_lead) during one of its absences under way
-- (the admin's call). The lead's owner being absent is the caller's test. Called by
-- crm_sla_hand_over_absent() twice: unlocked to see whether there is work, and on each row it
-- locks. SQL without SET, so that the planner can inline it; every name is qualified.
create or replace function public.crm_sla_hand_over_due(p_lead public.crm_leads, p_at timestamptz)
returns boolean
language sql
stable
as $$
    select p_lead.lead_claimed = false and p_lead.sla_escalated_at is null
        and (p_lead.claim_timer_expires_at > p_at or p_lead.sla_paused_at is not null)
        and exists (
            select from public.crm_sla_agent_absences as b
            where b.agent_id = p_lead.assigned_agent_id
                and b.ends_at > p_at and b.starts_at <= p_at
                and (
                    coalesce(p_lead.reassignment_reason, '') <> 'manual'
                    or p_lead.reassigned_at < b.starts_at
                )
        )
$$;

comment on function public.crm_sla_hand_over_due(public.crm_leads, timestamptz) is
'Internal: whether an absent agent''s lead is handed over now (unclaimed, running or paused, not '
'given by hand during the absence)';

revoke execute on function public.crm_sla_hand_over_due(public.crm_leads, timestamptz)
from public, anon, authenticated, service_role;
