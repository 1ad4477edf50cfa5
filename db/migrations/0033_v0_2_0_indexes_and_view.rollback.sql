-- Undo 0033_v0_2_0_indexes_and_view: the lead card view as release 0.1.0 made it, and no new
-- index.
drop view if exists public.crm_lead_sla_timers;

create or replace view public.crm_lead_sla_timers
with (security_invoker = true) as
with clock as (
    select public.sla_now() as now
),

cards as (
    select
        l.id,
        l.assigned_agent_id,
        l.claim_sla_breached,
        l.contact_sla_breached,
        l.sla_breached,
        l.reassignment_count,
        l.reassignment_reason,
        l.reassigned_at,
        l.previous_agent_id,
        l.sla_escalated_at,
        l.created_at,
        -- The contract does not fix a name column; use the CRM's full_name when it has one.
        to_jsonb(l) ->> 'full_name' as lead_name,
        case
            when l.first_action_completed then 'done'
            when l.sla_escalated_at is not null then 'escalated'
            when l.lead_claimed then 'contact'
            else 'claim'
        end as stage,
        case
            when l.first_action_completed or l.sla_escalated_at is not null then null
            when l.lead_claimed then l.contact_timer_started_at
            else l.claim_timer_started_at
        end as timer_started_at,
        case
            when l.first_action_completed or l.sla_escalated_at is not null then null
            when l.lead_claimed then l.contact_timer_expires_at
            else l.claim_timer_expires_at
        end as timer_expires_at
    from public.crm_leads as l
)

select
    k.id as lead_id,
    k.lead_name,
    k.assigned_agent_id,
    a.full_name as agent_name,
    k.stage,
    k.timer_started_at,
    k.timer_expires_at,
    k.sla_breached,
    k.reassignment_reason,
    k.reassigned_at,
    k.previous_agent_id,
    k.sla_escalated_at,
    k.created_at,
    c.now as sla_now,
    extract(epoch from k.timer_expires_at - c.now)::numeric(12, 3) as seconds_left,
    coalesce(k.claim_sla_breached, false) as claim_sla_breached,
    coalesce(k.contact_sla_breached, false) as contact_sla_breached,
    coalesce(k.reassignment_count, 0) as reassignment_count
from cards as k
cross join clock as c
left join public.crm_agents as a on k.assigned_agent_id = a.id;

comment on view public.crm_lead_sla_timers is
'One row per lead for a lead card: stage (claim, contact, done, escalated), the running timer '
'and seconds left on the SLA clock (negative when overdue). security_invoker: an agent sees only '
'its own leads through it.';

revoke all on public.crm_lead_sla_timers from public, anon, authenticated, service_role;

grant select on public.crm_lead_sla_timers to authenticated, service_role;

drop index if exists public.crm_leads_waiting_idx;
drop index if exists public.crm_leads_open_by_agent_idx;
drop index if exists public.idx_crm_leads_sla_warn_due;
