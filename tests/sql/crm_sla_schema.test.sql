-- crm-sla pgTAP suite: the schema the engine relies on (the seed's columns, indexes, audit table,
-- triggers, functions, settings). Runs with pg_prove on any database where `make migrate` ran,
-- or as supabase/tests/database/crm_sla_schema.test.sql with `supabase test db`; changes nothing.
begin;

-- pgTAP itself, created inside this transaction when missing (so the rollback removes it again);
-- on Supabase it goes in the extensions schema, as Supabase's own examples do.
do $$
begin
    if to_regnamespace('extensions') is not null then
        create extension if not exists pgtap with schema extensions;
    else
        create extension if not exists pgtap;
    end if;
end
$$;

select plan(78);

-- Tables -----------------------------------------------------------------------------------------
select has_table('public', 'crm_agents', 'table crm_agents exists');
select has_table('public', 'crm_leads', 'table crm_leads exists');
select has_table('public', 'crm_lead_reassignments', 'table crm_lead_reassignments exists');
select has_table('public', 'crm_sla_settings', 'table crm_sla_settings exists');
select has_table('public', 'crm_sla_clock', 'table crm_sla_clock exists');

-- The seed's lead columns, with the seed's types and defaults ------------------------------------
select col_type_is(
    'public', 'crm_leads', 'claim_timer_started_at', 'timestamp with time zone',
    'crm_leads.claim_timer_started_at is timestamptz'
);
select col_type_is(
    'public', 'crm_leads', 'claim_timer_expires_at', 'timestamp with time zone',
    'crm_leads.claim_timer_expires_at is timestamptz'
);
select col_type_is(
    'public', 'crm_leads', 'contact_timer_started_at', 'timestamp with time zone',
    'crm_leads.contact_timer_started_at is timestamptz'
);
select col_type_is(
    'public', 'crm_leads', 'contact_timer_expires_at', 'timestamp with time zone',
    'crm_leads.contact_timer_expires_at is timestamptz'
);
select col_type_is(
    'public', 'crm_leads', 'claim_sla_breached', 'boolean',
    'crm_leads.claim_sla_breached is boolean'
);
select col_default_is(
    'public', 'crm_leads', 'claim_sla_breached', 'false',
    'crm_leads.claim_sla_breached defaults to false'
);
select col_type_is(
    'public', 'crm_leads', 'contact_sla_breached', 'boolean',
    'crm_leads.contact_sla_breached is boolean'
);
select col_default_is(
    'public', 'crm_leads', 'contact_sla_breached', 'false',
    'crm_leads.contact_sla_breached defaults to false'
);
select col_type_is(
    'public', 'crm_leads', 'reassignment_count', 'integer',
    'crm_leads.reassignment_count is integer'
);
select col_default_is(
    'public', 'crm_leads', 'reassignment_count', '0',
    'crm_leads.reassignment_count defaults to 0'
);
select col_type_is(
    'public', 'crm_leads', 'previous_agent_id', 'uuid', 'crm_leads.previous_agent_id is uuid'
);
select fk_ok(
    'public', 'crm_leads', 'previous_agent_id', 'public', 'crm_agents', 'id',
    'crm_leads.previous_agent_id references crm_agents(id)'
);
select col_type_is(
    'public', 'crm_leads', 'reassignment_reason', 'text', 'crm_leads.reassignment_reason is text'
);
select col_type_is(
    'public', 'crm_leads', 'reassigned_at', 'timestamp with time zone',
    'crm_leads.reassigned_at is timestamptz'
);
select col_hasnt_default(
    'public', 'crm_leads', 'claim_timer_expires_at',
    'crm_leads.claim_timer_expires_at has no default (the intake trigger sets it)'
);

-- The legacy columns the seed keeps --------------------------------------------------------------
select has_column(
    'public', 'crm_leads', 'claim_window_expires_at', 'legacy crm_leads.claim_window_expires_at'
);
select has_column('public', 'crm_leads', 'sla_breached', 'legacy crm_leads.sla_breached');
select col_default_is(
    'public', 'crm_leads', 'lead_claimed', 'false', 'crm_leads.lead_claimed defaults to false'
);
select col_default_is(
    'public', 'crm_leads', 'first_action_completed', 'false',
    'crm_leads.first_action_completed defaults to false'
);
select fk_ok(
    'public', 'crm_leads', 'assigned_agent_id', 'public', 'crm_agents', 'id',
    'crm_leads.assigned_agent_id references crm_agents(id)'
);

-- The audit table, exactly as the seed defines it ------------------------------------------------
select columns_are(
    'public', 'crm_lead_reassignments',
    array[
        'id', 'lead_id', 'from_agent_id', 'to_agent_id', 'reassigned_by', 'reason', 'stage',
        'notes', 'created_at'
    ],
    'crm_lead_reassignments has exactly the seed''s columns'
);
select col_is_pk('public', 'crm_lead_reassignments', 'id', 'crm_lead_reassignments.id is the key');
select col_default_is(
    'public', 'crm_lead_reassignments', 'id', 'gen_random_uuid()',
    'crm_lead_reassignments.id defaults to gen_random_uuid()'
);
select col_not_null(
    'public', 'crm_lead_reassignments', 'lead_id', 'crm_lead_reassignments.lead_id is not null'
);
select col_is_null(
    'public', 'crm_lead_reassignments', 'from_agent_id',
    'crm_lead_reassignments.from_agent_id may be null (a lead that had no owner)'
);
select col_not_null(
    'public', 'crm_lead_reassignments', 'to_agent_id',
    'crm_lead_reassignments.to_agent_id is not null'
);
select col_not_null(
    'public', 'crm_lead_reassignments', 'reassigned_by',
    'crm_lead_reassignments.reassigned_by is not null'
);
select col_not_null(
    'public', 'crm_lead_reassignments', 'reason', 'crm_lead_reassignments.reason is not null'
);
select col_not_null(
    'public', 'crm_lead_reassignments', 'stage', 'crm_lead_reassignments.stage is not null'
);
select col_default_is(
    'public', 'crm_lead_reassignments', 'created_at', 'now()',
    'crm_lead_reassignments.created_at defaults to now()'
);
select fk_ok(
    'public', 'crm_lead_reassignments', 'lead_id', 'public', 'crm_leads', 'id',
    'crm_lead_reassignments.lead_id references crm_leads(id)'
);
select fk_ok(
    'public', 'crm_lead_reassignments', 'from_agent_id', 'public', 'crm_agents', 'id',
    'crm_lead_reassignments.from_agent_id references crm_agents(id)'
);
select fk_ok(
    'public', 'crm_lead_reassignments', 'to_agent_id', 'public', 'crm_agents', 'id',
    'crm_lead_reassignments.to_agent_id references crm_agents(id)'
);
select fk_ok(
    'public', 'crm_lead_reassignments', 'reassigned_by', 'public', 'crm_agents', 'id',
    'crm_lead_reassignments.reassigned_by references crm_agents(id)'
);
select results_eq(
    $$
    select c.confdeltype::text
    from pg_catalog.pg_constraint as c
    where c.conrelid = 'public.crm_lead_reassignments'::regclass
        and c.confrelid = 'public.crm_leads'::regclass
    $$,
    $$values ('c')$$,
    'deleting a lead deletes its audit rows (on delete cascade)'
);
select throws_ok(
    $$
    insert into public.crm_lead_reassignments
        (lead_id, to_agent_id, reassigned_by, reason, stage)
    values (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 'timeout', 'manual')
    $$,
    '23514', null,
    'an audit row''s reason must be unclaimed, no_contact or manual'
);
select throws_ok(
    $$
    insert into public.crm_lead_reassignments
        (lead_id, to_agent_id, reassigned_by, reason, stage)
    values (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 'manual', 'lunch')
    $$,
    '23514', null,
    'an audit row''s stage must be claim_window, contact_window or manual'
);

-- Indexes: what is due (crm_sla_breach_at), one index of the leads whose timer runs --------------
select is(
    (
        select pg_catalog.pg_get_indexdef(i.indexrelid, 1, true)
        from pg_catalog.pg_index as i
        where i.indexrelid = to_regclass('public.crm_leads_sla_breach_idx')
    ),
    'crm_sla_breach_at_columns(lead_claimed, first_action_completed, sla_escalated_at, '
    || 'claim_timer_expires_at, contact_timer_expires_at)',
    'crm_leads_sla_breach_idx orders leads by the instant their running timer breaches'
);
select is(
    (
        select pg_catalog.pg_get_expr(i.indpred, i.indrelid)
        from pg_catalog.pg_index as i
        where i.indexrelid = to_regclass('public.crm_leads_sla_breach_idx')
    ),
    '(crm_sla_breach_at_columns(lead_claimed, first_action_completed, sla_escalated_at, '
    || 'claim_timer_expires_at, contact_timer_expires_at) IS NOT NULL)',
    'crm_leads_sla_breach_idx covers only leads whose timer runs'
);
select hasnt_index(
    'public', 'crm_leads', 'idx_crm_leads_claim_timer_expires',
    'the claim timers'' partial index is gone (crm_leads_sla_breach_idx replaces it)'
);
select hasnt_index(
    'public', 'crm_leads', 'idx_crm_leads_contact_timer_expires',
    'the contact timers'' partial index is gone (crm_leads_sla_breach_idx replaces it)'
);
select has_index(
    'public', 'crm_lead_reassignments', 'idx_reassignments_lead',
    array['lead_id', 'created_at'],
    'index idx_reassignments_lead on crm_lead_reassignments(lead_id, created_at desc)'
);
select has_index(
    'public', 'crm_lead_reassignments', 'idx_reassignments_from_agent',
    array['from_agent_id', 'created_at'],
    'index idx_reassignments_from_agent on crm_lead_reassignments(from_agent_id, created_at desc)'
);
select has_index(
    'public', 'crm_lead_reassignments', 'idx_reassignments_to_agent',
    array['to_agent_id', 'created_at'],
    'index idx_reassignments_to_agent on crm_lead_reassignments(to_agent_id, created_at desc)'
);

-- Triggers: names carry their firing order -------------------------------------------------------
select trigger_is(
    'public', 'crm_leads', 'crm_leads_050_intake_clock', 'public', 'crm_leads_intake_clock',
    'trigger crm_leads_050_intake_clock runs crm_leads_intake_clock() (the statement''s clock)'
);
select function_returns(
    'public', 'crm_sla_explain_routing', array['uuid'], 'setof record',
    'crm_sla_explain_routing(uuid) returns rows (agent_id, eligible, reason, rank)'
);
select trigger_is(
    'public', 'crm_leads', 'crm_leads_100_intake', 'public', 'crm_leads_intake',
    'trigger crm_leads_100_intake runs crm_leads_intake() (claim timer, fresh engine columns)'
);
select trigger_is(
    'public', 'crm_leads', 'crm_leads_900_intake_done', 'public', 'crm_leads_intake_done',
    'trigger crm_leads_900_intake_done runs crm_leads_intake_done() (routes unowned leads)'
);
select trigger_is(
    'public', 'crm_leads', 'crm_leads_200_progress', 'public', 'crm_leads_progress',
    'trigger crm_leads_200_progress runs crm_leads_progress() (contact timer, engine columns)'
);
select trigger_is(
    'public', 'crm_lead_reassignments', 'crm_lead_reassignments_100_append_only',
    'public', 'crm_lead_reassignments_append_only',
    'trigger crm_lead_reassignments_100_append_only keeps the audit trail append-only'
);
select results_eq(
    $$
    select format('%s %s', t.tgname, t.tgenabled) collate "default"
    from pg_catalog.pg_trigger as t
    where t.tgrelid in ('public.crm_leads'::regclass, 'public.crm_lead_reassignments'::regclass)
        and t.tgname in (
            'crm_leads_050_intake_clock', 'crm_leads_100_intake',
            'crm_leads_900_intake_done', 'crm_leads_200_progress',
            'crm_lead_reassignments_100_append_only'
        )
    order by 1
    $$,
    $$
    values
    ('crm_lead_reassignments_100_append_only O'),
    ('crm_leads_050_intake_clock O'),
    ('crm_leads_100_intake O'),
    ('crm_leads_200_progress O'),
    ('crm_leads_900_intake_done O')
    $$,
    'the engine''s triggers are enabled (O: fires on origin)'
);

-- The public SQL contract: functions and their results -------------------------------------------
select function_returns(
    'public', 'claim_lead', array['uuid'], 'crm_leads', 'claim_lead(uuid) returns the lead'
);
select function_returns(
    'public', 'complete_first_action', array['uuid'], 'crm_leads',
    'complete_first_action(uuid) returns the lead'
);
select function_returns(
    'public', 'reassign_lead', array['uuid', 'uuid', 'text'], 'crm_leads',
    'reassign_lead(uuid, uuid, text) returns the lead'
);
select function_returns(
    'public', 'process_sla_timers', array[]::name[], 'jsonb',
    'process_sla_timers() returns jsonb counts'
);
select function_returns(
    'public', 'sla_now', array[]::name[], 'timestamp with time zone',
    'sla_now() returns timestamptz'
);
select function_returns(
    'public', 'sla_clock_travel', array['interval'], 'timestamp with time zone',
    'sla_clock_travel(interval) returns the new sla_now()'
);
select has_function(
    'public', 'sla_clock_reset', array[]::name[], 'sla_clock_reset() exists'
);
select function_returns(
    'public', 'is_admin', array['uuid'], 'boolean', 'is_admin(uuid) returns boolean'
);
select has_function(
    'public', 'run_sla_monitor', array['interval', 'interval'],
    'run_sla_monitor(interval, interval) exists (what pg_cron calls)'
);
select has_function('auth', 'uid', array[]::name[], 'auth.uid() exists');
select is(
    (
        select p.pronargdefaults::int from pg_catalog.pg_proc as p
        where p.oid = to_regprocedure('public.reassign_lead(uuid, uuid, text)')
    ),
    1,
    'reassign_lead''s notes are optional'
);

-- Settings: one row, the defaults ---------------------------------------------------------------
select col_default_is(
    'public', 'crm_sla_settings', 'claim_window', '5 minutes'::interval,
    'the claim window defaults to 5 minutes'
);
select col_default_is(
    'public', 'crm_sla_settings', 'contact_window', '5 minutes'::interval,
    'the contact window defaults to 5 minutes'
);
select col_default_is(
    'public', 'crm_sla_settings', 'max_reassignments', 3,
    'max_reassignments defaults to 3'
);
select is(
    (select count(*)::int from public.crm_sla_settings), 1, 'crm_sla_settings has one row'
);
select throws_ok(
    $$update public.crm_sla_settings set claim_window = interval '0'$$,
    '23514', null, 'a zero claim window is refused'
);
select throws_ok(
    $$update public.crm_sla_settings set max_reassignments = -1$$,
    '23514', null, 'a negative max_reassignments is refused'
);

-- The system actor -------------------------------------------------------------------------------
select results_eq(
    $$
    select a.role, a.accepting_leads from public.crm_agents as a
    where a.id = '00000000-0000-0000-0000-000000000000'
    $$,
    $$values ('system'::text, false)$$,
    'the system actor exists, has role system and takes no leads'
);

-- Documentation that shows up in Supabase Studio and \d+ -----------------------------------------
select ok(
    length(obj_description('public.crm_lead_reassignments'::regclass, 'pg_class')) > 10,
    'crm_lead_reassignments has a comment'
);
select ok(
    length(obj_description('public.process_sla_timers()'::regprocedure, 'pg_proc')) > 10,
    'process_sla_timers() has a comment'
);
select ok(
    length(obj_description('public.claim_lead(uuid)'::regprocedure, 'pg_proc')) > 10,
    'claim_lead(uuid) has a comment'
);
select ok(
    length(obj_description('public.sla_clock_travel(interval)'::regprocedure, 'pg_proc')) > 10,
    'sla_clock_travel(interval) has a comment'
);

select * from finish();

rollback;
