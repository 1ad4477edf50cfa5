-- What to fix for ownership routing: one row per SLA policy whose owner_key cannot be used any
-- more (the column was dropped or changed) or names a column without an index (each routed lead
-- would read every lead to find the account's owner), with the statement to run. The index it
-- advises is a hash index: it takes a value of any size, where a btree refuses one over about
-- 2.7 kB (that lead's INSERT would fail). Read by `crm-sla status` and `crm-sla migrate`.
create or replace function public.crm_sla_owner_key_advice()
returns table (policy_name text, owner_key text, problem text, fix text)
language sql
stable
set search_path = ''
as $$
    select
        p.name,
        p.owner_key,
        coalesce(
            public.crm_sla_owner_key_problem(p.owner_key),
            'public.crm_leads.' || pg_catalog.quote_ident(p.owner_key) || ' has no index'
        ),
        case
            when public.crm_sla_owner_key_problem(p.owner_key) is null
                then pg_catalog.format(
                    'create index concurrently if not exists %I on public.crm_leads using hash '
                    || '(%I);',
                    pg_catalog.left('crm_leads_' || p.owner_key, 59) || '_idx', p.owner_key
                )
            else pg_catalog.format(
                'update public.crm_sla_policies set owner_key = null where name = %L;', p.name
            )
        end
    from public.crm_sla_policies as p
    where
        p.owner_key is not null
        and not exists (
            -- a plain btree or hash index whose first column is the key
            select
            from pg_catalog.pg_index as i
            inner join pg_catalog.pg_class as c on i.indexrelid = c.oid
            inner join pg_catalog.pg_am as am on c.relam = am.oid
            inner join pg_catalog.pg_attribute as a
                on i.indrelid = a.attrelid and i.indkey[0] = a.attnum
            where
                i.indrelid = 'public.crm_leads'::regclass
                and a.attname = p.owner_key and not a.attisdropped
                and am.amname in ('btree', 'hash') and i.indpred is null and i.indisvalid
        )
    order by p.name
$$;

comment on function public.crm_sla_owner_key_advice() is
'SLA policies whose owner_key cannot be used or has no index on crm_leads, with the statement to '
'run (crm-sla status and migrate show them)';

revoke execute on function public.crm_sla_owner_key_advice()
from public, anon, authenticated, service_role;
