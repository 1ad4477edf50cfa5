-- Release 0.2.0's tables, columns, grants and policies (the unreleased migrations 0040 to 0089,
-- squashed before the release; see docs/upgrading.md). Only what is quick under the lock that
-- ALTER TABLE takes on crm_leads: new nullable columns, no rewrite, no index build, no backfill.
-- The backfill is 0032_v0_2_0_backfills; the indexes, and the lead card view that needs 0031's
-- functions, are 0033_v0_2_0_indexes_and_view.
-- Safe to run twice. It depends on both of 0.1.0's last migrations, which each depend on 0008.
-- depends: 0020_board_events 0010_engine_speedups

-- The engine's sequences are its own, not the API's: Supabase's default privileges give anon,
-- authenticated and service_role ALL on every new sequence in public, and with it setval(), which
-- could wind crm_lead_sla_events' identity back and make every later claim fail (23505). Nobody
-- but the owner (the engine's triggers) uses them. What they were granted before is recorded, so
-- the rollback gives it back.
call crm_sla_migrations.save_privileges(
    '0030_v0_2_0_tables',
    pg_catalog.pg_get_serial_sequence('public.crm_lead_sla_events', 'id')::regclass
);

revoke all on sequence public.crm_lead_sla_events_id_seq
from public, anon, authenticated, service_role;

-- The baseline let every signed-in user read the whole team ("Signed-in users can see the team",
-- USING (true)): with open sign-ups, any JWT without an agent row read every agent's name, email
-- and role. Now an agent reads its own row, and admins every row (their "Admins can manage
-- agents" policy). Only on a crm_agents the baseline made: a CRM's own table keeps its own
-- policies.
do $$
begin
    if obj_description('public.crm_agents'::regclass, 'pg_class') like '%(crm-sla baseline)%' then
        drop policy if exists "Signed-in users can see the team" on public.crm_agents;
        drop policy if exists "Agents read their own row" on public.crm_agents;
        create policy "Agents read their own row"
        on public.crm_agents for select to authenticated
        using (id = (select auth.uid()));
        comment on policy "Agents read their own row" on public.crm_agents is
        'An agent reads only its own row; admins read every row through "Admins can manage '
        'agents"';
    end if;
end
$$;

-- Pausing the scheduled monitor: a row only the tables' owner and the service role may write,
-- replacing the advisory lock any session could take to pause it.
create table if not exists public.crm_sla_monitor_pause (
    id boolean primary key default true check (id),
    paused_by_pid integer,
    paused_by_backend_start timestamptz,
    paused_at timestamptz,
    paused_by text
);

comment on table public.crm_sla_monitor_pause is
'Pauses run_sla_monitor while the session named here lives (one row; owner and service role only)';

comment on column public.crm_sla_monitor_pause.paused_by_pid is
'The backend that paused the monitor (NULL: not paused); the pause ends when that session ends';

comment on column public.crm_sla_monitor_pause.paused_by_backend_start is
'When that backend started, so that a later backend reusing its pid is not mistaken for it';

comment on column public.crm_sla_monitor_pause.paused_by is
'Who paused it and why, for crm-sla status (for example crm-sla simulate)';

insert into public.crm_sla_monitor_pause (id) values (true)
on conflict (id) do nothing;

alter table public.crm_sla_monitor_pause enable row level security;

revoke all on public.crm_sla_monitor_pause from public, anon, authenticated, service_role;

grant select, update on public.crm_sla_monitor_pause to service_role;

drop policy if exists "Service role pauses the monitor" on public.crm_sla_monitor_pause;

create policy "Service role pauses the monitor"
on public.crm_sla_monitor_pause for all to service_role
using (true) with check (true);

comment on policy "Service role pauses the monitor" on public.crm_sla_monitor_pause is
'Only the service role (and the tables'' owner) may pause or resume the scheduled monitor';

-- Routing serialises on a row only the engine's own functions can lock, replacing the advisory
-- lock any session could take (and so hold up intake of unowned leads and the monitor).
create table if not exists public.crm_sla_routing_lock (
    id boolean primary key default true check (id)
);

comment on table public.crm_sla_routing_lock is
'One row that routing locks (FOR UPDATE) to run one at a time; no API role may lock it';

insert into public.crm_sla_routing_lock (id) values (true)
on conflict (id) do nothing;

alter table public.crm_sla_routing_lock enable row level security;

revoke all on public.crm_sla_routing_lock from public, anon, authenticated, service_role;

-- Version 2 tables: business-hours calendars, teams, per-agent routing and SLA policies, the lead's
-- policy, and the settings' defaults for leads no policy matches.
create table if not exists public.crm_sla_calendars (
    id uuid primary key default gen_random_uuid(),
    name text not null unique,
    time_zone text not null default 'UTC'
);

comment on table public.crm_sla_calendars is
'Business-hours calendars: SLA windows and agent shifts count only their open time';
comment on column public.crm_sla_calendars.time_zone is
'The zone its hours are wall-clock times in (a name from pg_timezone_names); DST is followed';

create table if not exists public.crm_sla_calendar_hours (
    calendar_id uuid not null references public.crm_sla_calendars (id) on delete cascade,
    weekday smallint not null check (weekday between 0 and 6),
    opens time not null,
    closes time not null
);

comment on table public.crm_sla_calendar_hours is
'Open hours per weekday (0 = Sunday), local wall-clock; closes <= opens runs past midnight';
comment on column public.crm_sla_calendar_hours.closes is
'When it closes (24:00 allowed); at or before opens, the interval ends on the next day';

create index if not exists idx_crm_sla_calendar_hours_calendar
on public.crm_sla_calendar_hours (calendar_id, weekday);

create table if not exists public.crm_sla_holidays (
    calendar_id uuid not null references public.crm_sla_calendars (id) on delete cascade,
    day date not null,
    name text,
    primary key (calendar_id, day)
);

comment on table public.crm_sla_holidays is
'Closed days: 00:00 to 24:00 local; an overnight interval is cut at that midnight';

create table if not exists public.crm_sla_teams (
    id uuid primary key default gen_random_uuid(),
    name text not null unique
);

comment on table public.crm_sla_teams is
'Teams: a policy that names one routes its leads only to the team''s members';

create table if not exists public.crm_sla_team_members (
    team_id uuid references public.crm_sla_teams (id) on delete cascade,
    agent_id uuid references public.crm_agents (id) on delete cascade,
    primary key (team_id, agent_id)
);

comment on table public.crm_sla_team_members is
'Which agents belong to which team';

create index if not exists idx_crm_sla_team_members_agent
on public.crm_sla_team_members (agent_id);

create table if not exists public.crm_sla_agent_routing (
    agent_id uuid primary key references public.crm_agents (id) on delete cascade,
    weight numeric not null default 1 check (weight > 0),
    max_open_leads integer check (max_open_leads > 0),
    calendar_id uuid references public.crm_sla_calendars (id)
);

comment on table public.crm_sla_agent_routing is
'Per-agent routing: weight, cap on open leads, shift calendar (no row: weight 1, no cap, no shift)';
comment on column public.crm_sla_agent_routing.weight is
'Share of the leads relative to the other eligible agents (weighted fair order)';
comment on column public.crm_sla_agent_routing.max_open_leads is
'Most open leads (owned, not contacted, not escalated) the agent holds; NULL: no cap';
comment on column public.crm_sla_agent_routing.calendar_id is
'The agent''s shift: routed to only while this calendar is open; NULL: always';

create table if not exists public.crm_sla_policies (
    id uuid primary key default gen_random_uuid(),
    name text not null unique,
    priority integer not null default 100,
    match jsonb not null default '{}',
    claim_window interval not null default '5 minutes',
    contact_window interval not null default '5 minutes',
    max_reassignments integer not null default 3,
    warn_at numeric default 0.8 check (warn_at > 0 and warn_at < 1),
    calendar_id uuid references public.crm_sla_calendars (id),
    team_id uuid references public.crm_sla_teams (id),
    is_active boolean not null default true
);

comment on table public.crm_sla_policies is
'SLA policies: a new lead gets the first active one (by priority, name) that its row contains';
comment on column public.crm_sla_policies.match is
'Contained in the lead''s row (to_jsonb(lead) @> match), e.g. {"lead_source": "web"}';
comment on column public.crm_sla_policies.warn_at is
'Share of a window after which the owner is warned; NULL: no warning';
comment on column public.crm_sla_policies.calendar_id is
'Windows count only this calendar''s open time; NULL: around the clock';
comment on column public.crm_sla_policies.team_id is
'Leads of this policy are routed only to this team''s members; NULL: to anyone';

-- The lead's policy, and its running timer's window and calendar (what re-planning after a
-- calendar edit recomputes its deadline from). No foreign keys on these engine-owned columns: a
-- key check costs each new lead 10 to 25 microseconds (a quarter of intake); the engine alone
-- writes them, a policy in use cannot be deleted (crm_sla_policies_100_in_use) and a timer whose
-- calendar was deleted runs on plain time.
alter table public.crm_leads
add column if not exists sla_policy_id uuid,
add column if not exists sla_timer_window interval,
add column if not exists sla_timer_calendar_id uuid;

comment on column public.crm_leads.sla_policy_id is
'The SLA policy chosen at intake, kept for life (engine-owned); NULL: the settings'' defaults';
comment on column public.crm_leads.sla_timer_window is
'The window of the running timer (claim or contact), as it was when the timer started '
'(engine-owned)';
comment on column public.crm_leads.sla_timer_calendar_id is
'The calendar whose open time the running timer counts; NULL: around the clock (engine-owned)';

alter table public.crm_sla_settings
add column if not exists warn_at numeric default 0.8 check (warn_at > 0 and warn_at < 1),
add column if not exists calendar_id uuid references public.crm_sla_calendars (id);

comment on column public.crm_sla_settings.warn_at is
'Default warning point (share of a window) for leads that match no policy; NULL: none';
comment on column public.crm_sla_settings.calendar_id is
'Default calendar for leads that match no policy; NULL: around the clock';

-- Row-level security: admins (and the service role) write; agents read what routing and their
-- cards need; anon nothing.
alter table public.crm_sla_calendars enable row level security;
alter table public.crm_sla_calendar_hours enable row level security;
alter table public.crm_sla_holidays enable row level security;
alter table public.crm_sla_teams enable row level security;
alter table public.crm_sla_team_members enable row level security;
alter table public.crm_sla_agent_routing enable row level security;
alter table public.crm_sla_policies enable row level security;

revoke all on public.crm_sla_calendars, public.crm_sla_calendar_hours, public.crm_sla_holidays,
public.crm_sla_teams, public.crm_sla_team_members, public.crm_sla_agent_routing,
public.crm_sla_policies
from public, anon, authenticated, service_role;

grant select, insert, update, delete on public.crm_sla_calendars, public.crm_sla_calendar_hours,
public.crm_sla_holidays, public.crm_sla_teams, public.crm_sla_team_members,
public.crm_sla_agent_routing, public.crm_sla_policies
to authenticated, service_role;

drop policy if exists "Signed-in users read calendars" on public.crm_sla_calendars;
create policy "Signed-in users read calendars"
on public.crm_sla_calendars for select to authenticated using (true);
drop policy if exists "Signed-in users read calendar hours" on public.crm_sla_calendar_hours;
create policy "Signed-in users read calendar hours"
on public.crm_sla_calendar_hours for select to authenticated using (true);
drop policy if exists "Signed-in users read holidays" on public.crm_sla_holidays;
create policy "Signed-in users read holidays"
on public.crm_sla_holidays for select to authenticated using (true);
drop policy if exists "Signed-in users read teams" on public.crm_sla_teams;
create policy "Signed-in users read teams"
on public.crm_sla_teams for select to authenticated using (true);
drop policy if exists "Signed-in users read team members" on public.crm_sla_team_members;
create policy "Signed-in users read team members"
on public.crm_sla_team_members for select to authenticated using (true);
drop policy if exists "Signed-in users read policies" on public.crm_sla_policies;
create policy "Signed-in users read policies"
on public.crm_sla_policies for select to authenticated using (true);
drop policy if exists "Agents read their own routing" on public.crm_sla_agent_routing;
create policy "Agents read their own routing"
on public.crm_sla_agent_routing for select to authenticated
using (agent_id = (select auth.uid()));

comment on policy "Signed-in users read calendars" on public.crm_sla_calendars is
'Agents and admins read calendars (a card shows when its timer resumes)';
comment on policy "Signed-in users read calendar hours" on public.crm_sla_calendar_hours is
'Agents and admins read open hours';
comment on policy "Signed-in users read holidays" on public.crm_sla_holidays is
'Agents and admins read holidays';
comment on policy "Signed-in users read teams" on public.crm_sla_teams is
'Agents and admins read teams';
comment on policy "Signed-in users read team members" on public.crm_sla_team_members is
'Agents and admins read who is in which team';
comment on policy "Signed-in users read policies" on public.crm_sla_policies is
'Agents and admins read SLA policies (a card shows its policy''s name)';
comment on policy "Agents read their own routing" on public.crm_sla_agent_routing is
'An agent reads its own weight, cap and shift calendar';

-- Admins and the service role manage all seven tables.
do $$
declare
    v_table text;
begin
    foreach v_table in array array[
        'crm_sla_calendars', 'crm_sla_calendar_hours', 'crm_sla_holidays', 'crm_sla_teams',
        'crm_sla_team_members', 'crm_sla_agent_routing', 'crm_sla_policies'
    ] loop
        execute format('drop policy if exists "Admins manage %1$s" on public.%1$I', v_table);
        execute format(
            'create policy "Admins manage %1$s" on public.%1$I for all to authenticated '
            'using ((select public.is_admin((select auth.uid())))) '
            'with check ((select public.is_admin((select auth.uid()))))',
            v_table
        );
        execute format(
            'comment on policy "Admins manage %1$s" on public.%1$I is %2$L',
            v_table, 'Admins read and write every row'
        );
        execute format('drop policy if exists "Service role manages %1$s" on public.%1$I', v_table);
        execute format(
            'create policy "Service role manages %1$s" on public.%1$I for all to service_role '
            'using (true) with check (true)',
            v_table
        );
        execute format(
            'comment on policy "Service role manages %1$s" on public.%1$I is %2$L',
            v_table, 'The service role (back office, intake) reads and writes every row'
        );
    end loop;
end;
$$;

-- Statistics for agents too: an agent reads its own row of crm_agent_sla_stats (the /stats page
-- of the board); admins and the service role every agent's.
comment on view public.crm_agent_sla_stats is
'Per-agent SLA statistics over the last 24 hours (an agent sees only its own row)';

-- Routing version 2: the smooth weighted round robin's credit per agent, and the mark of a lead
-- whose window ran out while nobody could take it (it waits with its owner).
alter table public.crm_sla_agent_state
add column if not exists routing_credit double precision not null default 0;

comment on column public.crm_sla_agent_state.routing_credit is
'Smooth weighted round robin: credit earned (weight a round while a candidate) less leads taken';

alter table public.crm_leads
add column if not exists sla_waiting_since timestamptz;

comment on column public.crm_leads.sla_waiting_since is
'When the monitor found nobody eligible to take this overdue lead (engine-owned); NULL once moved';

-- Events: the outbox every engine event is written to (in the transaction that caused it), the
-- webhooks that receive them and one delivery row per event and webhook, and the settings that
-- keep the outbox short and space the retries.
create table if not exists public.crm_sla_outbox (
    id bigint generated always as identity primary key,
    event text not null,
    lead_id uuid,
    agent_id uuid,
    payload jsonb not null,
    created_at timestamptz not null default now()
);

comment on table public.crm_sla_outbox is
'Every SLA event (assigned, reassigned, escalated, warning, no_eligible_agent, claimed, '
'contacted), written by the engine in the transaction that caused it; an agent reads its own';
comment on column public.crm_sla_outbox.event is
'assigned, reassigned, escalated, warning, no_eligible_agent, claimed or contacted';
comment on column public.crm_sla_outbox.agent_id is
'The agent the event is for: the new owner, the warned owner, the owner left with the lead';
comment on column public.crm_sla_outbox.payload is
'What webhooks receive: event, lead_id, agent_id, stage, expires_at, at (SLA clock), and '
'from_agent_id and reason for reassigned and escalated';

-- No index on agent_id or lead_id: every index costs bulk intake (one outbox row a lead), and
-- Realtime and the deliveries do not need one. Add (agent_id, id) if clients list their events.

create table if not exists public.crm_sla_webhooks (
    id uuid primary key default gen_random_uuid(),
    url text not null,
    secret text not null,
    events text[],
    is_active boolean not null default true,
    created_at timestamptz not null default now()
);

comment on table public.crm_sla_webhooks is
'HTTP endpoints that receive the events written after they were created, signed as Standard '
'Webhooks says; admins and the service role only';
comment on column public.crm_sla_webhooks.url is
'An http:// or https:// URL the events are POSTed to';
comment on column public.crm_sla_webhooks.secret is
'The signing secret, whsec_<base64 of 24 to 64 bytes>; generated when inserted as NULL';
comment on column public.crm_sla_webhooks.events is
'The events it receives; NULL: every event';

create table if not exists public.crm_sla_webhook_deliveries (
    webhook_id uuid references public.crm_sla_webhooks (id) on delete cascade,
    outbox_id bigint references public.crm_sla_outbox (id) on delete cascade,
    status text not null check (status in ('pending', 'delivered', 'dead')),
    attempts integer not null default 0,
    next_attempt_at timestamptz,
    last_error text,
    delivered_at timestamptz,
    primary key (webhook_id, outbox_id)
);

comment on table public.crm_sla_webhook_deliveries is
'One row per event and webhook: pending until the endpoint answers 2xx (delivered) or the '
'retries of crm_sla_settings.webhook_retry_delays run out (dead)';
comment on column public.crm_sla_webhook_deliveries.next_attempt_at is
'When crm-sla deliver tries it next (wall clock)';
comment on column public.crm_sla_webhook_deliveries.last_error is
'What the last failed attempt got: the HTTP status and the start of the body, or the error';

-- What crm-sla deliver claims: the due pending deliveries, earliest first.
create index if not exists idx_crm_sla_webhook_deliveries_due
on public.crm_sla_webhook_deliveries (next_attempt_at)
where status = 'pending';

-- Deleting outbox rows (the purge) cascades here.
create index if not exists idx_crm_sla_webhook_deliveries_outbox
on public.crm_sla_webhook_deliveries (outbox_id);

alter table public.crm_sla_settings
add column if not exists outbox_keep_days integer not null default 30
check (outbox_keep_days > 0),
add column if not exists webhook_retry_delays interval[] not null
default '{5 seconds, 5 minutes, 30 minutes, 2 hours, 5 hours, 10 hours, 10 hours}'
check (interval '0' < all(webhook_retry_delays));

comment on column public.crm_sla_settings.outbox_keep_days is
'The daily purge deletes outbox rows older than this whose deliveries are finished';
comment on column public.crm_sla_settings.webhook_retry_delays is
'The wait before each retry of a failed delivery; after the last, the delivery is dead';

-- Row-level security. The outbox: admins read every event, an agent its own, the service role
-- all; only the engine writes. Webhooks and deliveries: admins and the service role.
alter table public.crm_sla_outbox enable row level security;
alter table public.crm_sla_webhooks enable row level security;
alter table public.crm_sla_webhook_deliveries enable row level security;

revoke all on public.crm_sla_outbox, public.crm_sla_webhooks, public.crm_sla_webhook_deliveries
from public, anon, authenticated, service_role;

revoke all on sequence public.crm_sla_outbox_id_seq
from public, anon, authenticated, service_role;

grant select on public.crm_sla_outbox to authenticated, service_role;

grant select, insert, update, delete on public.crm_sla_webhooks to authenticated, service_role;

grant select, update, delete on public.crm_sla_webhook_deliveries to authenticated, service_role;

drop policy if exists "Admins and agents read their events" on public.crm_sla_outbox;

create policy "Admins and agents read their events"
on public.crm_sla_outbox for select to authenticated
using (
    agent_id = (select auth.uid())
    or (select public.is_admin((select auth.uid())))
);

comment on policy "Admins and agents read their events" on public.crm_sla_outbox is
'An agent reads the events addressed to it; admins read every event';

drop policy if exists "Service role reads every event" on public.crm_sla_outbox;

create policy "Service role reads every event"
on public.crm_sla_outbox for select to service_role
using (true);

comment on policy "Service role reads every event" on public.crm_sla_outbox is
'The service role reads every event (it does not write them: only the engine does)';

drop policy if exists "Admins manage webhooks" on public.crm_sla_webhooks;

create policy "Admins manage webhooks"
on public.crm_sla_webhooks for all to authenticated
using ((select public.is_admin((select auth.uid()))))
with check ((select public.is_admin((select auth.uid()))));

comment on policy "Admins manage webhooks" on public.crm_sla_webhooks is
'Admins add, read, change and remove webhooks';

drop policy if exists "Service role manages webhooks" on public.crm_sla_webhooks;

create policy "Service role manages webhooks"
on public.crm_sla_webhooks for all to service_role
using (true) with check (true);

comment on policy "Service role manages webhooks" on public.crm_sla_webhooks is
'The service role adds, reads, changes and removes webhooks';

drop policy if exists "Admins manage deliveries" on public.crm_sla_webhook_deliveries;

create policy "Admins manage deliveries"
on public.crm_sla_webhook_deliveries for all to authenticated
using ((select public.is_admin((select auth.uid()))))
with check ((select public.is_admin((select auth.uid()))));

comment on policy "Admins manage deliveries" on public.crm_sla_webhook_deliveries is
'Admins read deliveries, retry dead ones (status pending) and delete them';

drop policy if exists "Service role manages deliveries" on public.crm_sla_webhook_deliveries;

create policy "Service role manages deliveries"
on public.crm_sla_webhook_deliveries for all to service_role
using (true) with check (true);

comment on policy "Service role manages deliveries" on public.crm_sla_webhook_deliveries is
'The service role reads deliveries, retries dead ones and deletes them';

-- Warnings before the breach: each lead's running timer gets its warning instant (warn_at of its
-- window, in its calendar's open time), which the monitor turns into one `warning` event a timer
-- run. Engine-owned columns, like the timers.
alter table public.crm_leads
add column if not exists sla_warn_at timestamptz,
add column if not exists sla_warned_at timestamptz;

comment on column public.crm_leads.sla_warn_at is
'When the running timer warns (warn_at of its window in its calendar''s open time); NULL: no '
'warning for it (engine-owned)';
comment on column public.crm_leads.sla_warned_at is
'When the running timer''s warning event was written; NULL: not yet (engine-owned)';
