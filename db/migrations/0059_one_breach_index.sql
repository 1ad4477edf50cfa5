-- What is due, one index: crm_leads_sla_breach_idx orders the leads whose timer runs by
-- crm_sla_breach_at (0058), which the monitor's idle test, candidates and counts and
-- crm_sla_next_due read; it replaces the seed's two partial indexes (claim and contact timers),
-- which stated the rule a second and third time. The lead card view reads its deadline from the
-- same function. No table rewrite; CREATE INDEX holds a SHARE lock on crm_leads while it builds
-- (reads go on, writes wait): see CHANGELOG for the time at 1,000,000 leads. Plain CREATE
-- INDEX: migrations run in a transaction. Safe to run twice.
-- depends: 0058_breach_at

create index if not exists crm_leads_sla_breach_idx
on public.crm_leads (public.crm_sla_breach_at_columns(
    lead_claimed, first_action_completed, sla_escalated_at, claim_timer_expires_at,
    contact_timer_expires_at
), id)
where public.crm_sla_breach_at_columns(
    lead_claimed, first_action_completed, sla_escalated_at, claim_timer_expires_at,
    contact_timer_expires_at
) is not null;

comment on index public.crm_leads_sla_breach_idx is
'What is due: leads whose SLA timer runs, by the instant it breaches (crm_sla_breach_at), then id';

drop index if exists public.idx_crm_leads_claim_timer_expires;

drop index if exists public.idx_crm_leads_contact_timer_expires;

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
        l.sla_policy_id,
        l.sla_timer_calendar_id,
        l.sla_warn_at,
        l.sla_warned_at,
        l.sla_paused_at,
        l.sla_paused_left,
        l.sla_snoozed_until,
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
        public.crm_sla_breach_at(l) as timer_expires_at
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
    w.seconds_left::numeric(12, 3) as seconds_left,
    p.name as policy_name,
    t.resumes_at as timer_resumes_at,
    coalesce(k.claim_sla_breached, false) as claim_sla_breached,
    coalesce(k.contact_sla_breached, false) as contact_sla_breached,
    coalesce(k.reassignment_count, 0) as reassignment_count,
    t.resumes_at is not null or k.sla_paused_at is not null as timer_paused,
    case when k.timer_expires_at is not null then k.sla_warn_at end as timer_warn_at,
    coalesce(k.timer_expires_at is not null and k.sla_warned_at is not null, false) as timer_warned,
    case
        when k.sla_paused_at is not null and k.sla_snoozed_until > c.now then 'snoozed'
        when k.sla_paused_at is not null then 'status'
        when t.resumes_at is not null then 'closed'
    end as paused_reason,
    case
        when k.sla_paused_at is not null and k.sla_snoozed_until > c.now then k.sla_snoozed_until
        when k.sla_paused_at is null then t.resumes_at
    end as resumes_at
from cards as k
cross join clock as c
left join public.crm_agents as a on k.assigned_agent_id = a.id
left join public.crm_sla_policies as p on k.sla_policy_id = p.id
cross join
    lateral public.crm_sla_timer_left(
        k.sla_timer_calendar_id, c.now, k.timer_expires_at
    ) as t
-- A paused timer has no deadline: it shows the open time it keeps.
cross join lateral (
    values (coalesce(t.seconds_left, extract(epoch from k.sla_paused_left)))
) as w (seconds_left);
