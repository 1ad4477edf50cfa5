-- Writes the warnings due at p_now in one statement: each lead whose running timer reached its
-- warning instant (crm_leads.sla_warn_at, on a partial index) gets one `warning` event for its
-- owner, stage and deadline, and sla_warned_at, so each timer run warns once. A lead whose timer
-- has already expired (its breach comes first), stopped, or has no owner is not warned: its
-- instant is cleared. Called by process_sla_timers() after the routing lock (one lock order);
-- rows another transaction holds are skipped, and the test is repeated on the locked row.
create or replace function public.crm_sla_emit_warnings(p_now timestamptz)
returns integer
language plpgsql
volatile
set search_path = ''
as $$
declare
    v_count integer;
begin
    -- FOR UPDATE reads the latest version of each row it locks (the test repeated on it).
    with due as (
        select
            l.id,
            l.assigned_agent_id,
            l.sla_warn_at,
            case when l.lead_claimed then 'contact_window' else 'claim_window' end as stage,
            case
                when l.lead_claimed then l.contact_timer_expires_at else l.claim_timer_expires_at
            end as expires_at,
            coalesce(
                l.assigned_agent_id is not null
                and l.sla_escalated_at is null
                and not l.first_action_completed
                and p_now < case
                    when l.lead_claimed then l.contact_timer_expires_at
                    else l.claim_timer_expires_at
                end,
                false
            ) as warn
        from public.crm_leads as l
        where l.sla_warn_at <= p_now and l.sla_warn_at is not null and l.sla_warned_at is null
        for update skip locked
    ),

    marked as (
        update public.crm_leads as l
        set
            sla_warned_at = case when c.warn then p_now end,
            sla_warn_at = case when c.warn then l.sla_warn_at end
        from due as c
        where l.id = c.id and l.sla_warned_at is null and l.sla_warn_at <= p_now
        returning l.id, c.assigned_agent_id, c.stage, c.expires_at, c.sla_warn_at, c.warn
    )

    select public.crm_sla_emit(
        array_agg('warning'::text order by m.sla_warn_at, m.id) filter (where m.warn),
        array_agg(m.id order by m.sla_warn_at, m.id) filter (where m.warn),
        array_agg(m.assigned_agent_id order by m.sla_warn_at, m.id) filter (where m.warn),
        array_agg(m.stage order by m.sla_warn_at, m.id) filter (where m.warn),
        array_agg(m.expires_at order by m.sla_warn_at, m.id) filter (where m.warn),
        array_agg(p_now order by m.sla_warn_at, m.id) filter (where m.warn),
        array_agg(jsonb_build_object('warn_at', m.sla_warn_at) order by m.sla_warn_at, m.id)
        filter (where m.warn)
    )
    into v_count
    from marked as m;
    return v_count;
end
$$;

comment on function public.crm_sla_emit_warnings(timestamptz) is
'Internal: writes one warning event for each running timer whose warning instant has come';

revoke execute on function public.crm_sla_emit_warnings(timestamptz)
from public, anon, authenticated, service_role;
