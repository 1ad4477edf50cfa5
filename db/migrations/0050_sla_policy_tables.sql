-- Version 2 tables: business-hours calendars, teams, per-agent routing and SLA policies, the lead's
-- policy, and the settings' defaults for leads no policy matches. The functions that use them come
-- with their own migrations.
-- depends: 0020_board_events

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

alter table public.crm_leads
add column if not exists sla_policy_id uuid references public.crm_sla_policies (id);

comment on column public.crm_leads.sla_policy_id is
'The SLA policy chosen at intake, kept for life (engine-owned); NULL: the settings'' defaults';

create index if not exists idx_crm_leads_sla_policy
on public.crm_leads (sla_policy_id)
where sla_policy_id is not null;

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
