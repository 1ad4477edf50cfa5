-- Intake, end of statement: routes the leads that arrived without an owner (with any older ones
-- still waiting, oldest first) through the one router, crm_sla_route_waiting(), and forgets the
-- statement's clock and plans (the crm_sla.intake_* settings). A lead nobody can take waits
-- without an owner, and without a running timer, for a monitor pass in which someone is
-- eligible. Fires after every INSERT statement on crm_leads.
create or replace function public.crm_leads_intake_done()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    if exists (select from public.crm_leads as l where l.assigned_agent_id is null) then
        -- One order for every router: the routing row first (to the end of the transaction).
        perform from public.crm_sla_routing_lock for update;
        perform public.crm_sla_route_waiting(null, public.sla_now());
        if exists (select from public.crm_leads as l where l.assigned_agent_id is null) then
            -- Leads nobody could take wait in the overflow queue: tell the board they exist.
            perform pg_catalog.pg_notify('crm_sla', '{"event": "inserted"}');
        end if;
    end if;
    -- The policies' plans (crm_leads_intake): each in the setting crm_sla.intake_planned names.
    perform pg_catalog.set_config(p.setting, '', true)
    from pg_catalog.unnest(
        nullif(pg_catalog.current_setting('crm_sla.intake_planned', true), '')::text[]
    ) as p (setting);
    perform
        pg_catalog.set_config('crm_sla.intake_clock', '', true),
        pg_catalog.set_config('crm_sla.intake_policies', '', true),
        pg_catalog.set_config('crm_sla.intake_planned', '', true),
        pg_catalog.set_config('crm_sla.intake_routed', '', true);
    return null;
end
$$;

comment on function public.crm_leads_intake_done() is
'Trigger: routes an INSERT statement''s unowned leads (and older waiting ones); clears its clock';

revoke execute on function public.crm_leads_intake_done()
from public, anon, authenticated, service_role;

drop trigger if exists crm_leads_900_intake_done on public.crm_leads;

create trigger crm_leads_900_intake_done
after insert on public.crm_leads
for each statement execute function public.crm_leads_intake_done();

comment on trigger crm_leads_900_intake_done on public.crm_leads is
'Routes the statement''s unowned leads (weighted, capped, by team); clears its cached clock';
