-- When a lead's running SLA timer breaches: the claim deadline while unclaimed, the contact
-- deadline while claimed and not yet contacted; NULL when no timer runs (contacted, escalated).
-- Read through crm_sla_due_at (the monitor's index) and by the monitor's re-check of a locked row.
create or replace function public.crm_sla_breach_at(
    p_lead_claimed boolean,
    p_first_action_completed boolean,
    p_escalated_at timestamptz,
    p_claim_expires_at timestamptz,
    p_contact_expires_at timestamptz
)
returns timestamptz
language sql
immutable
parallel safe
as $$
    -- A new timer state (a paused clock, a ladder step) is one more branch here, and then a
    -- REINDEX of crm_leads_sla_due_idx in the same release: the index stores what this returned.
    select case
        when p_escalated_at is not null then null
        when p_lead_claimed = false then p_claim_expires_at
        when p_lead_claimed and p_first_action_completed = false then p_contact_expires_at
    end
$$;

comment on function public.crm_sla_breach_at(
    boolean, boolean, timestamptz, timestamptz, timestamptz
) is
'The instant the lead''s running SLA timer breaches (claim or contact deadline); NULL: none runs';

-- Pure arithmetic on its arguments, evaluated by crm_leads_sla_due_idx on every write of
-- crm_leads, whichever role writes (a CRM's own importer role too): executable by everyone.
revoke execute on function public.crm_sla_breach_at(
    boolean, boolean, timestamptz, timestamptz, timestamptz
) from public, anon, authenticated, service_role;
grant execute on function public.crm_sla_breach_at(
    boolean, boolean, timestamptz, timestamptz, timestamptz
) to public;
