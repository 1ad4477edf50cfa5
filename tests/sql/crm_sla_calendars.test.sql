-- crm-sla pgTAP suite: business-hours calendars and SLA policies (docs/policies.md):
-- sla_business_add and sla_business_elapsed across DST in two zones, overnight hours,
-- 24:00, holidays, a start in closed time, long durations, elapsed both ways; refusals by SQLSTATE;
-- a policy chosen at intake and followed by the lead's timers; re-planning; who may do what.
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

select plan(30);

-- The world --------------------------------------------------------------------------------------
-- Whatever else this database holds stays out of the way until the rollback.
update public.crm_agents set is_active = false, accepting_leads = false
where role <> 'system';
update public.crm_sla_policies set is_active = false;
update public.crm_sla_settings
set claim_window = '5 minutes', contact_window = '5 minutes', calendar_id = null;

set local timezone = 'UTC';

insert into public.crm_sla_calendars (id, name, time_zone) values
('ca100000-0000-4000-8000-000000000001', 'crm-sla test: Berlin, always open', 'Europe/Berlin'),
('ca100000-0000-4000-8000-000000000002', 'crm-sla test: New York, always open', 'America/New_York'),
('ca100000-0000-4000-8000-000000000003', 'crm-sla test: Berlin night shift', 'Europe/Berlin'),
('ca100000-0000-4000-8000-000000000004', 'crm-sla test: New York office', 'America/New_York');
insert into public.crm_sla_calendar_hours (calendar_id, weekday, opens, closes)
select
    h.id::uuid,
    d,
    h.opens::time,
    h.closes::time
from (
    values
    ('ca100000-0000-4000-8000-000000000001', '00:00', '24:00'),
    ('ca100000-0000-4000-8000-000000000002', '00:00', '24:00'),
    ('ca100000-0000-4000-8000-000000000003', '22:00', '06:00')
) as h (id, opens, closes)
cross join generate_series(0, 6) as d;
insert into public.crm_sla_calendar_hours (calendar_id, weekday, opens, closes)
select
    'ca100000-0000-4000-8000-000000000004' as calendar_id,
    d as weekday,
    '09:00' as opens,
    '17:00' as closes
from generate_series(1, 5) as d;

-- DST both ways, two zones -----------------------------------------------------------------------
select is(
    public.sla_business_add(
        'ca100000-0000-4000-8000-000000000001', '2026-03-28 12:00+01', '24 hours'
    ),
    '2026-03-29 13:00+02'::timestamptz,
    'Berlin, spring: a day of 23 hours, so 24 open hours end at 13:00 the next day'
);
select is(
    public.sla_business_add(
        'ca100000-0000-4000-8000-000000000001', '2026-10-24 12:00+02', '24 hours'
    ),
    '2026-10-25 11:00+01'::timestamptz,
    'Berlin, autumn: a day of 25 hours, so 24 open hours end at 11:00 the next day'
);
select is(
    public.sla_business_add(
        'ca100000-0000-4000-8000-000000000002', '2026-03-07 12:00-05', '24 hours'
    ),
    '2026-03-08 13:00-04'::timestamptz,
    'New York, spring: 24 open hours end at 13:00 the next day'
);
select is(
    public.sla_business_elapsed(
        'ca100000-0000-4000-8000-000000000002', '2026-10-31 12:00-04', '2026-11-01 12:00-05'
    ),
    interval '25 hours',
    'New York, autumn: noon to noon is 25 open hours'
);
select is(
    public.sla_business_elapsed(
        'ca100000-0000-4000-8000-000000000003', '2026-03-28 20:00+01', '2026-03-29 08:00+02'
    ),
    interval '7 hours',
    'an overnight shift (22:00 to 06:00) is 7 hours on the spring night'
);
select is(
    public.sla_business_elapsed(
        'ca100000-0000-4000-8000-000000000003', '2026-10-24 20:00+02', '2026-10-25 08:00+01'
    ),
    interval '9 hours',
    'and 9 hours on the autumn night'
);

-- Overnight, 24:00, holidays, closed time --------------------------------------------------------
select is(
    public.sla_business_add(
        'ca100000-0000-4000-8000-000000000003', '2026-06-02 23:00+02', '2 hours'
    ),
    '2026-06-03 01:00+02'::timestamptz,
    'an overnight stretch runs past midnight'
);
select is(
    public.sla_business_add(
        'ca100000-0000-4000-8000-000000000001', '2026-06-02 23:30+02', '30 minutes'
    ),
    '2026-06-03 00:00+02'::timestamptz,
    'closes 24:00 is midnight: exactly at its end'
);
insert into public.crm_sla_holidays (calendar_id, day, name) values
('ca100000-0000-4000-8000-000000000003', '2026-06-03', 'crm-sla test holiday');
select is(
    public.sla_business_elapsed(
        'ca100000-0000-4000-8000-000000000003', '2026-06-02 20:00+02', '2026-06-03 20:00+02'
    ),
    interval '2 hours',
    'a holiday cuts an overnight stretch at its midnight (22:00 to 24:00 is left)'
);
select is(
    public.sla_business_add(
        'ca100000-0000-4000-8000-000000000004', '2026-11-27 16:58-05', '5 minutes'
    ),
    '2026-11-30 09:03-05'::timestamptz,
    'a Friday 16:58 lead with 5 minutes: 2 on Friday, 3 from Monday''s opening'
);
select is(
    public.sla_business_add(
        'ca100000-0000-4000-8000-000000000004', '2026-11-28 10:00-05', '1 hour'
    ),
    '2026-11-30 10:00-05'::timestamptz,
    'a start in closed time counts from the next opening'
);

-- Long durations, elapsed both ways, no calendar -------------------------------------------------
select is(
    public.sla_business_elapsed(
        'ca100000-0000-4000-8000-000000000004', '2026-11-27 16:58-05',
        public.sla_business_add(
            'ca100000-0000-4000-8000-000000000004', '2026-11-27 16:58-05', '2000 hours'
        )
    ),
    interval '2000 hours',
    'a year of office hours ahead: elapsed gives back the duration'
);
select is(
    public.sla_business_elapsed(
        'ca100000-0000-4000-8000-000000000004', '2026-12-02 12:00-05', '2026-11-30 12:00-05'
    ),
    interval '-16 hours',
    'elapsed is negative when p_to is before p_from'
);
select is(
    public.sla_business_add(null, '2026-11-27 16:58-05', '5 minutes'),
    '2026-11-27 17:03-05'::timestamptz,
    'a NULL calendar is around the clock'
);

-- Refusals: SL010 and nothing written ------------------------------------------------------------
select throws_ok(
    $$insert into public.crm_sla_calendars (name, time_zone) values ('crm-sla test', 'Mars/Base')$$,
    'SL010', null, 'an unknown time zone is refused (SL010)'
);
select throws_ok(
    $$insert into public.crm_sla_calendar_hours values
    ('ca100000-0000-4000-8000-000000000004', 7, '09:00', '17:00')$$,
    'SL010', null, 'a weekday out of range is refused (SL010)'
);
select throws_ok(
    $$insert into public.crm_sla_calendar_hours values
    ('ca100000-0000-4000-8000-000000000004', 1, '09:00', '09:00')$$,
    'SL010', null, 'opens = closes is refused (SL010)'
);
select throws_ok(
    $$insert into public.crm_sla_holidays (calendar_id, day) values
    ('ca100000-0000-4000-8000-000000000003', '2026-06-03')$$,
    'SL010', null, 'a duplicate holiday is refused (SL010)'
);
select throws_ok(
    $$select public.sla_business_add('ca100000-0000-4000-8000-000000000004', null, '1 hour')$$,
    'SL010', null, 'a NULL instant is refused (SL010)'
);
select is(
    (
        select count(*) from public.crm_sla_calendar_hours
        where calendar_id = 'ca100000-0000-4000-8000-000000000004'
    ),
    5::bigint,
    'the refused hours were not written'
);

-- Policies ---------------------------------------------------------------------------------------
-- The CRM may have only the baseline columns: the policies match a column this transaction adds
-- (rolled back with it). Where crm_agents.id references auth.users (Supabase), Ann's user first.
alter table public.crm_leads add column crm_sla_test_source text;
do $$
begin
    if exists (
        select from pg_catalog.pg_constraint as c
        where c.conrelid = 'public.crm_agents'::regclass and c.contype = 'f'
            and c.confrelid = to_regclass('auth.users')
    ) then
        insert into auth.users (id, email) values
        ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'ann@crm-sla.invalid')
        on conflict (id) do nothing;
    end if;
end
$$;
insert into public.crm_agents (id, full_name, email, role) values
('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'Ann (crm-sla test)', 'ann@crm-sla.invalid', 'agent')
on conflict (id) do update set is_active = true, accepting_leads = true, role = 'agent';
insert into public.crm_sla_policies (id, name, priority, match, claim_window, calendar_id) values
(
    'b0100000-0000-4000-8000-000000000001', 'crm-sla test: hot web', 10,
    '{"crm_sla_test_source": "web"}', '2 minutes', null
),
(
    'b0100000-0000-4000-8000-000000000002', 'crm-sla test: partner', 20,
    '{"crm_sla_test_source": "partner"}', '30 minutes', 'ca100000-0000-4000-8000-000000000004'
);
select from set_config('request.jwt.claims', '{"role": "service_role"}', true);
set local role service_role;
insert into public.crm_leads (id, assigned_agent_id, crm_sla_test_source) values
('1ead0000-0000-4000-8000-0000000000a1', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'web'),
('1ead0000-0000-4000-8000-0000000000a2', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'partner'),
('1ead0000-0000-4000-8000-0000000000a3', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'fax');
select throws_ok(
    $$update public.crm_leads set sla_policy_id = null
    where id = '1ead0000-0000-4000-8000-0000000000a1'$$,
    'SL009', null, 'the lead''s policy is engine-owned (SL009)'
);
reset role;
select from set_config('request.jwt.claims', '', true);

select results_eq(
    $$
    select l.sla_policy_id, l.claim_timer_expires_at - l.claim_timer_started_at
    from public.crm_leads as l
    where l.id in ('1ead0000-0000-4000-8000-0000000000a1', '1ead0000-0000-4000-8000-0000000000a3')
    order by l.crm_sla_test_source
    $$,
    $$
    values (null::uuid, interval '5 minutes'),
    ('b0100000-0000-4000-8000-000000000001'::uuid, interval '2 minutes')
    $$,
    'one INSERT: a web lead gets the hot web policy, a fax lead the settings'' defaults'
);
select is(
    (
        select l.claim_timer_expires_at from public.crm_leads as l
        where l.id = '1ead0000-0000-4000-8000-0000000000a2'
    ),
    (
        select
            public.sla_business_add(
                'ca100000-0000-4000-8000-000000000004', l.claim_timer_started_at, '30 minutes'
            )
        from public.crm_leads as l
        where l.id = '1ead0000-0000-4000-8000-0000000000a2'
    ),
    'a partner lead''s claim window counts in its calendar''s open time'
);

-- Re-planning ------------------------------------------------------------------------------------
insert into public.crm_sla_holidays (calendar_id, day)
select
    'ca100000-0000-4000-8000-000000000004' as calendar_id,
    d::date as day
from generate_series(
    public.sla_now() - interval '1 day', public.sla_now() + interval '9 days',
    interval '1 day'
) as d;
select is(
    (
        select l.claim_timer_expires_at from public.crm_leads as l
        where l.id = '1ead0000-0000-4000-8000-0000000000a2'
    ),
    (
        select
            public.sla_business_add(
                'ca100000-0000-4000-8000-000000000004', l.claim_timer_started_at, '30 minutes'
            )
        from public.crm_leads as l
        where l.id = '1ead0000-0000-4000-8000-0000000000a2'
    ),
    'new holidays re-plan the running timer, in the same transaction'
);
select cmp_ok(
    (
        select l.claim_timer_expires_at from public.crm_leads as l
        where l.id = '1ead0000-0000-4000-8000-0000000000a2'
    ),
    '>',
    public.sla_now() + interval '9 days',
    'the re-planned deadline is after the holidays'
);
select is(
    (
        select (policy_name, timer_paused) from public.crm_lead_sla_timers
        where lead_id = '1ead0000-0000-4000-8000-0000000000a2'
    ),
    ('crm-sla test: partner'::text, true),
    'the lead card names the policy and shows the timer paused'
);

-- Who may do what ------------------------------------------------------------------------------
select from set_config(
    'request.jwt.claims',
    '{"sub": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "role": "authenticated"}', true
);
set local role authenticated;
select ok(
    (
        select count(*) from public.crm_sla_policies
        where name like 'crm-sla test:%'
    ) = 2,
    'an agent reads the policies'
);
select throws_ok(
    $$insert into public.crm_sla_holidays (calendar_id, day) values
    ('ca100000-0000-4000-8000-000000000004', '2030-01-01')$$,
    '42501', null, 'an agent cannot write holidays'
);
select is(
    public.sla_business_elapsed(
        'ca100000-0000-4000-8000-000000000001', '2026-06-01 00:00+02', '2026-06-01 01:00+02'
    ),
    interval '1 hour',
    'an agent may call sla_business_elapsed'
);
reset role;
select from set_config('request.jwt.claims', '', true);
set local role anon;
select throws_ok(
    $$select count(*) from public.crm_sla_calendars$$,
    '42501', null, 'anon reads no calendars'
);
reset role;

select * from finish();

rollback;
