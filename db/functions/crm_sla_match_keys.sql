-- A policy's `match` as an index key: its top-level keys (a sorted jsonb array) when each value is
-- a string, a boolean or null, so that a row contains the match exactly when the row's values of
-- those keys equal it (crm_sla_policy_for); NULL when a value is a number, an array or an
-- object, whose containment is not equality (1.0 and 1, a subset of an array). Used by the index
-- crm_sla_policies_match_lookup, through which intake finds the policy of a lead among many.
create or replace function public.crm_sla_match_keys(p_match jsonb)
returns jsonb
language sql
immutable
parallel safe
set search_path = ''
as $$
    select case
        when bool_and(pg_catalog.jsonb_typeof(e.value) in ('string', 'boolean', 'null'))
            is not false
            then coalesce(pg_catalog.jsonb_agg(e.key order by e.key), '[]'::jsonb)
    end
    from pg_catalog.jsonb_each(p_match) as e
$$;

comment on function public.crm_sla_match_keys(jsonb) is
'Internal: a policy match''s sorted keys when containment is equality on them (strings, '
'booleans, null), else NULL; the key of crm_sla_policies_match_lookup';

revoke execute on function public.crm_sla_match_keys(jsonb) from public, anon;
grant execute on function public.crm_sla_match_keys(jsonb) to authenticated, service_role;
