-- The CRM's own permissive policies on crm_leads and crm_lead_reassignments that widen what the
-- engine promises (permissive policies are OR-ed with the engine's): one row each, saying what it
-- does and how to fix it. Read by `crm-sla migrate`, `crm-sla status` and the pgTAP suite.
create or replace function public.crm_sla_policy_findings()
returns table (
    table_name text,
    policy_name text,
    command text,
    roles text,
    effect text,
    fix text
)
language sql
stable
set search_path = ''
as $$
    with engine (table_name, policy_name) as (
        values
        ('crm_leads', 'Admins can manage all leads'),
        ('crm_leads', 'Agents can view own leads'),
        ('crm_leads', 'Agents can update own leads'),
        ('crm_leads', 'Service role can manage leads'),
        ('crm_lead_reassignments', 'Admins can view all reassignments'),
        ('crm_lead_reassignments', 'Agents can view own reassignments'),
        ('crm_lead_reassignments', 'Service role can insert reassignments'),
        ('crm_lead_reassignments', 'Service role can read reassignments')
    ),

    theirs as (
        select
            p.tablename::text as table_name,
            p.policyname::text as policy_name,
            p.cmd::text as command,
            array_to_string(p.roles, ', ') as roles,
            -- (select auth.uid()) and auth.uid() mean the same: compare the bare form.
            replace(p.qual, '( SELECT auth.uid() AS uid)', 'auth.uid()') as using_expr,
            replace(p.with_check, '( SELECT auth.uid() AS uid)', 'auth.uid()') as check_expr
        from pg_catalog.pg_policies as p
        where
            p.schemaname = 'public'
            and p.tablename in ('crm_leads', 'crm_lead_reassignments')
            and p.permissive = 'PERMISSIVE'
            and p.roles && array['public', 'anon', 'authenticated']::name []
            and not exists (
                select from engine as e
                where e.table_name = p.tablename and e.policy_name = p.policyname
            )
    ),

    -- Conditions no wider than the engine's own: the owner's leads, the agent's audit rows,
    -- admins only.
    narrow (table_name, expr) as (
        values
        ('crm_leads', '(assigned_agent_id = auth.uid())'),
        ('crm_leads', 'is_admin(auth.uid())'),
        ('crm_lead_reassignments',
            '((from_agent_id = auth.uid()) OR (to_agent_id = auth.uid()))'),
        ('crm_lead_reassignments', 'is_admin(auth.uid())')
    ),

    judged as (
        select
            t.*,
            case when t.roles = 'public' then 'every role (PUBLIC, anon included)'
                else t.roles end as who,
            case
                when t.command = 'ALL' and t.table_name = 'crm_leads'
                    then 'read, insert, update and delete'
                when t.command = 'ALL' then 'read and write'
                else lower(t.command)
            end as verb,
            case
                when t.table_name = 'crm_leads'
                    then 'an agent reads and updates only the leads it owns, intake is the '
                    || 'service role''s and admins'', anon sees nothing'
                else 'an agent reads only the audit rows where it lost or received a lead, '
                    || 'only the engine and the service role write them, anon sees nothing'
            end as promise
        from theirs as t
        where not (
            -- As narrow as the engine's own, for a command the engine grants that way.
            (
                t.command in ('SELECT', 'UPDATE')
                or t.using_expr like '%is_admin(auth.uid())%'
            )
            and exists (
                select from narrow as n
                where n.table_name = t.table_name and n.expr = t.using_expr
            )
            and (
                t.check_expr is null
                or exists (
                    select from narrow as n
                    where n.table_name = t.table_name and n.expr = t.check_expr
                )
            )
        )
        -- The append-only trigger refuses every update and delete of an audit row anyway.
        and not (
            t.table_name = 'crm_lead_reassignments' and t.command in ('UPDATE', 'DELETE')
        )
    )

    select
        j.table_name,
        j.policy_name,
        j.command,
        j.roles,
        format(
            'lets %s %s %s: it is permissive, so it is OR-ed with the engine''s policies and '
            || 'widens their promise (%s)',
            j.who, j.verb,
            case
                when coalesce(j.using_expr, j.check_expr) = 'true'
                    then 'every row of ' || j.table_name
                else format(
                    'the rows of %s where %s', j.table_name,
                    coalesce(j.using_expr, j.check_expr)
                )
            end,
            j.promise
        ),
        format(
            'drop policy %I on public.%I; (the engine''s own policies already give agents, '
            || 'admins and the service role what docs/security.md lists), or re-create it AS '
            || 'RESTRICTIVE, or limit it to admins with using ((select public.is_admin((select '
            || 'auth.uid()))))',
            j.policy_name, j.table_name
        )
    from judged as j
    order by j.table_name, j.policy_name
$$;

comment on function public.crm_sla_policy_findings() is
'Permissive policies of the CRM''s own on crm_leads / crm_lead_reassignments that widen the '
'engine''s promise: what each does, and how to fix it (crm-sla migrate and status list them)';

revoke execute on function public.crm_sla_policy_findings()
from public, anon, authenticated, service_role;
