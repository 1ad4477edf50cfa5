-- Intake, start of statement: reads the SLA clock and the windows once for all the leads an
-- INSERT brings, into the transaction-local setting crm_sla.intake_clock that the intake trigger
-- reads (crm_leads_900_intake_done clears it). Fires before every INSERT statement on crm_leads.
create or replace function public.crm_leads_intake_clock()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform pg_catalog.set_config('crm_sla.intake_clock', public.crm_sla_intake_clock(), true);
    return null;
end
$$;

comment on function public.crm_leads_intake_clock() is
'Trigger: reads the SLA clock once for an INSERT statement on crm_leads';

revoke execute on function public.crm_leads_intake_clock()
from public, anon, authenticated, service_role;

drop trigger if exists crm_leads_050_intake_clock on public.crm_leads;

create trigger crm_leads_050_intake_clock
before insert on public.crm_leads
for each statement execute function public.crm_leads_intake_clock();

comment on trigger crm_leads_050_intake_clock on public.crm_leads is
'Reads the SLA clock and the windows once for the statement''s new leads';
