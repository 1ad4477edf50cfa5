-- Intake's plan for one INSERT statement (a crm_sla_intake_plan): the SLA clock reading its
-- leads' timers start from, the settings' timers, and the active SLA policies' ids and matches in
-- the order a new lead tries them (priority, then name), each one's timers NULL until a lead of
-- the statement matches it (crm_sla_start_timers then: a policy no lead matches costs no calendar
-- arithmetic). Called by crm_leads_050_intake_clock once a statement, and by the intake trigger
-- once a lead for API sessions (agents, admins), which could have planted the setting.
create or replace function public.crm_sla_plan_intake()
returns public.crm_sla_intake_plan
language sql
stable
set search_path = ''
as $$
    select row(
        c.now,
        public.crm_sla_start_timers(null, c.now),
        p.ids,
        p.matches,
        p.timers
    )::public.crm_sla_intake_plan
    from (select public.sla_now() as now) as c
    cross join (
        select
            coalesce(array_agg(p.id order by p.priority, p.name), '{}') as ids,
            coalesce(array_agg(p.match order by p.priority, p.name), '{}') as matches,
            coalesce(array_agg(null::public.crm_sla_timer_start), '{}') as timers
        from public.crm_sla_policies as p
        where p.is_active
    ) as p
$$;

comment on function public.crm_sla_plan_intake() is
'Internal: an INSERT statement''s intake plan (SLA clock, the settings'' timers, the active '
'policies in match order)';

revoke execute on function public.crm_sla_plan_intake() from public, anon;
grant execute on function public.crm_sla_plan_intake() to authenticated, service_role;
