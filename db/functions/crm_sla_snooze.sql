-- Snoozes one lead's running timer until p_until (at most 30 days ahead on the SLA clock; NULL
-- resumes it at once), p_note going into the `paused` event; crm_leads_250_pause pauses and
-- resumes, and the monitor ends the snooze at its instant (crm_sla_resume_snoozed). Called by
-- admins, the service role, and the owner of a lead whose policy has owner_may_snooze.
create or replace function public.crm_sla_snooze(
    p_lead_id uuid, p_until timestamptz, p_note text default null
)
returns public.crm_leads
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
    v_caller constant text := public.crm_sla_caller();
    v_uid constant uuid := auth.uid();
    v_now constant timestamptz := public.sla_now();
    v_longest constant interval := interval '30 days';
    v_lead public.crm_leads;
    v_owner_may boolean;
begin
    if v_caller = 'anon' then
        raise exception 'a snooze needs a signed-in agent'
            using errcode = 'SL006',
                hint = 'Call it with an admin''s or the owning agent''s JWT, or as the service role.';
    end if;
    if p_lead_id is null then
        raise exception 'p_lead_id must not be null'
            using errcode = 'SL010', hint = 'Pass the id of the lead to snooze.';
    end if;
    if p_until <= v_now or p_until > v_now + v_longest then
        raise exception 'a snooze ends after now and at most % ahead, not at %', v_longest, p_until
            using errcode = 'SL010',
                detail = pg_catalog.format('The SLA clock reads %s.', v_now),
                hint = 'Pass an instant within the next 30 days, or NULL to resume at once.';
    end if;
    if pg_catalog.length(p_note) > 2000 then
        raise exception 'the note is % characters long; at most 2000 are kept',
            pg_catalog.length(p_note)
            using errcode = 'SL010', hint = 'Shorten the note.';
    end if;

    select l.* into v_lead from public.crm_leads as l where l.id = p_lead_id for update;
    if not found or (
        v_caller = 'user' and v_lead.assigned_agent_id is distinct from v_uid
        and not public.is_admin(v_uid)
    ) then
        if v_caller = 'user' then
            raise exception 'lead % is not yours', p_lead_id
                using errcode = 'SL002', hint = 'Only its owner or an admin may snooze a lead.';
        end if;
        raise exception 'lead % does not exist', p_lead_id
            using errcode = 'SL001', hint = 'Check the lead id; it may have been deleted.';
    end if;
    if v_caller = 'user' and not public.is_admin(v_uid) then
        select p.owner_may_snooze into v_owner_may
        from public.crm_sla_policies as p where p.id = v_lead.sla_policy_id;
        if not coalesce(v_owner_may, false) then
            raise exception 'the policy of lead % does not let its owner snooze it', p_lead_id
                using errcode = 'SL006',
                    hint = 'Ask an admin, or set owner_may_snooze on the lead''s SLA policy.';
        end if;
    end if;
    if p_until is not null and (
        v_lead.assigned_agent_id is null or v_lead.sla_escalated_at is not null
        or v_lead.first_action_completed or v_lead.sla_waiting_since is not null
    ) then
        raise exception 'lead % has no running timer to snooze', p_lead_id
            using errcode = 'SL010',
                detail = 'Its first action is recorded, it is escalated, it has no owner yet, or '
                || 'its window has already run out.',
                hint = 'Snooze a lead whose claim or contact window is running.';
    end if;

    -- The note reaches the paused event through the pause trigger, for this statement only.
    perform pg_catalog.set_config('crm_sla.snooze_note', coalesce(p_note, ''), true);
    update public.crm_leads as l set sla_snoozed_until = p_until
    where l.id = p_lead_id
    returning l.* into v_lead;
    perform pg_catalog.set_config('crm_sla.snooze_note', '', true);
    return v_lead;
end
$$;

comment on function public.crm_sla_snooze(uuid, timestamptz, text) is
'Pauses a lead''s running timer until p_until (at most 30 days ahead; NULL resumes it): admins, '
'the service role, and owners where the policy has owner_may_snooze';

revoke execute on function public.crm_sla_snooze(uuid, timestamptz, text)
from public, anon, authenticated, service_role;
grant execute on function public.crm_sla_snooze(uuid, timestamptz, text)
to authenticated, service_role;
