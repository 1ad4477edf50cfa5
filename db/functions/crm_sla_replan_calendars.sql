-- Re-plans every running timer that follows one of these calendars: its deadline recomputed from
-- the timer's start and window in the calendar's open time as it is now, and so is its warning
-- instant. Called, in the same transaction, by the statement triggers on crm_sla_calendars,
-- crm_sla_calendar_hours and crm_sla_holidays; returns how many leads got a new deadline, and
-- says so with how long it took (a NOTICE) when they are a thousand or more, since the edit's
-- transaction held their row locks meanwhile.
create or replace function public.crm_sla_replan_calendars(p_calendar_ids uuid[])
returns integer
language plpgsql
volatile
set search_path = ''
as $$
declare
    v_count integer;
    v_started constant timestamptz := pg_catalog.clock_timestamp();
begin
    -- Running timers are on the seed's partial indexes (open claim and contact timers).
    with due as (
        select
            l.id,
            public.crm_sla_deadline(
                l.sla_timer_calendar_id,
                case when l.lead_claimed then l.contact_timer_started_at else l.claim_timer_started_at end,
                l.sla_timer_window
            ) as expires_at,
            -- A timer that had a warning instant gets it again (its run keeps a warning written).
            case when l.sla_warn_at is not null then public.crm_sla_warn_instant(
                l.sla_policy_id,
                l.sla_timer_calendar_id,
                case when l.lead_claimed then l.contact_timer_started_at else l.claim_timer_started_at end,
                l.sla_timer_window
            ) end as warn_at,
            -- Its next ladder step likewise (the steps this run took stay taken).
            case when l.sla_step_at is not null then public.crm_sla_step_instant(
                l.sla_policy_id,
                case when l.lead_claimed then 'contact_window' else 'claim_window' end,
                l.sla_timer_calendar_id,
                case when l.lead_claimed then l.contact_timer_started_at else l.claim_timer_started_at end,
                l.sla_timer_window,
                l.sla_step_done
            ) end as step_at
        from public.crm_leads as l
        where
            l.sla_timer_calendar_id = any(p_calendar_ids)
            and l.sla_timer_window is not null
            -- A timer that was paused keeps the deadline its resume gave it (its start no longer
            -- tells it); a paused one has none to re-plan (it resumes in the calendar as it is).
            and l.sla_paused_total is null
            and (
                (l.lead_claimed = false and l.claim_timer_expires_at is not null)
                or (
                    l.lead_claimed and l.first_action_completed = false
                    and l.contact_timer_expires_at is not null
                )
            )
    ),

    replanned as (
        update public.crm_leads as l
        set
            claim_timer_expires_at
            = case when l.lead_claimed then l.claim_timer_expires_at else d.expires_at end,
            claim_window_expires_at
            = case when l.lead_claimed then l.claim_window_expires_at else d.expires_at end,
            contact_timer_expires_at
            = case when l.lead_claimed then d.expires_at else l.contact_timer_expires_at end,
            sla_warn_at = d.warn_at,
            sla_step_at = d.step_at
        from due as d
        where
            l.id = d.id
            and (d.expires_at, d.warn_at, d.step_at) is distinct from (
                case
                    when l.lead_claimed then l.contact_timer_expires_at
                    else l.claim_timer_expires_at
                end,
                l.sla_warn_at,
                l.sla_step_at
            )
        returning l.id
    )

    select count(*) into v_count from replanned;
    if v_count >= 1000 then
        raise notice 'calendar edit re-planned % running timers in % ms', v_count,
            round(extract(epoch from pg_catalog.clock_timestamp() - v_started) * 1000)
            using hint = 'Edit calendars outside busy hours: the edit holds these leads'' row '
            || 'locks until it commits.';
    end if;
    return v_count;
end
$$;

comment on function public.crm_sla_replan_calendars(uuid[]) is
'Internal: recomputes the deadlines of the running timers that follow these calendars';

revoke execute on function public.crm_sla_replan_calendars(uuid[])
from public, anon, authenticated, service_role;
