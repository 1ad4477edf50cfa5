-- Stop the clock, after 0048: the monitor's index of snoozes (the earliest end, read off its first
-- entry), and the lead card view's pause: timer_paused also for a status pause or a snooze, and
-- (at the end) paused_reason and resumes_at; seconds_left shows what a paused timer has left.
-- The index is built apart from 0048's ALTER TABLE (a SHARE lock on crm_leads while it is built:
-- reads go on). Safe to run twice.
-- depends: 0048_stop_the_clock

create index if not exists crm_leads_snoozed_idx
on public.crm_leads (sla_snoozed_until)
where sla_snoozed_until is not null;

comment on index public.crm_leads_snoozed_idx is
'Snoozed leads by the end of their snooze: the monitor resumes them then';

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

comment on view public.crm_lead_sla_timers is
'One row per lead for a lead card: stage (claim, contact, done, escalated), its SLA policy, the '
'running timer, seconds left in its calendar''s open time on the SLA clock (negative when '
'overdue; while paused, what was left), whether it is paused (paused_reason: closed calendar, '
'status, snoozed) until resumes_at, and its warning '
'(timer_warn_at, timer_warned). security_invoker: an agent sees only its own leads through it.';

comment on column public.crm_lead_sla_timers.seconds_left is
'Open time left on the running timer, in seconds (its calendar''s open time; negative: overdue)';
comment on column public.crm_lead_sla_timers.timer_paused is
'True while the running timer does not count: its calendar is closed, its policy''s pause_when '
'matches the lead, or it is snoozed (paused_reason)';
comment on column public.crm_lead_sla_timers.paused_reason is
'Why the timer is paused: closed (its calendar''s closed time), status (the policy''s pause_when '
'matches the lead), snoozed (crm_sla_snooze); NULL while it counts';
comment on column public.crm_lead_sla_timers.resumes_at is
'When the paused timer counts again, where known: the snooze''s end, the calendar''s next '
'opening; NULL for a status pause (until the lead changes) and while it counts';
comment on column public.crm_lead_sla_timers.timer_resumes_at is
'When a paused timer counts again (the calendar''s next opening); NULL when it counts now';
comment on column public.crm_lead_sla_timers.timer_warn_at is
'When the running timer warns (warn_at of its window used, in its calendar''s open time); NULL '
'when it does not (its policy''s warn_at is NULL, or no timer runs)';
comment on column public.crm_lead_sla_timers.timer_warned is
'True once the running timer''s warning event was written (the board turns the card amber)';

revoke all on public.crm_lead_sla_timers from public, anon, authenticated, service_role;

grant select on public.crm_lead_sla_timers to authenticated, service_role;
