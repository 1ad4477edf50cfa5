-- The active SLA policies in the order a new lead tries them (priority, then name), each with the
-- timers it starts at p_now, as the text of a jsonb array ('' when there is none): {"i": policy id,
-- "m": match, "c": claim deadline, "k": contact deadline (microseconds since 1970-01-01 UTC), "cw",
-- "kw": the two windows, "cal": calendar id}. Computed once an INSERT statement (or once a lead for
-- API sessions), so leads that share a policy share its calendar arithmetic.
create or replace function public.crm_sla_intake_policies(p_now timestamptz)
returns text
language sql
stable
set search_path = ''
as $$
    select coalesce(jsonb_agg(jsonb_build_object(
        'i', p.id,
        'm', p.match,
        'c', (extract(epoch from public.crm_sla_deadline(p.calendar_id, p_now, p.claim_window))
            * 1000000)::bigint,
        'k', (extract(epoch from public.crm_sla_deadline(p.calendar_id, p_now, p.contact_window))
            * 1000000)::bigint,
        'cw', p.claim_window,
        'kw', p.contact_window,
        'cal', p.calendar_id
    ) order by p.priority, p.name)::text, '')
    from public.crm_sla_policies as p
    where p.is_active
$$;

comment on function public.crm_sla_intake_policies(timestamptz) is
'Internal: the active SLA policies, in match order, with the timers they start at p_now (intake)';

revoke execute on function public.crm_sla_intake_policies(timestamptz) from public, anon;
grant execute on function public.crm_sla_intake_policies(timestamptz)
to authenticated, service_role;
