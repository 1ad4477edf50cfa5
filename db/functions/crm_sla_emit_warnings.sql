-- Writes the warnings due at p_now in one statement, up to p_limit: each lead whose running timer
-- reached its warning instant (crm_leads.sla_warn_at, on a partial index) gets one `warning` event
-- for its owner, stage and deadline, and sla_warned_at, so each timer run warns once. Returns how
-- many it wrote (p_limit or more: call again). The earliest instants are read without locks; a
-- lead whose timer has already expired is left to the breach (which starts a new run, or clears
-- the instant when nobody can take the lead), and one whose timer stopped or that has no owner
-- gets its instant cleared. Called by process_sla_timers() after the routing lock (one lock
-- order); rows another transaction holds are skipped, and the test is repeated on the locked row.
create or replace function public.crm_sla_emit_warnings(p_now timestamptz, p_limit integer)
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
            public.crm_sla_breach_at(l) as expires_at,
            -- A running timer: the lead has an owner and a breach instant.
            l.assigned_agent_id is not null
            and public.crm_sla_breach_at(l) is not null as running
        from public.crm_leads as l
        where
            l.id = any(array(
                select c.id from public.crm_leads as c
                where c.sla_warn_at <= p_now and c.sla_warn_at is not null
                    and c.sla_warned_at is null
                order by c.sla_warn_at
                limit p_limit
            ))
            and l.sla_warn_at <= p_now and l.sla_warned_at is null
            -- An expired timer is the breach's (no lock, no write here).
            and not coalesce(
                l.assigned_agent_id is not null and p_now >= public.crm_sla_breach_at(l), false
            )
        for update of l skip locked
    ),

    marked as (
        update public.crm_leads as l
        set
            sla_warned_at = case when d.running then p_now end,
            sla_warn_at = case when d.running then l.sla_warn_at end
        from due as d
        where l.id = d.id
        returning l.id, d.assigned_agent_id, d.stage, d.expires_at, d.sla_warn_at, d.running
    )

    select public.crm_sla_emit(
        array_agg('warning'::text order by m.sla_warn_at, m.id) filter (where m.running),
        array_agg(m.id order by m.sla_warn_at, m.id) filter (where m.running),
        array_agg(m.assigned_agent_id order by m.sla_warn_at, m.id) filter (where m.running),
        array_agg(m.stage order by m.sla_warn_at, m.id) filter (where m.running),
        array_agg(m.expires_at order by m.sla_warn_at, m.id) filter (where m.running),
        array_agg(p_now order by m.sla_warn_at, m.id) filter (where m.running),
        array_agg(jsonb_build_object('warn_at', m.sla_warn_at) order by m.sla_warn_at, m.id)
        filter (where m.running)
    )
    into v_count
    from marked as m;
    return v_count;
end
$$;

comment on function public.crm_sla_emit_warnings(timestamptz, integer) is
'Internal: writes one warning event for each running timer whose warning instant has come';

revoke execute on function public.crm_sla_emit_warnings(timestamptz, integer)
from public, anon, authenticated, service_role;
