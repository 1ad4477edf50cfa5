-- What is due and when, stated once: the next SLA-clock instant at which the monitor acts on a
-- lead (its running timer's breach, or its warning not yet written, whichever comes first), NULL
-- when neither is pending. crm_leads_sla_due_idx indexes it; process_sla_timers (idle test,
-- candidates, counts) and crm_sla_next_due read it.
create or replace function public.crm_sla_due_at(
    p_lead_claimed boolean,
    p_first_action_completed boolean,
    p_escalated_at timestamptz,
    p_claim_expires_at timestamptz,
    p_contact_expires_at timestamptz,
    p_warn_at timestamptz,
    p_warned_at timestamptz
)
returns timestamptz
language sql
immutable
parallel safe
as $$
    -- Inlined by the planner (plain SQL, immutable): callers and the index see the expression.
    -- Changing what this returns needs a REINDEX of crm_leads_sla_due_idx in the same release.
    select least(
        public.crm_sla_breach_at(
            p_lead_claimed, p_first_action_completed, p_escalated_at,
            p_claim_expires_at, p_contact_expires_at
        ),
        case when p_warned_at is null then p_warn_at end
    )
$$;

comment on function public.crm_sla_due_at(
    boolean, boolean, timestamptz, timestamptz, timestamptz, timestamptz, timestamptz
) is
'The next instant the monitor acts on a lead (its timer''s breach or pending warning); NULL: none';

-- Pure arithmetic on its arguments, evaluated by crm_leads_sla_due_idx on every write of
-- crm_leads, whichever role writes (a CRM's own importer role too): executable by everyone.
revoke execute on function public.crm_sla_due_at(
    boolean, boolean, timestamptz, timestamptz, timestamptz, timestamptz, timestamptz
) from public, anon, authenticated, service_role;
grant execute on function public.crm_sla_due_at(
    boolean, boolean, timestamptz, timestamptz, timestamptz, timestamptz, timestamptz
) to public;
