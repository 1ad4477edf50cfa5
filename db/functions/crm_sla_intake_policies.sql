-- The active SLA policies in the order a new lead tries them (priority, then name), with the timers
-- each starts at p_now ('' when there is none): a first line with the jsonb array of their
-- matches, then a line a policy, '<policy id> <claim deadline> <contact deadline> <claim window>
-- <contact window> <calendar id or ->', in microseconds (since 1970-01-01 UTC for instants), as
-- crm_sla_intake_clock has the defaults. Computed once an INSERT statement (or once a lead for API
-- sessions), so leads that share a policy share its calendar arithmetic; the intake trigger parses
-- only the short first line for each lead.
create or replace function public.crm_sla_intake_policies(p_now timestamptz)
returns text
language sql
stable
set search_path = ''
as $$
    select coalesce(
        jsonb_agg(p.match order by p.priority, p.name)::text || E'\n' || string_agg(
            concat_ws(
                ' ',
                p.id,
                (extract(epoch from public.crm_sla_deadline(p.calendar_id, p_now, p.claim_window))
                * 1000000)::bigint,
                (extract(epoch from public.crm_sla_deadline(p.calendar_id, p_now, p.contact_window))
                * 1000000)::bigint,
                (extract(epoch from p.claim_window) * 1000000)::bigint,
                (extract(epoch from p.contact_window) * 1000000)::bigint,
                coalesce(p.calendar_id::text, '-')
            ),
            E'\n' order by p.priority, p.name
        ),
        ''
    )
    from public.crm_sla_policies as p
    where p.is_active
$$;

comment on function public.crm_sla_intake_policies(timestamptz) is
'Internal: the active SLA policies, in match order, with the timers they start at p_now (intake)';

revoke execute on function public.crm_sla_intake_policies(timestamptz) from public, anon;
grant execute on function public.crm_sla_intake_policies(timestamptz)
to authenticated, service_role;
