-- Announces new leads on the crm_sla channel: one pg_notify per INSERT statement, however many
-- rows it wrote, so intake stays cheap. Fires after every INSERT statement on crm_leads.
create or replace function public.crm_leads_announce_intake()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    perform pg_catalog.pg_notify('crm_sla', '{"event": "inserted"}');
    return null;
end
$$;

comment on function public.crm_leads_announce_intake() is
'Trigger: one crm_sla event ({"event": "inserted"}) per INSERT statement on crm_leads';

revoke execute on function public.crm_leads_announce_intake()
from public, anon, authenticated, service_role;

drop trigger if exists crm_leads_400_announce_intake on public.crm_leads;

create trigger crm_leads_400_announce_intake
after insert on public.crm_leads
for each statement execute function public.crm_leads_announce_intake();

comment on trigger crm_leads_400_announce_intake on public.crm_leads is
'Announces new leads on the crm_sla channel, once per INSERT statement';
