-- crm-sla pgTAP suite: choosing the next agent. Round robin among eligible agents (active,
-- accepting leads, never the current owner), preferring agents who never held the lead;
-- escalation to an admin after max_reassignments; leads that nobody can take.
-- Everything happens in one transaction, rolled back.
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

select plan(20);

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

-- Owen owns the leads; Ann, Bob and Cid take them over; Dee is an admin, Ian is inactive, Liv is
-- on leave (not accepting leads). Where crm_agents.id references auth.users (a Supabase CRM), the
-- users are created first.
do $$
begin
    if exists (
        select from pg_catalog.pg_constraint as c
        where c.conrelid = 'public.crm_agents'::regclass and c.contype = 'f'
            and c.confrelid = to_regclass('auth.users')
    ) then
        insert into auth.users (id, email) values
        ('0e0e0e0e-0e0e-4e0e-8e0e-0e0e0e0e0e0e', 'owen@crm-sla.invalid'),
        ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'ann@crm-sla.invalid'),
        ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'bob@crm-sla.invalid'),
        ('cccccccc-cccc-4ccc-8ccc-cccccccccccc', 'cid@crm-sla.invalid'),
        ('dddddddd-dddd-4ddd-8ddd-dddddddddddd', 'dee@crm-sla.invalid'),
        ('1a1a1a1a-1a1a-4a1a-8a1a-1a1a1a1a1a1a', 'ian@crm-sla.invalid'),
        ('15151515-1515-4515-8515-151515151515', 'liv@crm-sla.invalid')
        on conflict (id) do nothing;
    end if;
end
$$;
insert into public.crm_agents (id, full_name, email, role, is_active, accepting_leads) values
(
    '0e0e0e0e-0e0e-4e0e-8e0e-0e0e0e0e0e0e', 'Owen (crm-sla test)', 'owen@crm-sla.invalid',
    'agent', true, false
),
(
    'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'Ann (crm-sla test)', 'ann@crm-sla.invalid',
    'agent', true, true
),
(
    'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'Bob (crm-sla test)', 'bob@crm-sla.invalid',
    'agent', true, true
),
(
    'cccccccc-cccc-4ccc-8ccc-cccccccccccc', 'Cid (crm-sla test)', 'cid@crm-sla.invalid',
    'agent', true, true
),
(
    'dddddddd-dddd-4ddd-8ddd-dddddddddddd', 'Dee (crm-sla test)', 'dee@crm-sla.invalid',
    'admin', true, true
),
(
    '1a1a1a1a-1a1a-4a1a-8a1a-1a1a1a1a1a1a', 'Ian (crm-sla test)', 'ian@crm-sla.invalid',
    'agent', false, true
),
(
    '15151515-1515-4515-8515-151515151515', 'Liv (crm-sla test)', 'liv@crm-sla.invalid',
    'agent', true, false
)
on conflict (id) do update
    set
        role = excluded.role, is_active = excluded.is_active,
        accepting_leads = excluded.accepting_leads;

-- Round robin ------------------------------------------------------------------------------------
-- Nine of Owen's leads miss the claim window at once: Ann, Bob and Cid get three each.
insert into public.crm_leads (id, assigned_agent_id)
select
    ('1ead0000-0000-4000-8000-00000000000' || n)::uuid as id,
    '0e0e0e0e-0e0e-4e0e-8e0e-0e0e0e0e0e0e'::uuid as assigned_agent_id
from generate_series(1, 9) as n;
select from public.sla_clock_travel('5 minutes');
select is(
    public.process_sla_timers() - 'at' - 'remaining' - 'skipped_locked' - 'routed' - 'warned'
    - 'steps' - 'flagged',
    '{"unclaimed": 9, "no_contact": 0, "escalated": 0, "no_eligible_agent": 0}'::jsonb,
    'round robin: the monitor reassigns all nine expired leads in one pass'
);
select results_eq(
    $$
    select l.assigned_agent_id, count(*)::int
    from public.crm_leads as l
    where l.previous_agent_id = '0e0e0e0e-0e0e-4e0e-8e0e-0e0e0e0e0e0e'
    group by l.assigned_agent_id
    order by l.assigned_agent_id
    $$,
    $$
    values
    ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'::uuid, 3),
    ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'::uuid, 3),
    ('cccccccc-cccc-4ccc-8ccc-cccccccccccc'::uuid, 3)
    $$,
    'round robin: each eligible agent gets the same share (never the admin, the inactive '
    || 'agent, the agent on leave or the system actor)'
);
delete from public.crm_leads
where previous_agent_id = '0e0e0e0e-0e0e-4e0e-8e0e-0e0e0e0e0e0e';

-- The queue goes on across runs: after three more leads everyone has four.
insert into public.crm_leads (id, assigned_agent_id)
select
    ('1ead0000-0000-4000-8000-0000000000' || n)::uuid as id,
    '0e0e0e0e-0e0e-4e0e-8e0e-0e0e0e0e0e0e'::uuid as assigned_agent_id
from generate_series(10, 12) as n;
select from public.sla_clock_travel('5 minutes');
select from public.process_sla_timers();
select set_eq(
    $$
    select l.assigned_agent_id from public.crm_leads as l
    where l.previous_agent_id = '0e0e0e0e-0e0e-4e0e-8e0e-0e0e0e0e0e0e'
    $$,
    $$
    values
    ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'::uuid),
    ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'::uuid),
    ('cccccccc-cccc-4ccc-8ccc-cccccccccccc'::uuid)
    $$,
    'round robin continues across monitor runs: the next three leads go to three agents'
);
delete from public.crm_leads
where previous_agent_id = '0e0e0e0e-0e0e-4e0e-8e0e-0e0e0e0e0e0e';

-- Preferring agents who never held the lead ------------------------------------------------------
insert into public.crm_leads (id, assigned_agent_id) values
('1ead0000-0000-4000-8000-000000000020', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa');
select from public.sla_clock_travel('5 minutes');
select from public.process_sla_timers();
select from public.sla_clock_travel('5 minutes');
select from public.process_sla_timers();
select results_eq(
    $$
    select count(distinct a.to_agent_id)::int, bool_and(a.to_agent_id <> a.from_agent_id)
    from public.crm_lead_reassignments as a
    where a.lead_id = '1ead0000-0000-4000-8000-000000000020'
    $$,
    $$values (2, true)$$,
    'two breaches: the lead went to two different agents, never back to its owner'
);
select set_eq(
    $$
    select a.to_agent_id from public.crm_lead_reassignments as a
    where a.lead_id = '1ead0000-0000-4000-8000-000000000020'
    $$,
    $$
    values
    ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'::uuid), ('cccccccc-cccc-4ccc-8ccc-cccccccccccc'::uuid)
    $$,
    'agents who never held the lead come first: Bob and Cid, not Ann again'
);

-- Escalation after max_reassignments -------------------------------------------------------------
-- Lead 20 has been reassigned twice; with max_reassignments = 2 its next breach goes to the admin.
update public.crm_sla_settings set max_reassignments = 2;
select from public.sla_clock_travel('5 minutes');
select is(
    public.process_sla_timers() - 'at' - 'remaining' - 'skipped_locked' - 'routed' - 'warned'
    - 'steps' - 'flagged',
    '{"unclaimed": 0, "no_contact": 0, "escalated": 1, "no_eligible_agent": 0}'::jsonb,
    'after max_reassignments the next breach escalates the lead'
);
select results_eq(
    $$
    select l.assigned_agent_id, l.reassignment_count, l.sla_escalated_at is not null
    from public.crm_leads as l where l.id = '1ead0000-0000-4000-8000-000000000020'
    $$,
    $$values ('dddddddd-dddd-4ddd-8ddd-dddddddddddd'::uuid, 3, true)$$,
    'escalated: the admin owns the lead, and it is marked escalated'
);
select results_eq(
    $$
    select a.to_agent_id, a.reason, a.stage, a.reassigned_by
    from public.crm_lead_reassignments as a
    where a.lead_id = '1ead0000-0000-4000-8000-000000000020'
    order by a.created_at desc
    limit 1
    $$,
    $$
    values (
        'dddddddd-dddd-4ddd-8ddd-dddddddddddd'::uuid, 'unclaimed'::text, 'claim_window'::text,
        '00000000-0000-0000-0000-000000000000'::uuid
    )
    $$,
    'escalated: still an audit row with the breach''s reason and stage'
);
select from public.sla_clock_travel('1 hour');
select is(
    public.process_sla_timers() - 'at' - 'remaining' - 'skipped_locked' - 'routed' - 'warned'
    - 'steps' - 'flagged',
    '{"unclaimed": 0, "no_contact": 0, "escalated": 0, "no_eligible_agent": 0}'::jsonb,
    'an escalated lead is left alone by the monitor'
);
select is(
    (
        select l.assigned_agent_id from public.crm_leads as l
        where l.id = '1ead0000-0000-4000-8000-000000000020'
    ),
    'dddddddd-dddd-4ddd-8ddd-dddddddddddd'::uuid,
    'an escalated lead stays with the admin'
);
delete from public.crm_leads
where id = '1ead0000-0000-4000-8000-000000000020';
update public.crm_sla_settings set max_reassignments = 3;

-- Nobody eligible --------------------------------------------------------------------------------
-- Only Ann takes leads; her own lead expires: nobody can take it.
update public.crm_agents set accepting_leads = false
where id in ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'cccccccc-cccc-4ccc-8ccc-cccccccccccc');
insert into public.crm_leads (id, assigned_agent_id) values
('1ead0000-0000-4000-8000-000000000030', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa');
select from public.sla_clock_travel('5 minutes');
select is(
    public.process_sla_timers() - 'at' - 'remaining' - 'skipped_locked' - 'routed' - 'warned'
    - 'steps' - 'flagged',
    '{"unclaimed": 0, "no_contact": 0, "escalated": 0, "no_eligible_agent": 1}'::jsonb,
    'nobody eligible: the monitor reports it'
);
select results_eq(
    $$
    select l.assigned_agent_id, l.claim_sla_breached, l.sla_breached, l.reassignment_count
    from public.crm_leads as l where l.id = '1ead0000-0000-4000-8000-000000000030'
    $$,
    $$values ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'::uuid, true, true, 0)$$,
    'nobody eligible: the lead stays with its owner, flagged'
);
select is_empty(
    $$
    select reason, stage, from_agent_id, to_agent_id from public.crm_lead_reassignments
    where lead_id = '1ead0000-0000-4000-8000-000000000030'
    $$,
    'nobody eligible: no audit row'
);
-- Bob comes back: the next run moves the lead.
update public.crm_agents set accepting_leads = true
where id = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
select is(
    public.process_sla_timers() - 'at' - 'remaining' - 'skipped_locked' - 'routed' - 'warned'
    - 'steps' - 'flagged',
    '{"unclaimed": 1, "no_contact": 0, "escalated": 0, "no_eligible_agent": 0}'::jsonb,
    'the next run retries the lead once someone is eligible'
);
select is(
    (
        select l.assigned_agent_id from public.crm_leads as l
        where l.id = '1ead0000-0000-4000-8000-000000000030'
    ),
    'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'::uuid,
    'the retried lead now belongs to Bob'
);

-- A lead that arrives while nobody can take it ---------------------------------------------------
update public.crm_agents set accepting_leads = false
where id = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
update public.crm_agents set is_active = false
where id = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
insert into public.crm_leads (id) values
('1ead0000-0000-4000-8000-000000000040');
select is(
    (
        select l.assigned_agent_id from public.crm_leads as l
        where l.id = '1ead0000-0000-4000-8000-000000000040'
    ),
    null,
    'a lead that arrives while nobody is eligible waits without an owner'
);
update public.crm_agents set accepting_leads = true
where id = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';
select from public.sla_clock_travel('1 minute');
select is(
    (public.process_sla_timers() ->> 'routed')::int, 1,
    'the monitor routes the waiting lead once someone is eligible'
);
select results_eq(
    $$
    select l.assigned_agent_id, l.claim_timer_started_at, l.reassignment_count
    from public.crm_leads as l where l.id = '1ead0000-0000-4000-8000-000000000040'
    $$,
    $$values ('cccccccc-cccc-4ccc-8ccc-cccccccccccc'::uuid, public.sla_now(), 0)$$,
    'routed by the monitor: a first assignment with a fresh claim timer, no reassignment'
);

-- An agent off shift is not eligible ------------------------------------------------------------
-- Cid, the only one left, gets a shift calendar that is closed today (a holiday on today's date).
insert into public.crm_sla_calendars (id, name, time_zone) values
('ca1e0000-0000-4000-8000-000000000001', 'pgTAP shift', 'UTC');
insert into public.crm_sla_calendar_hours (calendar_id, weekday, opens, closes)
select
    'ca1e0000-0000-4000-8000-000000000001'::uuid as calendar_id,
    d as weekday,
    '00:00'::time as opens,
    '24:00'::time as closes
from generate_series(0, 6) as d;
insert into public.crm_sla_holidays (calendar_id, day)
select
    'ca1e0000-0000-4000-8000-000000000001'::uuid as calendar_id,
    (public.sla_now() at time zone 'UTC')::date + d as day
from generate_series(0, 1) as d;
insert into public.crm_sla_agent_routing (agent_id, calendar_id) values
('cccccccc-cccc-4ccc-8ccc-cccccccccccc', 'ca1e0000-0000-4000-8000-000000000001')
on conflict (agent_id) do update set calendar_id = excluded.calendar_id;
insert into public.crm_leads (id) values
('1ead0000-0000-4000-8000-000000000050');
select is(
    (
        select l.assigned_agent_id from public.crm_leads as l
        where l.id = '1ead0000-0000-4000-8000-000000000050'
    ),
    null,
    'an agent off shift gets no lead: it waits without an owner'
);
select results_eq(
    $$
    select e.eligible, e.reason
    from public.crm_sla_explain_routing('1ead0000-0000-4000-8000-000000000050') as e
    where e.agent_id = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc'
    $$,
    $$values (false, 'off shift')$$,
    'explain says the agent is off shift'
);

select * from finish();

rollback;
