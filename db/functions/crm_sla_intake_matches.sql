-- The active SLA policies in the order a new lead tries them (priority, then name): a first line
-- with the jsonb array of their matches, then a line a policy with its id alone; the intake
-- trigger replaces a policy's line with its timers (crm_sla_intake_plan) the first time one of
-- its leads matches it, so a policy no lead matches costs no calendar arithmetic. Read once an
-- INSERT statement (or once a lead for API sessions); the intake trigger parses only the short
-- first line for each lead.
create or replace function public.crm_sla_intake_matches()
returns text
language sql
stable
set search_path = ''
as $$
    select coalesce(
        jsonb_agg(p.match order by p.priority, p.name)::text || E'\n'
        || string_agg(p.id::text, E'\n' order by p.priority, p.name),
        ''
    )
    from public.crm_sla_policies as p
    where p.is_active
$$;

comment on function public.crm_sla_intake_matches() is
'Internal: the active SLA policies'' matches and ids, in match order (intake)';

revoke execute on function public.crm_sla_intake_matches() from public, anon;
grant execute on function public.crm_sla_intake_matches() to authenticated, service_role;
