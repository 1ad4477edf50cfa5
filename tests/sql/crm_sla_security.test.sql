-- crm-sla pgTAP suite: who can do what. Row-level security and its policies, table and function
-- privileges, the engine-owned columns (SL009), the append-only audit trail (SL012), role by role:
-- anon, the agent who owns a lead, the agent it was taken from, another agent, an admin, the
-- service role and the tables' owner. Identities switch the Supabase way (set local role plus
-- request.jwt.claims). Everything happens in one transaction, rolled back.
--
-- policies_are() lists every policy on the engine's tables: a policy added to them later (which
-- could widen what an agent sees, since permissive policies add up) fails here until it is
-- listed, on purpose.
begin;

do $$
begin
    if to_regnamespace('extensions') is not null then
        create extension if not exists pgtap with schema extensions;
    else
        create extension if not exists pgtap;
    end if;
end
$$;

select plan(72);

-- Row-level security is on, with exactly these policies ------------------------------------------
select ok(
    (
        select c.relrowsecurity from pg_catalog.pg_class as c
        where c.oid = 'public.crm_leads'::regclass
    ),
    'row-level security is enabled on crm_leads'
);
select ok(
    (
        select c.relrowsecurity from pg_catalog.pg_class as c
        where c.oid = 'public.crm_lead_reassignments'::regclass
    ),
    'row-level security is enabled on crm_lead_reassignments'
);
select ok(
    (
        select c.relrowsecurity from pg_catalog.pg_class as c
        where c.oid = 'public.crm_sla_settings'::regclass
    ),
    'row-level security is enabled on crm_sla_settings'
);
select ok(
    (
        select c.relrowsecurity from pg_catalog.pg_class as c
        where c.oid = 'public.crm_sla_clock'::regclass
    ),
    'row-level security is enabled on crm_sla_clock'
);
select ok(
    (
        select c.relrowsecurity from pg_catalog.pg_class as c
        where c.oid = 'public.crm_agents'::regclass
    ),
    'row-level security is enabled on crm_agents'
);
-- The CRM may have policies of its own beside the engine's: those that widen the engine's
-- promise are named by crm_sla_policy_findings() below.
select is_empty(
    $$
    select e.table_name, e.policy_name
    from (
        values
        ('crm_leads', 'Admins can manage all leads'),
        ('crm_leads', 'Agents can view own leads'),
        ('crm_leads', 'Agents can update own leads'),
        ('crm_leads', 'Service role can manage leads'),
        ('crm_lead_reassignments', 'Admins can view all reassignments'),
        ('crm_lead_reassignments', 'Agents can view own reassignments'),
        ('crm_lead_reassignments', 'Service role can insert reassignments'),
        ('crm_lead_reassignments', 'Service role can read reassignments')
    ) as e (table_name, policy_name)
    where not exists (
        select from pg_catalog.pg_policies as p
        where
            p.schemaname = 'public' and p.tablename = e.table_name
            and p.policyname = e.policy_name
    )
    $$,
    'crm_leads and crm_lead_reassignments have every policy of the engine'
);
select policies_are(
    'public', 'crm_sla_settings',
    array['Signed-in users can read the SLA windows', 'Service role manages the SLA settings'],
    'crm_sla_settings has exactly the engine''s policies'
);
select policy_roles_are(
    'public', 'crm_lead_reassignments', 'Service role can insert reassignments',
    array['service_role'],
    'only the service role has an insert policy on the audit trail (the seed let every role in)'
);
select policy_cmd_is(
    'public', 'crm_lead_reassignments', 'Service role can insert reassignments', 'insert',
    'the service role''s audit policy is for insert only'
);
select policy_cmd_is(
    'public', 'crm_leads', 'Agents can view own leads', 'select',
    '"Agents can view own leads" is a select policy'
);
select policy_cmd_is(
    'public', 'crm_leads', 'Agents can update own leads', 'update',
    '"Agents can update own leads" is an update policy'
);
select policy_roles_are(
    'public', 'crm_leads', 'Agents can view own leads', array['authenticated'],
    '"Agents can view own leads" applies to authenticated users only'
);

-- Privileges -------------------------------------------------------------------------------------
select table_privs_are(
    'public', 'crm_leads', 'anon', array[]::text[], 'anon has no privileges on crm_leads'
);
select table_privs_are(
    'public', 'crm_lead_reassignments', 'anon', array[]::text[],
    'anon has no privileges on crm_lead_reassignments'
);
select table_privs_are(
    'public', 'crm_sla_settings', 'anon', array[]::text[],
    'anon has no privileges on crm_sla_settings'
);
select table_privs_are(
    'public', 'crm_lead_reassignments', 'authenticated', array['SELECT'],
    'signed-in users may only read the audit trail'
);
select table_privs_are(
    'public', 'crm_lead_reassignments', 'service_role', array['INSERT', 'SELECT'],
    'the service role may read and append to the audit trail, never change it'
);
select table_privs_are(
    'public', 'crm_sla_settings', 'authenticated', array['SELECT'],
    'signed-in users may only read the SLA settings'
);
select is_empty(
    $$
    select r.rolname
    from (values ('anon'), ('authenticated'), ('service_role')) as r (rolname)
    where pg_catalog.has_sequence_privilege(
        r.rolname,
        pg_catalog.pg_get_serial_sequence('public.crm_lead_sla_events', 'id'),
        'usage, select, update'
    )
    $$,
    'no API role may use, read or set the engine''s sequences (setval would break claims)'
);
select is_empty(
    $$
    select format('policy %I on %s (%s, to %s) %s. Fix: %s',
        f.policy_name, f.table_name, f.command, f.roles, f.effect, f.fix)
    from public.crm_sla_policy_findings() as f
    $$,
    'no policy of the CRM''s own widens what the engine lets agents and anon see or do'
);
select function_privs_are(
    'public', 'process_sla_timers', array[]::name[], 'authenticated', array[]::text[],
    'signed-in users cannot run the monitor'
);
select function_privs_are(
    'public', 'process_sla_timers', array[]::name[], 'service_role', array['EXECUTE'],
    'the service role can run the monitor'
);
select function_privs_are(
    'public', 'sla_clock_travel', array['interval'], 'authenticated', array[]::text[],
    'signed-in users cannot move the SLA clock'
);
select function_privs_are(
    'public', 'claim_lead', array['uuid'], 'anon', array[]::text[],
    'anon cannot call claim_lead'
);
select function_privs_are(
    'public', 'reassign_lead', array['uuid', 'uuid', 'text'], 'anon', array[]::text[],
    'anon cannot call reassign_lead'
);
select is_empty(
    $$
    select p.oid::regprocedure::text
    from pg_catalog.pg_proc as p
    where p.pronamespace = 'public'::regnamespace
        and p.prosecdef
        and p.proname in (
            'claim_lead', 'complete_first_action', 'reassign_lead', 'process_sla_timers',
            'sla_clock_travel', 'sla_clock_reset', 'is_admin', 'crm_leads_intake_clock',
            'crm_leads_intake_done',
            'crm_lead_reassignments_append_only', 'run_sla_monitor'
        )
        -- is_admin() is judged only where the baseline made it: a CRM's own is its own.
        and (
            p.proname <> 'is_admin'
            or pg_catalog.obj_description(p.oid, 'pg_proc') like '%(crm-sla baseline)%'
        )
        and (
            p.proconfig is null
            or not exists (
                select from unnest(p.proconfig) as c (setting) where c.setting like 'search_path=%'
            )
            or pg_catalog.has_function_privilege('public', p.oid, 'execute')
        )
    $$,
    'every security definer function of the engine pins search_path and is not executable by '
    || 'PUBLIC'
);

-- The world --------------------------------------------------------------------------------------
-- Whatever else this database holds stays out of the way until the rollback: its agents take no
-- leads and its leads never fall due. The settings are the defaults.
update public.crm_agents set is_active = false, accepting_leads = false
where role <> 'system';
update public.crm_leads
set
    assigned_agent_id = coalesce(assigned_agent_id, '00000000-0000-0000-0000-000000000000'),
    claim_timer_expires_at = null,
    contact_timer_expires_at = null
where
    assigned_agent_id is null
    or claim_timer_expires_at is not null
    or contact_timer_expires_at is not null;
update public.crm_sla_settings
set
    claim_window = '5 minutes', contact_window = '5 minutes', max_reassignments = 3,
    monitor_batch_size = 1000;

-- Ann owns lead 1, which an admin moved to her from Bob; Eve is another agent; Dee is an admin.
-- Bob owns lead 2. Where crm_agents.id references auth.users (a Supabase CRM), the users are
-- created first.
do $$
begin
    if exists (
        select from pg_catalog.pg_constraint as c
        where c.conrelid = 'public.crm_agents'::regclass and c.contype = 'f'
            and c.confrelid = to_regclass('auth.users')
    ) then
        insert into auth.users (id, email) values
        ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'ann@crm-sla.invalid'),
        ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'bob@crm-sla.invalid'),
        ('dddddddd-dddd-4ddd-8ddd-dddddddddddd', 'dee@crm-sla.invalid'),
        ('eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee', 'eve@crm-sla.invalid')
        on conflict (id) do nothing;
    end if;
end
$$;
insert into public.crm_agents (id, full_name, email, role) values
('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'Ann (crm-sla test)', 'ann@crm-sla.invalid', 'agent'),
('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'Bob (crm-sla test)', 'bob@crm-sla.invalid', 'agent'),
('dddddddd-dddd-4ddd-8ddd-dddddddddddd', 'Dee (crm-sla test)', 'dee@crm-sla.invalid', 'admin'),
('eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee', 'Eve (crm-sla test)', 'eve@crm-sla.invalid', 'agent')
on conflict (id) do update
    set role = excluded.role, is_active = true, accepting_leads = true;
-- The agents' writes to a non-SLA column need one, and the baseline's crm_leads columns are all
-- engine-owned or structural: the suite adds its own for the length of its transaction.
alter table public.crm_leads add column crm_sla_test_note text;
insert into public.crm_leads (id, assigned_agent_id) values
('1ead0000-0000-4000-8000-000000000001', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'),
('1ead0000-0000-4000-8000-000000000002', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb');
select from public.reassign_lead(
    '1ead0000-0000-4000-8000-000000000001', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'handover'
);

-- anon -------------------------------------------------------------------------------------------
select from set_config('request.jwt.claims', '{"role": "anon"}', true);
set local role anon;
select throws_ok(
    $$select * from public.crm_leads$$, '42501', null, 'anon: cannot read crm_leads'
);
select throws_ok(
    $$select * from public.crm_lead_reassignments$$, '42501', null,
    'anon: cannot read the audit trail'
);
-- crm_agents may be the CRM's own table, with its own grants (Supabase's give anon ALL): anon
-- reads no agent, by a privilege error or by row-level security.
select case
    when pg_catalog.has_table_privilege('anon', 'public.crm_agents', 'select')
        then is_empty($$select * from public.crm_agents$$, 'anon: reads no agents')
    else throws_ok(
        $$select * from public.crm_agents$$, '42501', null, 'anon: reads no agents'
    )
end;
select throws_ok(
    $$select public.claim_lead('1ead0000-0000-4000-8000-000000000001')$$, '42501', null,
    'anon: cannot claim a lead'
);
select throws_ok(
    $$select public.sla_now()$$, '42501', null, 'anon: cannot read the SLA clock'
);
reset role;

-- The agent who owns the lead --------------------------------------------------------------------
select from set_config(
    'request.jwt.claims',
    '{"sub": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "role": "authenticated"}', true
);
set local role authenticated;
select results_eq(
    $$select l.id from public.crm_leads as l order by l.id$$,
    $$values ('1ead0000-0000-4000-8000-000000000001'::uuid)$$,
    'owner: an agent sees only the leads it owns (policy "Agents can view own leads")'
);
select results_eq(
    $$
    with changed as (
        update public.crm_leads set crm_sla_test_note = 'note 0100'
        where id = '1ead0000-0000-4000-8000-000000000001'
        returning 1
    )
    select count(*)::int from changed
    $$,
    $$values (1)$$,
    'owner: may update a non-SLA field of its lead (policy "Agents can update own leads")'
);
select throws_ok(
    $$
    update public.crm_leads set claim_sla_breached = true
    where id = '1ead0000-0000-4000-8000-000000000001'
    $$,
    'SL009', null, 'owner: cannot write a breach flag (SL009, engine-owned column)'
);
select throws_ok(
    $$
    update public.crm_leads set claim_timer_expires_at = now() + interval '1 day'
    where id = '1ead0000-0000-4000-8000-000000000001'
    $$,
    'SL009', null, 'owner: cannot extend its own claim timer (SL009)'
);
select throws_ok(
    $$
    update public.crm_leads set assigned_agent_id = 'eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee'
    where id = '1ead0000-0000-4000-8000-000000000001'
    $$,
    'SL009', null, 'owner: cannot hand its lead to someone else by UPDATE (SL009)'
);
select throws_ok(
    $$
    update public.crm_leads set reassignment_count = 0
    where id = '1ead0000-0000-4000-8000-000000000001'
    $$,
    'SL009', null, 'owner: cannot reset the reassignment count (SL009)'
);
select throws_ok(
    $$
    insert into public.crm_lead_reassignments
        (lead_id, from_agent_id, to_agent_id, reassigned_by, reason, stage)
    values (
        '1ead0000-0000-4000-8000-000000000001', 'eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee',
        'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa',
        'manual', 'manual'
    )
    $$,
    '42501', null, 'owner: cannot forge an audit row, even for its own lead'
);
select throws_ok(
    $$
    insert into public.crm_leads (assigned_agent_id)
    values ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa')
    $$,
    '42501', null, 'owner: agents cannot insert leads (intake is the service role''s)'
);
select results_eq(
    $$select a.from_agent_id, a.to_agent_id from public.crm_lead_reassignments as a$$,
    $$
    values
    ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'::uuid, 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'::uuid)
    $$,
    'owner: reads the audit row where it received the lead'
);
select throws_ok(
    $$select public.process_sla_timers()$$, '42501', null, 'owner: cannot run the monitor'
);
select throws_ok(
    $$select public.sla_clock_travel('1 hour')$$, '42501', null,
    'owner: cannot move the SLA clock'
);
select throws_ok(
    $$update public.crm_sla_settings set claim_window = '1 day'$$, '42501', null,
    'owner: cannot change the SLA windows'
);
select results_eq(
    $$select s.claim_window from public.crm_sla_settings as s$$,
    $$select s.claim_window from public.crm_sla_settings as s$$,
    'owner: may read the SLA windows'
);
reset role;

-- The agent the lead was taken from --------------------------------------------------------------
select from set_config(
    'request.jwt.claims',
    '{"sub": "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb", "role": "authenticated"}', true
);
set local role authenticated;
select results_eq(
    $$select l.id from public.crm_leads as l order by l.id$$,
    $$values ('1ead0000-0000-4000-8000-000000000002'::uuid)$$,
    'previous owner: no longer sees the lead, only its own'
);
select results_eq(
    $$
    with changed as (
        update public.crm_leads set crm_sla_test_note = 'note 0199'
        where id = '1ead0000-0000-4000-8000-000000000001'
        returning 1
    )
    select count(*)::int from changed
    $$,
    $$values (0)$$,
    'previous owner: its update of the lead changes no row'
);
select results_eq(
    $$
    select a.from_agent_id, a.to_agent_id from public.crm_lead_reassignments as a
    where a.lead_id = '1ead0000-0000-4000-8000-000000000001'
    $$,
    $$
    values
    ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'::uuid, 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'::uuid)
    $$,
    'previous owner: reads the audit row where it lost the lead'
);
select throws_ok(
    $$select public.claim_lead('1ead0000-0000-4000-8000-000000000001')$$,
    'SL004', null, 'previous owner: its claim is refused with SL004 (reassigned away)'
);
reset role;

-- Another agent ----------------------------------------------------------------------------------
select from set_config(
    'request.jwt.claims',
    '{"sub": "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee", "role": "authenticated"}', true
);
set local role authenticated;
select is_empty(
    $$select l.id, l.assigned_agent_id from public.crm_leads as l$$,
    'another agent: sees no leads that are not its own'
);
select is_empty(
    $$select a.lead_id, a.from_agent_id, a.to_agent_id from public.crm_lead_reassignments as a$$,
    'another agent: sees no audit rows it is not part of'
);
select results_eq(
    $$
    with changed as (
        update public.crm_leads set lead_claimed = true
        where id = '1ead0000-0000-4000-8000-000000000001'
        returning 1
    )
    select count(*)::int from changed
    $$,
    $$values (0)$$,
    'another agent: cannot claim someone else''s lead by UPDATE (no row changes)'
);
select throws_ok(
    $$select public.claim_lead('1ead0000-0000-4000-8000-000000000001')$$,
    'SL002', null, 'another agent: claim_lead on someone else''s lead is refused with SL002'
);
select throws_ok(
    $$select public.complete_first_action('1ead0000-0000-4000-8000-000000000001')$$,
    'SL002', null, 'another agent: complete_first_action on it is refused with SL002'
);
select throws_ok(
    $$
    select public.reassign_lead(
        '1ead0000-0000-4000-8000-000000000001', 'eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee'
    )
    $$,
    'SL006', null, 'another agent: cannot reassign leads (SL006)'
);
reset role;

-- An admin ---------------------------------------------------------------------------------------
select from set_config(
    'request.jwt.claims',
    '{"sub": "dddddddd-dddd-4ddd-8ddd-dddddddddddd", "role": "authenticated"}', true
);
set local role authenticated;
select bag_has(
    $$select l.id from public.crm_leads as l$$,
    $$
    values
    ('1ead0000-0000-4000-8000-000000000001'::uuid), ('1ead0000-0000-4000-8000-000000000002'::uuid)
    $$,
    'admin: sees every lead (policy "Admins can manage all leads")'
);
select bag_has(
    $$select a.lead_id from public.crm_lead_reassignments as a$$,
    $$values ('1ead0000-0000-4000-8000-000000000001'::uuid)$$,
    'admin: reads every audit row'
);
select results_eq(
    $$
    with changed as (
        update public.crm_leads set crm_sla_test_note = 'note 0142'
        where id = '1ead0000-0000-4000-8000-000000000002'
        returning 1
    )
    select count(*)::int from changed
    $$,
    $$values (1)$$,
    'admin: may update any lead'
);
select throws_ok(
    $$
    update public.crm_leads set sla_breached = true
    where id = '1ead0000-0000-4000-8000-000000000002'
    $$,
    'SL009', null, 'admin: cannot write engine-owned columns either (SL009)'
);
select throws_ok(
    $$
    insert into public.crm_lead_reassignments
        (lead_id, from_agent_id, to_agent_id, reassigned_by, reason, stage)
    values (
        '1ead0000-0000-4000-8000-000000000002', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb',
        'eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee', 'dddddddd-dddd-4ddd-8ddd-dddddddddddd',
        'manual', 'manual'
    )
    $$,
    '42501', null, 'admin: cannot write audit rows directly (only through reassign_lead)'
);
select throws_ok(
    $$select public.process_sla_timers()$$, '42501', null, 'admin: cannot run the monitor'
);
reset role;

-- The service role -------------------------------------------------------------------------------
select from set_config('request.jwt.claims', '{"role": "service_role"}', true);
set local role service_role;
select lives_ok(
    $$
    insert into public.crm_leads
        (id, assigned_agent_id, claim_timer_expires_at, claim_sla_breached,
        reassignment_count, reassignment_reason)
    values (
        '1ead0000-0000-4000-8000-000000000003', 'eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee',
        now() + interval '10 years', true, 42, 'manual'
    )
    $$,
    'service role: inserts leads (intake)'
);
select results_eq(
    $$
    select l.claim_timer_expires_at, l.claim_sla_breached, l.reassignment_count,
        l.reassignment_reason
    from public.crm_leads as l where l.id = '1ead0000-0000-4000-8000-000000000003'
    $$,
    $$values (public.sla_now() + interval '5 minutes', false, 0, null::text)$$,
    'service role: engine-owned columns sent with an insert are ignored'
);
select throws_ok(
    $$
    update public.crm_leads set claim_sla_breached = true
    where id = '1ead0000-0000-4000-8000-000000000003'
    $$,
    'SL009', null, 'service role: cannot write engine-owned columns (SL009)'
);
select lives_ok(
    $$select public.process_sla_timers()$$, 'service role: runs the monitor'
);
select lives_ok(
    $$
    insert into public.crm_lead_reassignments
        (lead_id, from_agent_id, to_agent_id, reassigned_by, reason, stage)
    values (
        '1ead0000-0000-4000-8000-000000000003', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb',
        'eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee', '00000000-0000-0000-0000-000000000000',
        'manual', 'manual'
    )
    $$,
    'service role: may append an audit row'
);
select throws_ok(
    $$update public.crm_lead_reassignments set notes = 'edited'$$, '42501', null,
    'service role: cannot change audit rows'
);
select throws_ok(
    $$delete from public.crm_lead_reassignments$$, '42501', null,
    'service role: cannot delete audit rows'
);
select lives_ok(
    $$select public.claim_lead('1ead0000-0000-4000-8000-000000000003')$$,
    'service role: may claim a lead for its owner'
);
reset role;

-- The tables' owner (migrations, psql, pg_cron): trusted, but the audit trail is still append-only
select from set_config('request.jwt.claims', '', true);
select throws_ok(
    $$update public.crm_lead_reassignments set notes = 'edited'$$, 'SL012', null,
    'owner: audit rows cannot be changed, even by the tables'' owner (SL012)'
);
select throws_ok(
    $$
    delete from public.crm_lead_reassignments
    where lead_id = '1ead0000-0000-4000-8000-000000000001'
    $$,
    'SL012', null, 'owner: audit rows cannot be deleted on their own (SL012)'
);
select lives_ok(
    $$delete from public.crm_leads where id = '1ead0000-0000-4000-8000-000000000001'$$,
    'owner: deleting a lead is allowed'
);
select is_empty(
    $$
    select reason, stage, from_agent_id, to_agent_id from public.crm_lead_reassignments
    where lead_id = '1ead0000-0000-4000-8000-000000000001'
    $$,
    'deleting a lead takes its audit rows with it (on delete cascade)'
);

select * from finish();

rollback;
