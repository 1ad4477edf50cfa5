-- Intake of a lead without an owner: the statement's first one is routed as it is written, so
-- that a single-row INSERT ... RETURNING (a web form, a Supabase insert) shows its owner and claim
-- timer; the others (and the first when nobody is eligible or older leads wait) wait for an owner
-- with no timer (routed when the statement ends, or later from the overflow queue). A trigger
-- function, so no API role needs EXECUTE on the router. Fires before each unowned lead is inserted
-- into crm_leads, after crm_leads_100_intake planned its timers.
create or replace function public.crm_leads_route_first()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    if coalesce(pg_catalog.current_setting('crm_sla.intake_routed', true), '') = '' then
        -- A session that plants the setting only puts its leads off to the end.
        perform pg_catalog.set_config('crm_sla.intake_routed', 'y', true);
        if new.sla_policy_id is not null then  -- its owner_key value (crm_sla_owner_keys)
            perform pg_catalog.set_config('crm_sla.new_lead', pg_catalog.to_jsonb(new)::text, true);
        end if;
        new.assigned_agent_id := public.crm_sla_route_new_lead(
            new.id, new.sla_policy_id, new.claim_timer_started_at
        );
    end if;
    if new.assigned_agent_id is null then
        -- Its claim timer starts when it gets an owner.
        new.lead_claimed := false;
        new.first_action_completed := false;
        new.claim_timer_started_at := null;
        new.claim_timer_expires_at := null;
        new.claim_window_expires_at := null;
        new.contact_timer_started_at := null;
        new.contact_timer_expires_at := null;
        new.sla_timer_window := null;
        new.sla_timer_calendar_id := null;
        new.sla_warn_at := null;
        new.sla_step_at := null;
    end if;
    return new;
end
$$;

comment on function public.crm_leads_route_first() is
'Trigger: routes the first unowned lead of an INSERT as it is written; unowned leads wait with no '
'timer';

revoke execute on function public.crm_leads_route_first()
from public, anon, authenticated, service_role;

drop trigger if exists crm_leads_150_route_first on public.crm_leads;

create trigger crm_leads_150_route_first
before insert on public.crm_leads
for each row when (new.assigned_agent_id is null)
execute function public.crm_leads_route_first();

comment on trigger crm_leads_150_route_first on public.crm_leads is
'Routes the first unowned lead of an INSERT as it is written; the others wait for the end of it';
