-- The SLA clock reading a new lead's timers start from, with the timers of a lead that matches no
-- policy: '<claim start> <claim deadline> <contact deadline> <claim window> <contact window>
-- <calendar id or -> <claim warning or -> <contact warning or -> <claim step or -> <contact step
-- or ->' (-: none; the steps are the ladder's first), instants in
-- microseconds since 1970-01-01 UTC and windows in microseconds (exact, and cheap to turn back).
-- Called by crm_leads_050_intake_clock once an INSERT statement, and by the intake trigger for each
-- lead an API session (agent, admin) inserts.
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
    v_calendar uuid;
begin
    select s.claim_window, s.contact_window, s.calendar_id into v_claim, v_contact, v_calendar
    from public.crm_sla_settings as s;
    v_claim := coalesce(v_claim, interval '5 minutes');
    v_contact := coalesce(v_contact, interval '5 minutes');
    return pg_catalog.concat_ws(
        ' ',
        (extract(epoch from v_now) * 1000000)::bigint,
        (extract(epoch from public.crm_sla_deadline(v_calendar, v_now, v_claim)) * 1000000)::bigint,
        (extract(epoch from public.crm_sla_deadline(v_calendar, v_now, v_contact)) * 1000000)::bigint,
        (extract(epoch from v_claim) * 1000000)::bigint,
        (extract(epoch from v_contact) * 1000000)::bigint,
        coalesce(v_calendar::text, '-'),
        coalesce((extract(epoch from public.crm_sla_warn_instant(
            null, v_calendar, v_now, v_claim
        )) * 1000000)::bigint::text, '-'),
        coalesce((extract(epoch from public.crm_sla_warn_instant(
            null, v_calendar, v_now, v_contact
        )) * 1000000)::bigint::text, '-'),
        coalesce((extract(epoch from public.crm_sla_step_instant(
            null, 'claim_window', v_calendar, v_now, v_claim, null
        )) * 1000000)::bigint::text, '-'),
        coalesce((extract(epoch from public.crm_sla_step_instant(
            null, 'contact_window', v_calendar, v_now, v_contact, null
        )) * 1000000)::bigint::text, '-')
    );
end
$$;

comment on function public.crm_sla_intake_clock() is
'Internal: the SLA clock and the default timers a new lead''s timers start from (intake triggers)';

revoke execute on function public.crm_sla_intake_clock() from public, anon;
grant execute on function public.crm_sla_intake_clock() to authenticated, service_role;
