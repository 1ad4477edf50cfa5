-- The SLA engine's own state: the SLA clock, the routing queue, the escalation marker.
-- depends: 0002_dual_stage_sla

create table if not exists public.crm_sla_clock (
    id boolean primary key default true check (id),
    travelled interval not null default '0' check (travelled >= interval '0')
);

comment on table public.crm_sla_clock is
'The SLA clock''s offset from the wall clock (one row); zero in production, moved by tests';

insert into public.crm_sla_clock (id) values (true)
on conflict (id) do nothing;

alter table public.crm_sla_clock enable row level security;

revoke all on public.crm_sla_clock from public, anon, authenticated, service_role;

grant select on public.crm_sla_clock to authenticated, service_role;

drop policy if exists "Signed-in users read the SLA clock" on public.crm_sla_clock;

create policy "Signed-in users read the SLA clock"
on public.crm_sla_clock for select to authenticated, service_role
using (true);

create table if not exists public.crm_sla_agent_state (
    agent_id uuid primary key references public.crm_agents (id) on delete cascade,
    last_routed_seq bigint not null,
    leads_routed bigint not null default 0
);

comment on table public.crm_sla_agent_state is
'Routing state: when each agent was last routed a lead (round robin); engine-internal';

alter table public.crm_sla_agent_state enable row level security;

revoke all on public.crm_sla_agent_state from public, anon, authenticated, service_role;

alter table public.crm_leads
add column if not exists sla_escalated_at timestamptz;

comment on column public.crm_leads.sla_escalated_at is
'When the monitor escalated the lead to an admin; the monitor no longer moves it';

comment on column public.crm_leads.claim_sla_breached is
'True once an owner missed the claim window (stays set after reassignment)';

comment on column public.crm_leads.contact_sla_breached is
'True once an owner missed the contact window (stays set after reassignment)';

comment on column public.crm_leads.reassignment_count is
'How many times the lead changed owner (one audit row each)';

comment on column public.crm_leads.previous_agent_id is
'The owner before the latest reassignment';

comment on column public.crm_leads.reassignment_reason is
'Why the latest reassignment happened: unclaimed, no_contact or manual';

comment on column public.crm_leads.reassigned_at is
'When the latest reassignment happened (SLA clock)';

-- Leads that arrived while nobody could take them; the monitor routes them.
create index if not exists crm_leads_unowned_idx
on public.crm_leads (created_at)
where assigned_agent_id is null;
