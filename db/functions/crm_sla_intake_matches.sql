-- The active SLA policies as a new lead tries them, as the text of a jsonb document. Up to 8:
-- {"policies": [{"id": ..., "match": ...}, ...]} in match order (priority, then name); the intake
-- trigger tests each match in turn. More than 8: {"sets": [...], "others": ...}, the distinct key
-- sets of their matches (crm_sla_match_keys) and whether some match needs a containment test:
-- the trigger then finds a lead's policy through the index crm_sla_policies_match_lookup
-- (crm_sla_policy_for), one probe a key set, so that policies its lead does not match cost it
-- nothing (parsing and testing a thousand matches cost each lead about 0.7 ms). Either way a
-- policy's timers are planned when a lead first matches it (crm_sla_intake_plan_for). Called by
-- the intake triggers once an INSERT statement (once a lead for API sessions); '' when no policy
-- is active.
create or replace function public.crm_sla_intake_matches()
returns text
language sql
stable
set search_path = ''
as $$
    with recursive key_sets (keys) as (
        -- The distinct key sets, read off crm_sla_policies_match_lookup one probe each (a
        -- thousand matches each through crm_sla_match_keys would cost the statement 20 ms).
        (
            select public.crm_sla_match_keys(p.match)
            from public.crm_sla_policies as p
            where p.is_active and public.crm_sla_match_keys(p.match) is not null
            order by 1
            limit 1
        )
        union all
        select (
            select public.crm_sla_match_keys(p.match)
            from public.crm_sla_policies as p
            where p.is_active and public.crm_sla_match_keys(p.match) > k.keys
            order by 1
            limit 1
        )
        from key_sets as k
        where k.keys is not null
    )

    select case
        when (select count(*) from (select from public.crm_sla_policies as p where p.is_active
            limit 9) as a) <= 8
            then coalesce((
                select jsonb_build_object('policies', jsonb_agg(
                    jsonb_build_object('id', p.id, 'match', p.match) order by p.priority, p.name
                ))::text
                from public.crm_sla_policies as p
                where p.is_active
                having count(*) > 0
            ), '')
        else jsonb_build_object(
            'sets', (select jsonb_agg(k.keys) from key_sets as k where k.keys is not null),
            'others', exists (
                select from public.crm_sla_policies as p
                where p.is_active and public.crm_sla_match_keys(p.match) is null
            )
        )::text
    end
$$;

comment on function public.crm_sla_intake_matches() is
'Internal: the active SLA policies'' ids and matches in match order, or their matches'' key sets '
'when there are many, as jsonb text (intake)';

revoke execute on function public.crm_sla_intake_matches() from public, anon;
grant execute on function public.crm_sla_intake_matches() to authenticated, service_role;
