-- Operations: the SLA event log (claims and first actions, for per-agent statistics) and the
-- view a lead card reads its two timers from.
-- depends: 0005_crm_leads_security

create table if not exists public.crm_lead_sla_events (
    id bigint generated always as identity primary key,
    lead_id uuid not null references public.crm_leads (id) on delete cascade,
    agent_id uuid references public.crm_agents (id),
    event text not null check (event in ('claimed', 'contacted')),
    at timestamptz not null,
    elapsed interval not null,
    late boolean not null
);

comment on table public.crm_lead_sla_events is
'Append-only log of claims and first actions (who, when, how long it took, late or not)';

comment on column public.crm_lead_sla_events.elapsed is
'Time from the start of the window (claim or contact) to the event';

create index if not exists idx_crm_lead_sla_events_agent
on public.crm_lead_sla_events (agent_id, at);

create index if not exists idx_crm_lead_sla_events_lead
on public.crm_lead_sla_events (lead_id);

alter table public.crm_lead_sla_events enable row level security;

revoke all on public.crm_lead_sla_events from public, anon, authenticated, service_role;

grant select on public.crm_lead_sla_events to service_role;

drop policy if exists "Service role reads SLA events" on public.crm_lead_sla_events;

create policy "Service role reads SLA events"
on public.crm_lead_sla_events for select to service_role
using (true);

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
