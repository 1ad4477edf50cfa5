-- The active SLA policies in the order a new lead tries them (priority, then name). Up to 8: a
-- first line with the jsonb array of their matches, then a line a policy with its id alone; the
-- intake trigger tests each match in turn and replaces a policy's line with its timers
-- (crm_sla_intake_plan) the first time one of its leads matches it, so a policy no lead matches
-- costs no calendar arithmetic. More than 8: one line, a jsonb object with the distinct key sets
-- of their matches (`sets`, crm_sla_match_keys) and whether some match needs a containment test
-- (`others`): the trigger then finds a lead's policy through the index
-- crm_sla_policies_match_lookup, one probe a key set, so that policies its lead does not match
-- cost it nothing (parsing and testing a thousand matches cost each lead about 0.7 ms), and
-- appends the plans it makes. Read once an INSERT statement (or once a lead for API sessions).
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
            then (
                select coalesce(
                    jsonb_agg(p.match order by p.priority, p.name)::text || E'\n'
                    || string_agg(p.id::text, E'\n' order by p.priority, p.name),
                    ''
                )
                from public.crm_sla_policies as p
                where p.is_active
            )
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
'Internal: the active SLA policies'' matches and ids in match order, or their key sets when '
'there are many (intake)';

revoke execute on function public.crm_sla_intake_matches() from public, anon;
grant execute on function public.crm_sla_intake_matches() to authenticated, service_role;
