-- The seed's dual-stage SLA migration (shared/seed/dual-stage-sla-migration.md), faithfully:
-- the same columns, types, defaults, indexes, table, constraints and comments. Two fixes, as the
-- SPEC says: each policy is dropped if it exists before it is created, so this is safe to run
-- twice, and the seed's insert policy (WITH CHECK (true) for every role) is replaced by one for
-- the service role only.
-- depends: 0001_baseline

-- Stage 1: Claim Window columns
alter table public.crm_leads
add column if not exists claim_timer_started_at timestamptz,
add column if not exists claim_timer_expires_at timestamptz,
add column if not exists claim_sla_breached boolean default false;

-- Stage 2: Contact Window columns
alter table public.crm_leads
add column if not exists contact_timer_started_at timestamptz,
add column if not exists contact_timer_expires_at timestamptz,
add column if not exists contact_sla_breached boolean default false;

-- Reassignment tracking columns
alter table public.crm_leads
add column if not exists reassignment_count integer default 0,
add column if not exists previous_agent_id uuid references public.crm_agents (id),
add column if not exists reassignment_reason text,
add column if not exists reassigned_at timestamptz;

-- Partial indexes for timer queries
create index if not exists idx_crm_leads_claim_timer_expires
on public.crm_leads (claim_timer_expires_at)
where claim_timer_expires_at is not null and lead_claimed = false;

create index if not exists idx_crm_leads_contact_timer_expires
on public.crm_leads (contact_timer_expires_at)
where contact_timer_expires_at is not null and first_action_completed = false;

-- Reassignment history table
create table if not exists public.crm_lead_reassignments (
    id uuid primary key default gen_random_uuid(),
    lead_id uuid not null references public.crm_leads (id) on delete cascade,
    from_agent_id uuid references public.crm_agents (id),
    to_agent_id uuid not null references public.crm_agents (id),
    reassigned_by uuid not null references public.crm_agents (id),
    reason text not null check (reason in ('unclaimed', 'no_contact', 'manual')),
    stage text not null check (stage in ('claim_window', 'contact_window', 'manual')),
    notes text,
    created_at timestamptz default now()
);

-- Indexes for reassignment queries
create index if not exists idx_reassignments_lead
on public.crm_lead_reassignments (lead_id, created_at desc);

create index if not exists idx_reassignments_from_agent
on public.crm_lead_reassignments (from_agent_id, created_at desc);

create index if not exists idx_reassignments_to_agent
on public.crm_lead_reassignments (to_agent_id, created_at desc);

-- Enable RLS
alter table public.crm_lead_reassignments enable row level security;

-- RLS policies, written the cheap way: auth.uid() evaluated once per statement, scoped by role.
drop policy if exists "Admins can view all reassignments" on public.crm_lead_reassignments;

create policy "Admins can view all reassignments"
on public.crm_lead_reassignments for select to authenticated
using ((select public.is_admin((select auth.uid()))));

drop policy if exists "Agents can view own reassignments" on public.crm_lead_reassignments;

create policy "Agents can view own reassignments"
on public.crm_lead_reassignments for select to authenticated
using (
    from_agent_id = (select auth.uid()) or to_agent_id = (select auth.uid())
);

drop policy if exists "Service role can insert reassignments" on public.crm_lead_reassignments;

create policy "Service role can insert reassignments"
on public.crm_lead_reassignments for insert to service_role
with check (true);

drop policy if exists "Service role can read reassignments" on public.crm_lead_reassignments;

create policy "Service role can read reassignments"
on public.crm_lead_reassignments for select to service_role
using (true);

-- Table privileges: Supabase grants ALL to the API roles by default; take it back, then grant.
revoke all on public.crm_lead_reassignments from public, anon, authenticated, service_role;

grant select on public.crm_lead_reassignments to authenticated;

grant select, insert on public.crm_lead_reassignments to service_role;

-- Column documentation
comment on column public.crm_leads.claim_timer_started_at is
'When the lead was created and claim window started';

comment on column public.crm_leads.claim_timer_expires_at is
'When the 5-minute claim window expires (5 min after creation)';

comment on column public.crm_leads.contact_timer_started_at is
'When the lead was claimed and contact window started';

comment on column public.crm_leads.contact_timer_expires_at is
'When the 5-minute contact window expires (5 min after claim)';

comment on table public.crm_lead_reassignments is
'Append-only audit trail: one row per reassignment of a lead, written by the SLA engine';

comment on policy "Admins can view all reassignments" on public.crm_lead_reassignments is
'Admins read every audit row';

comment on policy "Agents can view own reassignments" on public.crm_lead_reassignments is
'An agent reads the rows where it lost or received the lead';

comment on policy "Service role can insert reassignments" on public.crm_lead_reassignments is
'Replaces the seed''s WITH CHECK (true) for all: only the service role (and the engine) write';

comment on policy "Service role can read reassignments" on public.crm_lead_reassignments is
'The service role reads every audit row';
