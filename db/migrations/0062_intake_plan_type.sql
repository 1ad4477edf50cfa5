-- Intake's plan as a typed value: the composite type public.crm_sla_intake_plan, the timers a new
-- lead starts (made by crm_sla_intake_plan_for, cached a statement in transaction-local settings
-- as the type's own text form, read back by a cast in the intake trigger).
-- depends: 0061_router_reading

do $$
begin
    -- CREATE TYPE has no IF NOT EXISTS: safe to run twice this way.
    if pg_catalog.to_regtype('public.crm_sla_intake_plan') is null then
        create type public.crm_sla_intake_plan as (
            policy_id uuid,
            starts_at_us bigint,
            claim_expires_at_us bigint,
            contact_expires_at_us bigint,
            claim_window_us bigint,
            contact_window_us bigint,
            calendar_id uuid,
            claim_warn_at_us bigint,
            contact_warn_at_us bigint,
            claim_step_at_us bigint,
            contact_step_at_us bigint
        );
    end if;
end
$$;

comment on type public.crm_sla_intake_plan is
'Internal: the timers a new lead starts under an SLA policy (or the settings), planned once an '
'INSERT statement by crm_sla_intake_plan_for; instants in microseconds since 1970-01-01 UTC and '
'windows in microseconds, because the intake trigger reads it back from a setting''s text for '
'each lead and timestamptz text costs about 1.3 us more a lead to parse';

comment on column public.crm_sla_intake_plan.policy_id is
'The policy (NULL: none, the settings'' defaults)';
comment on column public.crm_sla_intake_plan.starts_at_us is
'When the timers start: the INSERT statement''s SLA clock reading';
comment on column public.crm_sla_intake_plan.claim_expires_at_us is
'The claim deadline (claim_window after the start, in the calendar''s open time)';
comment on column public.crm_sla_intake_plan.contact_expires_at_us is
'The contact deadline, for a lead that arrives already claimed';
comment on column public.crm_sla_intake_plan.claim_window_us is
'The claim window';
comment on column public.crm_sla_intake_plan.contact_window_us is
'The contact window';
comment on column public.crm_sla_intake_plan.calendar_id is
'The business-hours calendar the deadlines are counted in (NULL: around the clock)';
comment on column public.crm_sla_intake_plan.claim_warn_at_us is
'When the claim timer warns (NULL: never)';
comment on column public.crm_sla_intake_plan.contact_warn_at_us is
'When the contact timer warns (NULL: never)';
comment on column public.crm_sla_intake_plan.claim_step_at_us is
'The claim ladder''s first step (NULL: no step)';
comment on column public.crm_sla_intake_plan.contact_step_at_us is
'The contact ladder''s first step (NULL: no step)';
