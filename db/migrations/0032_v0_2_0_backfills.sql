-- Release 0.2.0's backfill (squashed with 0030, 0031 and 0033 before the release; see
-- docs/upgrading.md): each timer running at the upgrade from 0.1.0 gets its window (plain time,
-- as started) and its warning instant, from its start and window under the lead's policy (or the
-- settings) as it is now. A timer already past its warning instant warns on the next pass; one
-- already expired is the breach's, and an unowned lead has nobody to warn. Done and escalated
-- leads run no timer and keep NULL. Outside a transaction, 10,000 leads a commit, so that no lead
-- stays locked for longer than its batch (~0.5 s, against 60 s at 1M leads in one transaction;
-- the exported scripts of `crm-sla export` run it in one transaction, as they must);
-- safe to run again after an interruption (it takes up the leads still without a window).
-- transactional: false
-- depends: 0031_v0_2_0_functions

do $$
declare
    v_batch constant integer := 10000;
    v_from uuid := (select l.id from public.crm_leads as l order by l.id limit 1);
    v_ids uuid[];
    v_default_warn numeric := coalesce(
        (select min(s.warn_at) from public.crm_sla_settings as s), 0.8
    );
begin
    while v_from is not null loop
        -- The next batch by primary key, and where the one after it starts (NULL: none).
        select array_agg(b.id order by b.id) into v_ids
        from (
            select l.id from public.crm_leads as l
            where l.id >= v_from
            order by l.id
            limit v_batch + 1
        ) as b;
        v_from := v_ids[v_batch + 1];

        with timers as (
            select
                l.id,
                case
                    when l.lead_claimed then l.contact_timer_started_at
                    else l.claim_timer_started_at
                end as started_at,
                case
                    when l.lead_claimed then l.contact_timer_expires_at
                    else l.claim_timer_expires_at
                end as expires_at,
                case
                    when l.lead_claimed then l.contact_timer_expires_at - l.contact_timer_started_at
                    else l.claim_timer_expires_at - l.claim_timer_started_at
                end as timer_window,
                case when p.id is not null then p.warn_at else v_default_warn end as fraction
            from public.crm_leads as l
            left join public.crm_sla_policies as p on l.sla_policy_id = p.id
            where
                l.id = any(v_ids[1:v_batch])
                and l.sla_timer_window is null
                and l.first_action_completed = false
                and l.sla_escalated_at is null
        )

        update public.crm_leads as l
        set
            sla_timer_window = t.timer_window,
            sla_warn_at = coalesce(l.sla_warn_at, case
                when
                    t.fraction is not null
                    and l.sla_warned_at is null
                    and l.assigned_agent_id is not null
                    and t.expires_at > public.sla_now()
                    then public.crm_sla_deadline(
                        l.sla_timer_calendar_id, t.started_at,
                        t.timer_window * t.fraction::double precision
                    )
            end)
        from timers as t
        where l.id = t.id and t.timer_window is not null;

        -- The exported scripts (crm-sla export) run each migration inside a DO block, in the
        -- file's transaction, where no commit is possible: there the backfill is one transaction.
        if pg_catalog.current_setting('crm_sla.one_transaction', true) is distinct from 'on' then
            commit;
        end if;
    end loop;
end
$$;
