-- Stop the clock at intake: the new leads of the statement that arrive with an owner and already
-- contain their policy's pause_when start paused (an UPDATE of those leads only, which
-- crm_leads_250_pause turns into the pause and its `paused` event, after their `assigned`).
-- Unowned leads are looked at when routing gives them an owner. Fires after each INSERT
-- statement on crm_leads; with no policy that has pause_when it costs one look at the policies.
create or replace function public.crm_leads_pause_intake()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
-- @plpgsql_check_options: newtable = new_leads
begin
    if exists (select from public.crm_sla_policies as p where p.pause_when is not null) then
        update public.crm_leads as l
        set sla_paused_at = null  -- the pause trigger decides
        from new_leads as n
        inner join public.crm_sla_policies as p on n.sla_policy_id = p.id
        where l.id = n.id
            and n.assigned_agent_id is not null
            and p.pause_when is not null
            and pg_catalog.to_jsonb(n) @> p.pause_when;
    end if;
    return null;
end
$$;

comment on function public.crm_leads_pause_intake() is
'Trigger: new leads that arrive matching their policy''s pause_when start paused';

revoke execute on function public.crm_leads_pause_intake()
from public, anon, authenticated, service_role;

drop trigger if exists crm_leads_420_pause_intake on public.crm_leads;

create trigger crm_leads_420_pause_intake
after insert on public.crm_leads
referencing new table as new_leads
for each statement execute function public.crm_leads_pause_intake();

comment on trigger crm_leads_420_pause_intake on public.crm_leads is
'Pauses the new leads whose rows match their policy''s pause_when, once per INSERT statement';
