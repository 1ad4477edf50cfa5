-- A sales CRM made the usual Supabase way, in the dashboard's SQL editor, as `postgres` (no longer
-- a superuser): agents are auth.users (crm_agents.id references auth.users), both tables have the
-- dashboard's default row-level security, Supabase's default privileges grant the API roles ALL
-- on them, the CRM has its own is_admin(), and it already holds a team and leads. crm_leads has
-- exactly the baseline's columns and no others, so the pgTAP suite has nothing more to lean
-- on. Written for crm-sla's Supabase fixture (tests/test_supabase.py); not from Supabase.
create table public.crm_agents (
    id uuid primary key references auth.users (id) on delete cascade,
    full_name text not null,
    email text unique,
    role text not null default 'agent' check (role in ('agent', 'admin', 'system')),
    is_active boolean not null default true,
    accepting_leads boolean not null default true,
    created_at timestamptz not null default now()
);
alter table public.crm_agents enable row level security;

create policy "Agents can view their own profile"
on public.crm_agents for select to authenticated
using (id = auth.uid());

create table public.crm_leads (
    id uuid primary key default gen_random_uuid(),
    assigned_agent_id uuid references public.crm_agents (id),
    lead_claimed boolean not null default false,
    first_action_completed boolean not null default false,
    claim_window_expires_at timestamptz,
    sla_breached boolean not null default false,
    created_at timestamptz not null default now()
);
alter table public.crm_leads enable row level security;

create function public.is_admin(uid uuid) returns boolean
language sql stable security definer
set search_path = ''
as $$
    select exists (
        select from public.crm_agents
        where id = uid and role = 'admin' and is_active
    )
$$;

-- The team signed up through Supabase Auth (GoTrue writes these rows), then became agents.
insert into auth.users (instance_id, id, aud, role, email, created_at, updated_at) values
('00000000-0000-0000-0000-000000000000', 'c0000000-0000-4000-8000-000000000001',
    'authenticated', 'authenticated', 'ada@example.com', now(), now()),
('00000000-0000-0000-0000-000000000000', 'c0000000-0000-4000-8000-000000000002',
    'authenticated', 'authenticated', 'bo@example.com', now(), now()),
('00000000-0000-0000-0000-000000000000', 'c0000000-0000-4000-8000-000000000003',
    'authenticated', 'authenticated', 'cy@example.com', now(), now());

insert into public.crm_agents (id, full_name, email, role) values
('c0000000-0000-4000-8000-000000000001', 'Ada', 'ada@example.com', 'agent'),
('c0000000-0000-4000-8000-000000000002', 'Bo', 'bo@example.com', 'agent'),
('c0000000-0000-4000-8000-000000000003', 'Cy', 'cy@example.com', 'admin');

-- Leads from before the SLA engine: new, claimed, contacted.
insert into public.crm_leads (id, assigned_agent_id, lead_claimed, first_action_completed) values
('c1000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', false, false),
('c1000000-0000-4000-8000-000000000002', 'c0000000-0000-4000-8000-000000000002', true, false),
('c1000000-0000-4000-8000-000000000003', 'c0000000-0000-4000-8000-000000000001', true, true);
