-- The SLA ladder and the manager chain (version 3): managers on agents and teams, a policy's
-- steps (reminders at a share of a window), what a policy does on a breach, Slack-formatted
-- webhooks, and the two engine-owned columns that plan a lead's next step. Nullable columns and
-- constant defaults only: no rewrite of crm_leads. Safe to run twice.
-- depends: 0043_ownership_routing

alter table public.crm_sla_agent_routing
add column if not exists manager_id uuid references public.crm_agents (id) on delete set null;

comment on column public.crm_sla_agent_routing.manager_id is
'The agent''s manager (first in its manager chain); NULL: its first team''s manager, if any';

alter table public.crm_sla_teams
add column if not exists manager_id uuid references public.crm_agents (id) on delete set null;

comment on column public.crm_sla_teams.manager_id is
'The team''s manager: the manager of members without one of their own (first team by name)';

alter table public.crm_sla_policies
add column if not exists on_breach text not null default 'reassign';

do $$
begin
    if not exists (
        select from pg_catalog.pg_constraint
        where conname = 'crm_sla_policies_on_breach_check'
            and conrelid = 'public.crm_sla_policies'::regclass
    ) then
        alter table public.crm_sla_policies add constraint crm_sla_policies_on_breach_check
        check (on_breach in ('reassign', 'manager', 'flag'));
    end if;
end
$$;

comment on column public.crm_sla_policies.on_breach is
'On a breach: reassign (to the next eligible agent), manager (to the first eligible agent in the '
'owner''s manager chain, else as reassign) or flag (breach flags and a breached event, no move)';

create table if not exists public.crm_sla_policy_steps (
    id uuid primary key default gen_random_uuid(),
    policy_id uuid references public.crm_sla_policies (id) on delete cascade,
    stage text not null check (stage in ('claim_window', 'contact_window')),
    at numeric not null check (at > 0 and at < 1),
    notify text not null check (notify in ('owner', 'manager')),
    name text not null,
    constraint crm_sla_policy_steps_name_key unique nulls not distinct (policy_id, stage, name)
);

comment on table public.crm_sla_policy_steps is
'The SLA ladder: at share `at` of a running timer''s window (open time) a `step` event for the '
'owner or its manager, once per timer run';
comment on column public.crm_sla_policy_steps.policy_id is
'The policy whose timers take this step; NULL: the steps of leads without a policy';
comment on column public.crm_sla_policy_steps.stage is
'The timer it belongs to: claim_window or contact_window';
comment on column public.crm_sla_policy_steps.at is
'Share of the window (0 < at < 1, open time) after which the step is taken';
comment on column public.crm_sla_policy_steps.notify is
'Who the step event is for: owner, or manager (the first active agent in the owner''s chain)';
comment on column public.crm_sla_policy_steps.name is
'The step''s name, payload.step of its events (unique per policy and stage)';

create index if not exists idx_crm_sla_policy_steps_policy
on public.crm_sla_policy_steps (policy_id, stage, at);

alter table public.crm_sla_policy_steps enable row level security;

revoke all on public.crm_sla_policy_steps from public, anon, authenticated, service_role;
grant select, insert, update, delete on public.crm_sla_policy_steps to authenticated, service_role;

drop policy if exists "Signed-in users read policy steps" on public.crm_sla_policy_steps;
create policy "Signed-in users read policy steps"
on public.crm_sla_policy_steps for select to authenticated using (true);
comment on policy "Signed-in users read policy steps" on public.crm_sla_policy_steps is
'Agents and admins read the ladder steps (as they read policies)';

drop policy if exists "Admins manage crm_sla_policy_steps" on public.crm_sla_policy_steps;
create policy "Admins manage crm_sla_policy_steps"
on public.crm_sla_policy_steps for all to authenticated
using ((select public.is_admin((select auth.uid()))))
with check ((select public.is_admin((select auth.uid()))));
comment on policy "Admins manage crm_sla_policy_steps" on public.crm_sla_policy_steps is
'Admins read and write every row';

drop policy if exists "Service role manages crm_sla_policy_steps" on public.crm_sla_policy_steps;
create policy "Service role manages crm_sla_policy_steps"
on public.crm_sla_policy_steps for all to service_role using (true) with check (true);
comment on policy "Service role manages crm_sla_policy_steps" on public.crm_sla_policy_steps is
'The service role (back office, intake) reads and writes every row';

alter table public.crm_sla_webhooks
add column if not exists format text not null default 'standard';

do $$
begin
    if not exists (
        select from pg_catalog.pg_constraint
        where conname = 'crm_sla_webhooks_format_check'
            and conrelid = 'public.crm_sla_webhooks'::regclass
    ) then
        alter table public.crm_sla_webhooks add constraint crm_sla_webhooks_format_check
        check (format in ('standard', 'slack'));
    end if;
end
$$;

comment on column public.crm_sla_webhooks.format is
'Body sent: standard (the event''s JSON payload) or slack ({"text": one sentence})';

grant select (format) on public.crm_sla_webhooks to authenticated, service_role;

-- The lead's next ladder step (engine-owned): one instant, on a partial index (0045), shifted
-- like sla_warn_at; and the share of the window the steps taken in this timer run reached.
alter table public.crm_leads
add column if not exists sla_step_at timestamptz,
add column if not exists sla_step_done numeric;

comment on column public.crm_leads.sla_step_at is
'When the running timer''s next ladder step falls due (engine-owned); NULL: none left';
comment on column public.crm_leads.sla_step_done is
'The `at` of the last ladder step taken in this timer run (engine-owned); NULL: none yet';
