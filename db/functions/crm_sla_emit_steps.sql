-- Takes the ladder steps due at p_now, up to p_limit leads: each lead whose running timer reached
-- its next step instant (crm_leads.sla_step_at, on a partial index) gets one `step` event for each
-- step of its policy and stage now due (payload.step = the step's name; agent_id = the owner, or
-- for notify 'manager' the first active agent in the owner's manager chain, NULL when it has
-- none), and its next step instant, so each step is taken once per timer run. Later steps count
-- their open time from the planned instant (which stopping the clock shifts like sla_warn_at).
-- Returns how many leads it took steps for (p_limit or more: call again). A timer that expired
-- before the pass still takes the steps it passed (then the breach); a lead with no running timer
-- gets its instant cleared. Called by
-- process_sla_timers() after the routing lock; rows another transaction holds are skipped.
create or replace function public.crm_sla_emit_steps(p_now timestamptz, p_limit integer)
returns integer
language plpgsql
volatile
set search_path = ''
as $$
declare
    v_count integer;
    v_events integer;
begin
    with due as materialized (
        select
            l.id,
            l.assigned_agent_id,
            l.sla_policy_id,
            l.sla_timer_calendar_id,
            l.sla_timer_window,
            l.sla_step_at,
            l.sla_step_done,
            case when l.lead_claimed then 'contact_window' else 'claim_window' end as stage,
            public.crm_sla_breach_at(l) as expires_at,
            -- A running timer: the lead has an owner and a breach instant.
            l.assigned_agent_id is not null and l.sla_waiting_since is null
            and public.crm_sla_breach_at(l) is not null as running
        from public.crm_leads as l
        where
            l.id = any(array(
                select c.id from public.crm_leads as c
                where c.sla_step_at <= p_now and c.sla_step_at is not null
                order by c.sla_step_at
                limit p_limit
            ))
            and l.sla_step_at <= p_now
            -- A timer that expired before this pass came (a late monitor) still takes the steps
            -- it passed, each once: they come before its deadline, and the breach follows in
            -- the same pass.
        for update of l skip locked
    ),

    -- Each step still to take in the lead's timer run and the instant it falls due: the first at
    -- the planned instant, the others that much more open time after it.
    steps as materialized (
        select
            d.id, s.name, s.notify, s.at,
            case
                when s.at = f.first_at then d.sla_step_at
                else public.crm_sla_deadline(
                    d.sla_timer_calendar_id, d.sla_step_at,
                    d.sla_timer_window * (s.at - f.first_at)::double precision
                )
            end as step_at
        from due as d
        inner join public.crm_sla_policy_steps as s
            on s.policy_id is not distinct from d.sla_policy_id and s.stage = d.stage
            and s.at > coalesce(d.sla_step_done, 0)
        cross join lateral (
            select min(x.at) as first_at from public.crm_sla_policy_steps as x
            where x.policy_id is not distinct from d.sla_policy_id and x.stage = d.stage
                and x.at > coalesce(d.sla_step_done, 0)
        ) as f
        where d.running
    ),

    marked as (
        update public.crm_leads as l
        set
            sla_step_done = coalesce(
                (select max(s.at) from steps as s where s.id = d.id and s.step_at <= p_now),
                l.sla_step_done
            ),
            sla_step_at = (
                select min(s.step_at) from steps as s where s.id = d.id and s.step_at > p_now
            )
        from due as d
        where l.id = d.id
        returning l.id
    ),

    taken as (
        select
            s.id, s.name, s.notify, s.step_at, d.stage, d.expires_at,
            d.assigned_agent_id as owner_id,
            case
                when s.notify = 'owner' then d.assigned_agent_id
                else public.crm_sla_first_manager(d.assigned_agent_id)
            end as agent_id
        from steps as s
        inner join due as d on s.id = d.id
        where s.step_at <= p_now
    )

    select public.crm_sla_emit(
        array_agg('step'::text order by t.step_at, t.id, t.name),
        array_agg(t.id order by t.step_at, t.id, t.name),
        array_agg(t.agent_id order by t.step_at, t.id, t.name),
        array_agg(t.stage order by t.step_at, t.id, t.name),
        array_agg(t.expires_at order by t.step_at, t.id, t.name),
        array_agg(p_now order by t.step_at, t.id, t.name),
        array_agg(jsonb_build_object(
            'step', t.name, 'notify', t.notify, 'step_at', t.step_at, 'owner_id', t.owner_id
        ) order by t.step_at, t.id, t.name)
    ),
    (select count(*) from marked)
    into v_events, v_count
    from taken as t;  -- the update runs regardless: data-modifying CTEs always complete
    raise debug 'ladder: % step event(s) for % lead(s)', coalesce(v_events, 0), v_count;
    return v_count;
end
$$;

comment on function public.crm_sla_emit_steps(timestamptz, integer) is
'Internal: writes the step events of the ladder steps due and plans each lead''s next step';

revoke execute on function public.crm_sla_emit_steps(timestamptz, integer)
from public, anon, authenticated, service_role;
