-- Availability: agents' absences (out of office). Routing skips an agent while sla_now() is
-- inside one of its absences; an agent reads, inserts and deletes its own rows, admins all.
-- depends: 0037_policy_match_lookup

create table if not exists public.crm_sla_agent_absences (
    id uuid primary key default gen_random_uuid(),
    agent_id uuid not null references public.crm_agents (id) on delete cascade,
    starts_at timestamptz not null,
    ends_at timestamptz not null,
    reason text,
    check (ends_at > starts_at)
);

comment on table public.crm_sla_agent_absences is
'Absences (out of office): routing skips the agent from starts_at until ends_at, and the monitor '
'hands its unclaimed leads over (reason unavailable) when one starts';
comment on column public.crm_sla_agent_absences.agent_id is
'The absent agent (an agent manages its own absences, admins every agent''s)';
comment on column public.crm_sla_agent_absences.starts_at is
'When the absence starts (SLA clock, sla_now()): from then on the agent is not routed leads';
comment on column public.crm_sla_agent_absences.ends_at is
'When the absence ends (exclusive): the agent takes its weighted share again, no catch-up burst';
comment on column public.crm_sla_agent_absences.reason is
'Free text for people (vacation, sick day), at most 500 characters; the engine does not read it';

-- Routing reads the absences that have not ended; the foreign key's cascade reads by agent.
create index if not exists crm_sla_agent_absences_ends_idx
on public.crm_sla_agent_absences (ends_at, agent_id);
create index if not exists crm_sla_agent_absences_agent_idx
on public.crm_sla_agent_absences (agent_id, starts_at);

alter table public.crm_sla_agent_absences enable row level security;

revoke all on public.crm_sla_agent_absences from public, anon, authenticated, service_role;

grant select, insert, update, delete on public.crm_sla_agent_absences
to authenticated, service_role;

drop policy if exists "Agents read their own absences" on public.crm_sla_agent_absences;
create policy "Agents read their own absences"
on public.crm_sla_agent_absences for select to authenticated
using (agent_id = (select auth.uid()));
drop policy if exists "Agents add their own absences" on public.crm_sla_agent_absences;
create policy "Agents add their own absences"
on public.crm_sla_agent_absences for insert to authenticated
with check (agent_id = (select auth.uid()));
drop policy if exists "Agents delete their own absences" on public.crm_sla_agent_absences;
create policy "Agents delete their own absences"
on public.crm_sla_agent_absences for delete to authenticated
using (agent_id = (select auth.uid()));
drop policy if exists "Admins manage absences" on public.crm_sla_agent_absences;
create policy "Admins manage absences"
on public.crm_sla_agent_absences for all to authenticated
using ((select public.is_admin((select auth.uid()))))
with check ((select public.is_admin((select auth.uid()))));
drop policy if exists "Service role manages absences" on public.crm_sla_agent_absences;
create policy "Service role manages absences"
on public.crm_sla_agent_absences for all to service_role
using (true) with check (true);

comment on policy "Agents read their own absences" on public.crm_sla_agent_absences is
'An agent reads its own out-of-office entries';
comment on policy "Agents add their own absences" on public.crm_sla_agent_absences is
'An agent sets its own out of office (self-service), for itself only';
comment on policy "Agents delete their own absences" on public.crm_sla_agent_absences is
'An agent removes its own out-of-office entries (back early, plans changed)';
comment on policy "Admins manage absences" on public.crm_sla_agent_absences is
'Admins read and write every agent''s absences';
comment on policy "Service role manages absences" on public.crm_sla_agent_absences is
'The service role (an HR sync, a scheduler) reads and writes every absence';
