-- The SLA clock reading a new lead's timers start from: '<claim start> <claim deadline>
-- <contact deadline>', each in microseconds since 1970-01-01 UTC (exact, and cheap to turn back
-- into a timestamptz). Called by crm_leads_050_intake_clock once an INSERT statement, and by the
-- intake trigger for each lead an API session (agent, admin) inserts.
create or replace function public.crm_sla_intake_clock()
returns text
language plpgsql
stable
set search_path = ''
as $$
declare
    v_now constant timestamptz := public.sla_now();
    v_claim interval;
    v_contact interval;
begin
    select s.claim_window, s.contact_window into v_claim, v_contact
    from public.crm_sla_settings as s;
    return pg_catalog.concat_ws(
        ' ',
        (extract(epoch from v_now) * 1000000)::bigint,
        (extract(epoch from v_now + coalesce(v_claim, interval '5 minutes')) * 1000000)::bigint,
        (extract(epoch from v_now + coalesce(v_contact, interval '5 minutes')) * 1000000)::bigint
    );
end
$$;

comment on function public.crm_sla_intake_clock() is
'Internal: the SLA clock and the windows a new lead''s timers start from (intake triggers)';

revoke execute on function public.crm_sla_intake_clock() from public, anon;
grant execute on function public.crm_sla_intake_clock() to authenticated, service_role;
