-- Intake's per-statement plan as typed values instead of positional text: how a new lead's
-- timers start (crm_sla_timer_start: a policy's, or the settings', windows, calendar, deadlines
-- and warning instants from one instant) and the statement's plan (crm_sla_intake_plan: the SLA
-- clock reading, the settings' timers, the active policies' ids and matches in match order and
-- their timers once a lead matched them), which crm_leads_050_intake_clock keeps in the
-- transaction-local setting crm_sla.intake_plan for the intake trigger. Types only: no table is
-- touched. The functions that use them come with the function migration after this one.
-- depends: 0035_hardening

do $$
begin
    if to_regtype('public.crm_sla_timer_start') is null then
        create type public.crm_sla_timer_start as (
            policy_id uuid,
            calendar_id uuid,
            claim_window interval,
            claim_expires_at timestamptz,
            claim_warn_at timestamptz,
            contact_window interval,
            contact_expires_at timestamptz,
            contact_warn_at timestamptz
        );
    end if;
    if to_regtype('public.crm_sla_intake_plan') is null then
        create type public.crm_sla_intake_plan as (
            at timestamptz,
            defaults public.crm_sla_timer_start,
            policy_ids uuid [],
            matches jsonb [],
            timers public.crm_sla_timer_start []
        );
    end if;
end
$$;

comment on type public.crm_sla_timer_start is
'How a new lead''s timers start from one instant under a policy (policy_id NULL: the settings)';

comment on type public.crm_sla_intake_plan is
'One INSERT statement''s intake plan: its SLA clock reading, the settings'' timers, the active '
'policies in match order and the timers of those a lead matched (NULL until then)';
