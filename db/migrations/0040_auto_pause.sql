-- Availability: pause an agent who keeps missing its claim windows. The setting, and the
-- engine's count of each agent's claim windows missed in a row (a claim resets it).
-- depends: 0039_reassignment_reasons

alter table public.crm_sla_settings
add column if not exists auto_pause_after integer check (auto_pause_after > 0);

comment on column public.crm_sla_settings.auto_pause_after is
'After this many claim windows missed in a row (no claim in between) an agent stops accepting '
'leads (accepting_leads = false) and an agent_paused event names it; NULL: never';

-- A table of its own, not a column of crm_sla_agent_state: a claim resets the count, and a claim
-- must never wait on a row the router holds (the monitor skips a count a claim holds).
create table if not exists public.crm_sla_agent_misses (
    agent_id uuid primary key references public.crm_agents (id) on delete cascade,
    missed_claims integer not null default 0 check (missed_claims >= 0)
);

comment on table public.crm_sla_agent_misses is
'Engine-owned: claim windows each agent missed in a row, for crm_sla_settings.auto_pause_after';
comment on column public.crm_sla_agent_misses.missed_claims is
'Leads moved away from this agent unclaimed (window missed) since its last claim or pause';

alter table public.crm_sla_agent_misses enable row level security;

revoke all on public.crm_sla_agent_misses from public, anon, authenticated, service_role;
