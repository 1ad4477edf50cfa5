-- Undoes 0049_stop_the_clock_view: the lead card view as 0033_v0_2_0_indexes_and_view made it,
-- and the index of snoozes.

drop index if exists public.crm_leads_snoozed_idx;

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
        l.sla_policy_id,
        l.sla_timer_calendar_id,
        l.sla_warn_at,
        l.sla_warned_at,
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
    t.seconds_left::numeric(12, 3) as seconds_left,
    p.name as policy_name,
    t.resumes_at as timer_resumes_at,
    coalesce(k.claim_sla_breached, false) as claim_sla_breached,
    coalesce(k.contact_sla_breached, false) as contact_sla_breached,
    coalesce(k.reassignment_count, 0) as reassignment_count,
    t.resumes_at is not null as timer_paused,
    case when k.timer_expires_at is not null then k.sla_warn_at end as timer_warn_at,
    coalesce(k.timer_expires_at is not null and k.sla_warned_at is not null, false) as timer_warned
from cards as k
cross join clock as c
left join public.crm_agents as a on k.assigned_agent_id = a.id
left join public.crm_sla_policies as p on k.sla_policy_id = p.id
cross join lateral public.crm_sla_timer_left(
    k.sla_timer_calendar_id, c.now, k.timer_expires_at
) as t;

comment on view public.crm_lead_sla_timers is
'One row per lead for a lead card: stage (claim, contact, done, escalated), its SLA policy, the '
'running timer, seconds left in its calendar''s open time on the SLA clock (negative when '
'overdue), whether it is paused (calendar closed) until timer_resumes_at, and its warning '
'(timer_warn_at, timer_warned). security_invoker: an agent sees only its own leads through it.';

comment on column public.crm_lead_sla_timers.seconds_left is
'Open time left on the running timer, in seconds (its calendar''s open time; negative: overdue)';
comment on column public.crm_lead_sla_timers.timer_paused is
'True while the running timer''s calendar is closed: the timer does not count now';
comment on column public.crm_lead_sla_timers.timer_resumes_at is
'When a paused timer counts again (the calendar''s next opening); NULL when it counts now';
comment on column public.crm_lead_sla_timers.timer_warn_at is
'When the running timer warns (warn_at of its window used, in its calendar''s open time); NULL '
'when it does not (its policy''s warn_at is NULL, or no timer runs)';
comment on column public.crm_lead_sla_timers.timer_warned is
'True once the running timer''s warning event was written (the board turns the card amber)';

revoke all on public.crm_lead_sla_timers from public, anon, authenticated, service_role;

grant select on public.crm_lead_sla_timers to authenticated, service_role;
