-- Baseline: the CRM objects the seed migration assumes, created only where missing.
-- On Supabase (or any database that already has the CRM) every block here is a no-op; objects this
-- file creates carry "(crm-sla baseline)" in their comment so the rollback drops only those.
-- Roles are cluster-wide and shared by every database, so neither this file nor its rollback
-- drops them.

do $$
begin
    if not exists (select from pg_catalog.pg_roles where rolname = 'anon') then
        create role anon nologin noinherit;
    end if;
    if not exists (select from pg_catalog.pg_roles where rolname = 'authenticated') then
        create role authenticated nologin noinherit;
    end if;
    if not exists (select from pg_catalog.pg_roles where rolname = 'service_role') then
        if (select rolsuper from pg_catalog.pg_roles where rolname = current_user) then
            -- As on Supabase: the service role is not subject to row-level security.
            create role service_role nologin noinherit bypassrls;
        else
            create role service_role nologin noinherit;
        end if;
    end if;
end
$$;

do $$
begin
    if to_regnamespace('auth') is null then
        create schema auth;
        comment on schema auth is
        'Supabase compatibility shim: only auth.uid() (crm-sla baseline)';
        grant usage on schema auth to anon, authenticated, service_role;
    end if;
    if to_regprocedure('auth.uid()') is null then
        -- Supabase's own definition: the user id from the JWT claims PostgREST sets.
        create function auth.uid() returns uuid
        language sql stable
        as $fn$
            select coalesce(
                nullif(current_setting('request.jwt.claim.sub', true), ''),
                (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
            )::uuid
        $fn$;
        comment on function auth.uid() is
        'The authenticated user id from request.jwt.claims, as Supabase defines it (crm-sla baseline)';
        grant execute on function auth.uid() to anon, authenticated, service_role;
    end if;
end
$$;

do $$
begin
    if to_regclass('public.crm_agents') is null then
        create table public.crm_agents (
            id uuid primary key default gen_random_uuid(),
            full_name text not null,
            email text unique,
            role text not null default 'agent'
            check (role in ('agent', 'admin', 'system')),
            is_active boolean not null default true,
            accepting_leads boolean not null default true,
            created_at timestamptz not null default now()
        );
        comment on table public.crm_agents is
        'Sales agents and admins; id is the user id auth.uid() returns (crm-sla baseline)';
        comment on column public.crm_agents.role is
        'agent: receives leads; admin: sees and manages everything; system: the SLA engine itself';
        comment on column public.crm_agents.accepting_leads is
        'false keeps an active agent out of routing (on leave, at capacity)';
        alter table public.crm_agents enable row level security;
        revoke all on public.crm_agents from public, anon, authenticated, service_role;
        grant select on public.crm_agents to authenticated;
        grant insert, update, delete on public.crm_agents to authenticated;
        grant select, insert, update, delete on public.crm_agents to service_role;
    end if;
end
$$;

do $$
begin
    if to_regclass('public.crm_leads') is null then
        create table public.crm_leads (
            id uuid primary key default gen_random_uuid(),
            assigned_agent_id uuid references public.crm_agents (id),
            lead_claimed boolean not null default false,
            first_action_completed boolean not null default false,
            claim_window_expires_at timestamptz,
            sla_breached boolean not null default false,
            full_name text,
            email text,
            phone text,
            source text,
            created_at timestamptz not null default now()
        );
        comment on table public.crm_leads is
        'Sales leads; each has an owner who must claim it, then contact it (crm-sla baseline)';
        comment on column public.crm_leads.claim_window_expires_at is
        'Legacy: mirrors claim_timer_expires_at';
        comment on column public.crm_leads.sla_breached is
        'Legacy: true once either SLA window was missed';
        create index crm_leads_assigned_agent_id_idx
        on public.crm_leads (assigned_agent_id);
    end if;
end
$$;

do $$
begin
    if to_regprocedure('public.is_admin(uuid)') is null then
        create function public.is_admin(uid uuid) returns boolean
        language sql stable security definer
        set search_path = ''
        as $fn$
            select exists (
                select from public.crm_agents
                where id = uid and role = 'admin' and is_active
            )
        $fn$;
        comment on function public.is_admin(uuid) is
        'True when uid is an active admin (crm-sla baseline)';
        revoke execute on function public.is_admin(uuid) from public, anon;
        grant execute on function public.is_admin(uuid) to authenticated, service_role;
    end if;
end
$$;

do $$
begin
    -- Policies for the agents table, only when this file created it.
    if obj_description('public.crm_agents'::regclass, 'pg_class') like '%(crm-sla baseline)%'
        and not exists (
            select from pg_catalog.pg_policies
            where schemaname = 'public' and tablename = 'crm_agents'
        ) then
        create policy "Signed-in users can see the team"
        on public.crm_agents for select to authenticated
        using (true);
        create policy "Admins can manage agents"
        on public.crm_agents for all to authenticated
        using ((select public.is_admin((select auth.uid()))))
        with check ((select public.is_admin((select auth.uid()))));
    end if;
end
$$;

create table if not exists public.crm_sla_settings (
    id boolean primary key default true check (id),
    claim_window interval not null default '5 minutes'
    check (claim_window > interval '0'),
    contact_window interval not null default '5 minutes'
    check (contact_window > interval '0'),
    max_reassignments int not null default 3 check (max_reassignments >= 0),
    monitor_batch_size int not null default 1000
    check (monitor_batch_size between 1 and 100000)
);

comment on table public.crm_sla_settings is
'The SLA engine''s settings: one row. Changes apply to timers started afterwards.';
comment on column public.crm_sla_settings.claim_window is
'How long a new owner has to claim a lead';
comment on column public.crm_sla_settings.contact_window is
'How long the owner has, once the lead is claimed, to complete the first action';
comment on column public.crm_sla_settings.max_reassignments is
'Automatic reassignments before the next breach escalates the lead to an admin';
comment on column public.crm_sla_settings.monitor_batch_size is
'Most leads one monitor pass (one transaction) reassigns';

insert into public.crm_sla_settings (id) values (true)
on conflict (id) do nothing;

alter table public.crm_sla_settings enable row level security;

revoke all on public.crm_sla_settings from public, anon, authenticated, service_role;

grant select on public.crm_sla_settings to authenticated;

grant select, update on public.crm_sla_settings to service_role;

do $$
begin
    if not exists (
        select from pg_catalog.pg_policies
        where schemaname = 'public' and tablename = 'crm_sla_settings'
    ) then
        create policy "Signed-in users can read the SLA windows"
        on public.crm_sla_settings for select to authenticated
        using (true);
        create policy "Service role manages the SLA settings"
        on public.crm_sla_settings for all to service_role
        using (true) with check (true);
    end if;
end
$$;

-- The system actor: reassigned_by on every automatic reassignment. Never routed to.
-- Where crm_agents.id references auth.users (the usual Supabase shape), the actor is first made a
-- user no one can sign in as: no email, no password, banned, a role no database role has; marked
-- provider "crm-sla" in raw_app_meta_data, so the rollback removes just this row.
do $$
declare
    v_columns text;
    v_values text;
begin
    if exists (
        select from pg_catalog.pg_constraint as c
        where
            c.conrelid = 'public.crm_agents'::regclass and c.contype = 'f'
            and c.confrelid = to_regclass('auth.users')
    ) then
        -- Only the columns this GoTrue version has (banned_until came in 2022).
        select
            string_agg(format('%I', v.col), ', ' order by v.n),
            string_agg(v.val, ', ' order by v.n)
        into v_columns, v_values
        from (
            values
            (1, 'id', '''00000000-0000-0000-0000-000000000000'''),
            (2, 'aud', '''crm-sla'''),
            (3, 'role', '''crm_sla_system'''),
            (4, 'raw_app_meta_data', '''{"provider": "crm-sla", "providers": []}'''),
            (5, 'raw_user_meta_data', '''{"full_name": "SLA engine"}'''),
            (6, 'banned_until', '''infinity'''),
            (7, 'created_at', 'now()'),
            (8, 'updated_at', 'now()')
        ) as v (n, col, val)
        inner join information_schema.columns as c
            on
                c.table_schema = 'auth' and c.table_name = 'users'
                and v.col = c.column_name;
        execute format(
            'insert into auth.users (%s) values (%s) on conflict (id) do nothing',
            v_columns, v_values
        );
    end if;
end
$$;

insert into public.crm_agents (id, full_name, email, role, is_active, accepting_leads)
values (
    '00000000-0000-0000-0000-000000000000',
    'SLA engine', null, 'system', true, false
)
on conflict (id) do nothing;
