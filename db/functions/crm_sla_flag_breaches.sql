-- on_breach 'flag': of the due leads p_lead_ids (stages p_stages, locked by the caller), those
-- whose policy flags breaches keep their owner: the breach flags are set, the expired timer
-- stops (its expiry cleared, so the monitor does not take it again: once per timer run; a late
-- claim still starts the contact timer) and one `breached` event is written for the owner.
-- Returns the ids it flagged, for the caller to leave out of routing. Called by
-- process_sla_timers() before it routes.
create or replace function public.crm_sla_flag_breaches(
    p_lead_ids uuid[], p_stages text[], p_at timestamptz
)
returns uuid[]
language plpgsql
volatile
set search_path = ''
as $$
declare
    v_ids uuid[];
    v_owners uuid[];
    v_stages text[];
    v_expiries timestamptz[];
begin
    with chosen as (
        select
            l.id, t.stage, l.assigned_agent_id, public.crm_sla_breach_at(l) as expires_at
        from unnest(p_lead_ids, p_stages) as t (id, stage)
        inner join public.crm_leads as l on t.id = l.id
        inner join public.crm_sla_policies as p on l.sla_policy_id = p.id
        where p.on_breach = 'flag'
    ),

    flagged as (
        update public.crm_leads as l
        set
            claim_sla_breached = coalesce(l.claim_sla_breached, false) or c.stage = 'claim_window',
            contact_sla_breached
            = coalesce(l.contact_sla_breached, false) or c.stage = 'contact_window',
            sla_breached = true,
            claim_timer_expires_at
            = case when c.stage = 'claim_window' then null else l.claim_timer_expires_at end,
            contact_timer_expires_at
            = case when c.stage = 'contact_window' then null else l.contact_timer_expires_at end,
            sla_waiting_since = null,
            sla_warn_at = null,
            sla_step_at = null
        from chosen as c
        where l.id = c.id
        returning l.id
    )

    select
        array_agg(c.id order by c.expires_at, c.id),
        array_agg(c.assigned_agent_id order by c.expires_at, c.id),
        array_agg(c.stage order by c.expires_at, c.id),
        array_agg(c.expires_at order by c.expires_at, c.id)
    into v_ids, v_owners, v_stages, v_expiries
    from chosen as c
    inner join flagged as f on c.id = f.id;
    perform public.crm_sla_emit(
        array_fill('breached'::text, array[coalesce(cardinality(v_ids), 0)]),
        v_ids, v_owners, v_stages, v_expiries,
        array_fill(p_at, array[coalesce(cardinality(v_ids), 0)]),
        array_fill(jsonb_build_object('action', 'flag'), array[coalesce(cardinality(v_ids), 0)])
    );
    return coalesce(v_ids, '{}');
end
$$;

comment on function public.crm_sla_flag_breaches(uuid[], text[], timestamptz) is
'Internal: on_breach ''flag'': sets the breach flags and writes a breached event, without moving '
'the lead';

revoke execute on function public.crm_sla_flag_breaches(uuid[], text[], timestamptz)
from public, anon, authenticated, service_role;
