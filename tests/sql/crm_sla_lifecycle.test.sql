-- crm-sla pgTAP suite: a lead's lifecycle, row by row of docs/reference.md's table (intake,
-- claim, first action, claim window expired, contact window expired, manual reassignment), and
-- the engine's refusals by SQLSTATE. Time moves with sla_clock_travel(); identities switch the
-- Supabase way (set local role + request.jwt.claims). Everything happens in one transaction,
-- rolled back.
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

select plan(49);

-- The world --------------------------------------------------------------------------------------
-- Whatever else this database holds stays out of the way until the rollback: its agents take no
-- leads and its leads never fall due. The settings are the defaults.
update public.crm_agents set is_active = false, accepting_leads = false
where role <> 'system';
update public.crm_leads
set
    assigned_agent_id = coalesce(assigned_agent_id, '00000000-0000-0000-0000-000000000000'),
    claim_timer_expires_at = null,
    contact_timer_expires_at = null,
    sla_warn_at = null
where
    assigned_agent_id is null
    or claim_timer_expires_at is not null
    or contact_timer_expires_at is not null
    or sla_warn_at is not null;
update public.crm_sla_settings
set
    claim_window = '5 minutes', contact_window = '5 minutes', max_reassignments = 3,
    monitor_batch_size = 1000, warn_at = 0.8;

-- Ann and Bob are agents, Dee is an admin. Where crm_agents.id references auth.users (a Supabase
-- CRM), the users are created first.
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
        ('dddddddd-dddd-4ddd-8ddd-dddddddddddd', 'dee@crm-sla.invalid')
        on conflict (id) do nothing;
    end if;
end
$$;
insert into public.crm_agents (id, full_name, email, role) values
('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'Ann (crm-sla test)', 'ann@crm-sla.invalid', 'agent'),
('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'Bob (crm-sla test)', 'bob@crm-sla.invalid', 'agent'),
('dddddddd-dddd-4ddd-8ddd-dddddddddddd', 'Dee (crm-sla test)', 'dee@crm-sla.invalid', 'admin')
on conflict (id) do update
    set role = excluded.role, is_active = true, accepting_leads = true;

-- Lead inserted ----------------------------------------------------------------------------------
-- Intake is the service role's job.
select from set_config('request.jwt.claims', '{"role": "service_role"}', true);
set local role service_role;
insert into public.crm_leads (id, assigned_agent_id) values
('1ead0000-0000-4000-8000-000000000001', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa');
reset role;
select from set_config('request.jwt.claims', '', true);

select results_eq(
    $$
    select
        l.assigned_agent_id, l.claim_timer_started_at, l.claim_timer_expires_at,
        l.claim_window_expires_at, l.contact_timer_started_at, l.contact_timer_expires_at,
        l.lead_claimed, l.claim_sla_breached, l.sla_breached, l.reassignment_count
    from public.crm_leads as l where l.id = '1ead0000-0000-4000-8000-000000000001'
    $$,
    $$
    values (
        'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'::uuid, public.sla_now(),
        public.sla_now() + interval '5 minutes', public.sla_now() + interval '5 minutes',
        null::timestamptz, null::timestamptz, false, false, false, 0
    )
    $$,
    'lead inserted: the claim timer starts now and runs 5 minutes (legacy column mirrors it)'
);
select is_empty(
    $$
    select reason, stage, from_agent_id, to_agent_id from public.crm_lead_reassignments
    where lead_id = '1ead0000-0000-4000-8000-000000000001'
    $$,
    'lead inserted with an owner: no audit row'
);

select from set_config('request.jwt.claims', '{"role": "service_role"}', true);
set local role service_role;
insert into public.crm_leads (id) values
('1ead0000-0000-4000-8000-000000000002');
reset role;
select from set_config('request.jwt.claims', '', true);

select ok(
    (
        select
            l.assigned_agent_id in (
                'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'
            )
        from public.crm_leads as l
        where l.id = '1ead0000-0000-4000-8000-000000000002'
    ),
    'lead inserted without an owner: routed to an active agent (never the admin)'
);
select is(
    (
        select l.claim_timer_expires_at from public.crm_leads as l
        where l.id = '1ead0000-0000-4000-8000-000000000002'
    ),
    public.sla_now() + interval '5 minutes',
    'lead inserted without an owner: its claim timer starts too'
);
select is_empty(
    $$
    select reason, stage, from_agent_id, to_agent_id from public.crm_lead_reassignments
    where lead_id = '1ead0000-0000-4000-8000-000000000002'
    $$,
    'lead inserted without an owner: the first assignment writes no audit row'
);
delete from public.crm_leads
where id = '1ead0000-0000-4000-8000-000000000002';

-- Claimed ----------------------------------------------------------------------------------------
select from public.sla_clock_travel('2 minutes');

select from set_config(
    'request.jwt.claims',
    '{"sub": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "role": "authenticated"}', true
);
set local role authenticated;
select lives_ok(
    $$select public.claim_lead('1ead0000-0000-4000-8000-000000000001')$$,
    'claimed: the owner claims with claim_lead()'
);
select results_eq(
    $$
    select l.lead_claimed,
        l.contact_timer_started_at between public.sla_now() and public.crm_sla_clock_now(),
        l.contact_timer_expires_at - l.contact_timer_started_at, l.claim_sla_breached
    from public.crm_leads as l where l.id = '1ead0000-0000-4000-8000-000000000001'
    $$,
    $$values (true, true, interval '5 minutes', false)$$,
    'claimed in time: the contact timer starts now and runs 5 minutes, no breach'
);
select throws_ok(
    $$select public.claim_lead('1ead0000-0000-4000-8000-000000000001')$$,
    'SL003', null, 'claiming twice is refused with SL003'
);
select throws_ok(
    $$select public.claim_lead('1ead0000-0000-4000-8000-0000000000ff')$$,
    'SL002', null, 'an agent claiming a lead that does not exist is refused as for any lead '
    || 'not its own (SL002): it cannot tell one from the other'
);
select throws_ok(
    $$select public.claim_lead(null)$$,
    'SL010', null, 'claim_lead(NULL) is refused with SL010'
);
reset role;
select from set_config('request.jwt.claims', '', true);

-- A plain UPDATE by the owner has the same effect as claim_lead().
select from set_config('request.jwt.claims', '{"role": "service_role"}', true);
set local role service_role;
insert into public.crm_leads (id, assigned_agent_id) values
('1ead0000-0000-4000-8000-000000000003', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa');
reset role;
select from public.sla_clock_travel('1 minute');
select from set_config(
    'request.jwt.claims',
    '{"sub": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "role": "authenticated"}', true
);
set local role authenticated;
select lives_ok(
    $$
    update public.crm_leads set lead_claimed = true
    where id = '1ead0000-0000-4000-8000-000000000003'
    $$,
    'claimed: the owner sets lead_claimed with a plain UPDATE'
);
select results_eq(
    $$
    select l.lead_claimed,
        l.contact_timer_started_at between public.sla_now() and public.crm_sla_clock_now(),
        l.contact_timer_expires_at - l.contact_timer_started_at
    from public.crm_leads as l where l.id = '1ead0000-0000-4000-8000-000000000003'
    $$,
    $$values (true, true, interval '5 minutes')$$,
    'claimed by a plain UPDATE: the contact timer starts as with claim_lead()'
);
reset role;
select from set_config('request.jwt.claims', '', true);

-- First action -----------------------------------------------------------------------------------
-- Lead 1 was claimed 1 minute ago; 3 more minutes and its contact window still runs.
select from public.sla_clock_travel('3 minutes');
select from set_config(
    'request.jwt.claims',
    '{"sub": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "role": "authenticated"}', true
);
set local role authenticated;
select lives_ok(
    $$select public.complete_first_action('1ead0000-0000-4000-8000-000000000001')$$,
    'first action: the owner records it with complete_first_action()'
);
select results_eq(
    $$
    select l.first_action_completed, l.contact_sla_breached, l.sla_breached
    from public.crm_leads as l where l.id = '1ead0000-0000-4000-8000-000000000001'
    $$,
    $$values (true, false, false)$$,
    'first action within the contact window: no breach'
);
select throws_ok(
    $$select public.complete_first_action('1ead0000-0000-4000-8000-000000000001')$$,
    'SL005', null, 'recording the first action twice is refused with SL005'
);
-- Lead 3 was claimed 3 minutes ago: 2 minutes and a second more and its contact window is over.
reset role;
select from set_config('request.jwt.claims', '', true);
select from public.sla_clock_travel('2 minutes 1 second');
select from set_config(
    'request.jwt.claims',
    '{"sub": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "role": "authenticated"}', true
);
set local role authenticated;
select lives_ok(
    $$
    update public.crm_leads set first_action_completed = true
    where id = '1ead0000-0000-4000-8000-000000000003'
    $$,
    'first action by a plain UPDATE'
);
select results_eq(
    $$
    select l.first_action_completed, l.contact_sla_breached, l.sla_breached, l.claim_sla_breached
    from public.crm_leads as l where l.id = '1ead0000-0000-4000-8000-000000000003'
    $$,
    $$values (true, true, true, false)$$,
    'first action after the contact window expired: contact_sla_breached and sla_breached set'
);
reset role;
select from set_config('request.jwt.claims', '', true);

-- A late claim is flagged; a first action without a claim claims too.
select from set_config('request.jwt.claims', '{"role": "service_role"}', true);
set local role service_role;
insert into public.crm_leads (id, assigned_agent_id) values
('1ead0000-0000-4000-8000-000000000004', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'),
('1ead0000-0000-4000-8000-000000000005', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa');
reset role;
select from set_config(
    'request.jwt.claims',
    '{"sub": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "role": "authenticated"}', true
);
set local role authenticated;
select lives_ok(
    $$select public.complete_first_action('1ead0000-0000-4000-8000-000000000005')$$,
    'first action on an unclaimed lead'
);
select results_eq(
    $$
    select l.lead_claimed, l.first_action_completed,
        l.contact_timer_started_at between public.sla_now() and public.crm_sla_clock_now()
    from public.crm_leads as l where l.id = '1ead0000-0000-4000-8000-000000000005'
    $$,
    $$values (true, true, true)$$,
    'a first action implies the claim'
);
reset role;
select from set_config('request.jwt.claims', '', true);
select from public.sla_clock_travel('6 minutes');
select from set_config(
    'request.jwt.claims',
    '{"sub": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "role": "authenticated"}', true
);
set local role authenticated;
select lives_ok(
    $$select public.claim_lead('1ead0000-0000-4000-8000-000000000004')$$,
    'a claim after the claim window expired (before the monitor ran) still works'
);
select results_eq(
    $$
    select l.assigned_agent_id, l.lead_claimed, l.claim_sla_breached, l.sla_breached
    from public.crm_leads as l where l.id = '1ead0000-0000-4000-8000-000000000004'
    $$,
    $$values ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'::uuid, true, true, true)$$,
    'late claim: claim_sla_breached and sla_breached set, the owner keeps the lead'
);
reset role;
select from set_config('request.jwt.claims', '', true);
delete from public.crm_leads
where id in (
    '1ead0000-0000-4000-8000-000000000001', '1ead0000-0000-4000-8000-000000000003',
    '1ead0000-0000-4000-8000-000000000004', '1ead0000-0000-4000-8000-000000000005'
);

-- Claim window expired, not claimed --------------------------------------------------------------
select from set_config('request.jwt.claims', '{"role": "service_role"}', true);
set local role service_role;
insert into public.crm_leads (id, assigned_agent_id) values
('1ead0000-0000-4000-8000-000000000006', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa');
reset role;
select from set_config('request.jwt.claims', '', true);
select from public.sla_clock_travel('4 minutes 59 seconds');
select is(
    public.process_sla_timers() - 'at' - 'remaining' - 'skipped_locked' - 'routed' - 'warned'
    - 'steps' - 'flagged',
    '{"unclaimed": 0, "no_contact": 0, "escalated": 0, "no_eligible_agent": 0}'::jsonb,
    'claim window not yet expired: the monitor leaves the lead alone'
);
select from public.sla_clock_travel('1 second');
select is(
    public.process_sla_timers() - 'at' - 'remaining' - 'skipped_locked' - 'routed' - 'warned'
    - 'steps' - 'flagged',
    '{"unclaimed": 1, "no_contact": 0, "escalated": 0, "no_eligible_agent": 0}'::jsonb,
    'claim window expired: the monitor reassigns the unclaimed lead'
);
select results_eq(
    $$
    select
        l.assigned_agent_id, l.previous_agent_id, l.reassignment_count, l.reassignment_reason,
        l.reassigned_at, l.claim_sla_breached, l.sla_breached, l.contact_sla_breached,
        l.lead_claimed, l.claim_timer_started_at, l.claim_timer_expires_at,
        l.claim_window_expires_at, l.contact_timer_started_at, l.contact_timer_expires_at
    from public.crm_leads as l where l.id = '1ead0000-0000-4000-8000-000000000006'
    $$,
    $$
    values (
        'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'::uuid, 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'::uuid,
        1, 'unclaimed'::text, public.sla_now(), true, true, false, false, public.sla_now(),
        public.sla_now() + interval '5 minutes', public.sla_now() + interval '5 minutes',
        null::timestamptz, null::timestamptz
    )
    $$,
    'unclaimed: Bob owns the lead, flags set, a fresh claim window for him'
);
select results_eq(
    $$
    select a.from_agent_id, a.to_agent_id, a.reassigned_by, a.reason, a.stage, a.created_at
    from public.crm_lead_reassignments as a
    where a.lead_id = '1ead0000-0000-4000-8000-000000000006'
    $$,
    $$
    values (
        'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'::uuid, 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'::uuid,
        '00000000-0000-0000-0000-000000000000'::uuid, 'unclaimed'::text, 'claim_window'::text,
        public.sla_now()
    )
    $$,
    'unclaimed: one audit row, by the system actor, reason unclaimed, stage claim_window'
);
select from set_config(
    'request.jwt.claims',
    '{"sub": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "role": "authenticated"}', true
);
set local role authenticated;
select throws_ok(
    $$select public.claim_lead('1ead0000-0000-4000-8000-000000000006')$$,
    'SL004', null, 'the previous owner''s claim is refused with SL004 (reassigned away)'
);
reset role;
select from set_config('request.jwt.claims', '', true);

-- Contact window expired, no first action --------------------------------------------------------
-- Bob claims lead 6 and then lets the contact window run out.
select from set_config(
    'request.jwt.claims',
    '{"sub": "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb", "role": "authenticated"}', true
);
set local role authenticated;
select lives_ok(
    $$select public.claim_lead('1ead0000-0000-4000-8000-000000000006')$$,
    'the new owner claims the lead'
);
reset role;
select from set_config('request.jwt.claims', '', true);
-- A claim is timed when it is made (the clock runs on inside this transaction), a little after
-- the transaction's sla_now(): a minute more makes sure its contact window has run out.
select from public.sla_clock_travel('6 minutes');
select is(
    public.process_sla_timers() - 'at' - 'remaining' - 'skipped_locked' - 'routed' - 'warned'
    - 'steps' - 'flagged',
    '{"unclaimed": 0, "no_contact": 1, "escalated": 0, "no_eligible_agent": 0}'::jsonb,
    'contact window expired: the monitor reassigns the lead'
);
select results_eq(
    $$
    select
        l.assigned_agent_id, l.previous_agent_id, l.reassignment_count, l.reassignment_reason,
        l.contact_sla_breached, l.claim_sla_breached, l.sla_breached, l.lead_claimed,
        l.first_action_completed, l.contact_timer_started_at, l.contact_timer_expires_at,
        l.claim_timer_expires_at
    from public.crm_leads as l where l.id = '1ead0000-0000-4000-8000-000000000006'
    $$,
    $$
    values (
        'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'::uuid, 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'::uuid,
        2, 'no_contact'::text, true, true, true, false, false, null::timestamptz,
        null::timestamptz, public.sla_now() + interval '5 minutes'
    )
    $$,
    'no contact: back to Ann, contact flag set, earlier flags kept, claim stage restarted'
);
select results_eq(
    $$
    select a.from_agent_id, a.to_agent_id, a.reassigned_by, a.reason, a.stage
    from public.crm_lead_reassignments as a
    where a.lead_id = '1ead0000-0000-4000-8000-000000000006'
    order by a.created_at, a.reason desc
    $$,
    $$
    values
    (
        'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'::uuid, 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'::uuid,
        '00000000-0000-0000-0000-000000000000'::uuid, 'unclaimed'::text, 'claim_window'::text
    ),
    (
        'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'::uuid, 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'::uuid,
        '00000000-0000-0000-0000-000000000000'::uuid, 'no_contact'::text, 'contact_window'::text
    )
    $$,
    'no contact: a second audit row, reason no_contact, stage contact_window'
);

-- Manual reassignment ----------------------------------------------------------------------------
select from set_config(
    'request.jwt.claims',
    '{"sub": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "role": "authenticated"}', true
);
set local role authenticated;
select throws_ok(
    $$
    select public.reassign_lead(
        '1ead0000-0000-4000-8000-000000000006', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'
    )
    $$,
    'SL006', null, 'an agent may not reassign leads (SL006)'
);
reset role;
select from set_config(
    'request.jwt.claims',
    '{"sub": "dddddddd-dddd-4ddd-8ddd-dddddddddddd", "role": "authenticated"}', true
);
set local role authenticated;
select throws_ok(
    $$
    select public.reassign_lead(
        '1ead0000-0000-4000-8000-000000000006', '00000000-0000-0000-0000-000000000000'
    )
    $$,
    'SL007', null, 'the system actor cannot be given a lead (SL007)'
);
select throws_ok(
    $$
    select public.reassign_lead(
        '1ead0000-0000-4000-8000-000000000006', 'cccccccc-0000-4000-8000-00000000ffff'
    )
    $$,
    'SL007', null, 'an agent that does not exist cannot be given a lead (SL007)'
);
select throws_ok(
    $$
    select public.reassign_lead(
        '1ead0000-0000-4000-8000-000000000006', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'
    )
    $$,
    'SL008', null, 'reassigning a lead to its owner is refused (SL008)'
);
select throws_ok(
    $$
    select public.reassign_lead(
        '1ead0000-0000-4000-8000-0000000000ff', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'
    )
    $$,
    'SL001', null, 'reassigning a lead that does not exist is refused (SL001)'
);
select throws_ok(
    $$select public.reassign_lead('1ead0000-0000-4000-8000-000000000006', null)$$,
    'SL010', null, 'reassign_lead without an agent is refused (SL010)'
);
select throws_ok(
    $$
    select public.reassign_lead(
        '1ead0000-0000-4000-8000-000000000006', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb',
        repeat('x', 2001)
    )
    $$,
    'SL010', null, 'notes over 2000 characters are refused (SL010)'
);
select lives_ok(
    $$
    select public.reassign_lead(
        '1ead0000-0000-4000-8000-000000000006', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb',
        'Bob knows this customer'
    )
    $$,
    'manual: an admin reassigns a lead with reassign_lead()'
);
reset role;
select from set_config('request.jwt.claims', '', true);
select results_eq(
    $$
    select l.assigned_agent_id, l.previous_agent_id, l.reassignment_count, l.reassignment_reason,
        l.lead_claimed, l.claim_timer_started_at
    from public.crm_leads as l where l.id = '1ead0000-0000-4000-8000-000000000006'
    $$,
    $$
    values (
        'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'::uuid, 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'::uuid,
        3, 'manual'::text, false, public.sla_now()
    )
    $$,
    'manual: Bob owns the lead with a fresh claim window, reason manual'
);
select results_eq(
    $$
    select a.from_agent_id, a.to_agent_id, a.reassigned_by, a.stage, a.notes
    from public.crm_lead_reassignments as a
    where a.lead_id = '1ead0000-0000-4000-8000-000000000006' and a.reason = 'manual'
    $$,
    $$
    values (
        'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'::uuid, 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'::uuid,
        'dddddddd-dddd-4ddd-8ddd-dddddddddddd'::uuid, 'manual'::text,
        'Bob knows this customer'::text
    )
    $$,
    'manual: the audit row names the admin as reassigned_by, stage manual, with the notes'
);

-- Warning before the breach ---------------------------------------------------------------------
select from set_config('request.jwt.claims', '{"role": "service_role"}', true);
set local role service_role;
insert into public.crm_leads (id, assigned_agent_id) values
('1ead0000-0000-4000-8000-000000000009', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa');
reset role;
select from set_config('request.jwt.claims', '', true);
select is(
    (
        select l.sla_warn_at - l.claim_timer_started_at from public.crm_leads as l
        where l.id = '1ead0000-0000-4000-8000-000000000009'
    ),
    interval '4 minutes',
    'a 5-minute claim timer warns at 0.8 of its window (crm_sla_settings.warn_at)'
);
select from public.sla_clock_travel('3 minutes 59 seconds');
select from public.process_sla_timers();
select is(
    (
        select count(*)::integer from public.crm_sla_outbox as o
        where o.lead_id = '1ead0000-0000-4000-8000-000000000009' and o.event = 'warning'
    ),
    0,
    'no warning before warn_at of the window'
);
select from public.sla_clock_travel('2 seconds');
select from public.process_sla_timers();
select from public.process_sla_timers();
select results_eq(
    $$
    select o.agent_id, o.payload ->> 'stage', (o.payload ->> 'expires_at')::timestamptz
    from public.crm_sla_outbox as o
    where o.lead_id = '1ead0000-0000-4000-8000-000000000009' and o.event = 'warning'
    $$,
    $$
    select
        'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'::uuid, 'claim_window'::text,
        l.claim_timer_expires_at
    from public.crm_leads as l where l.id = '1ead0000-0000-4000-8000-000000000009'
    $$,
    'one warning event a timer run, for the owner, with the stage and the deadline'
);
select ok(
    (
        select t.timer_warned from public.crm_lead_sla_timers as t
        where t.lead_id = '1ead0000-0000-4000-8000-000000000009'
    ),
    'the lead card shows the warned timer (timer_warned)'
);
select from set_config(
    'request.jwt.claims',
    '{"sub": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "role": "authenticated"}', true
);
set local role authenticated;
select throws_ok(
    $$update public.crm_leads set sla_warned_at = null
    where id = '1ead0000-0000-4000-8000-000000000009'$$,
    'SL009', null, 'the owner cannot write the warning columns (SL009)'
);
reset role;
select from set_config('request.jwt.claims', '', true);

-- The monitor's report and the clock -------------------------------------------------------------
select ok(
    public.process_sla_timers()
    ?& array['unclaimed', 'no_contact', 'escalated', 'no_eligible_agent'],
    'process_sla_timers() reports unclaimed, no_contact, escalated and no_eligible_agent'
);
select throws_ok(
    $$select public.sla_clock_travel('-1 minute')$$,
    'SL010', null, 'the SLA clock never moves backwards (SL010)'
);
select is(
    public.sla_clock_reset(), now(), 'sla_clock_reset() puts the SLA clock back on the wall clock'
);
select is(public.sla_now(), now(), 'after a reset sla_now() is now()');

select * from finish();

rollback;
