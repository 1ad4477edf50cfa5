-- Intake, start of statement: reads the SLA clock, the default timers and the active policies'
-- matches once for all the leads an INSERT brings, into the transaction-local settings
-- crm_sla.intake_clock and crm_sla.intake_policies that the intake trigger reads
-- (crm_leads_900_intake_done clears them), and clears crm_sla.intake_routed (no lead of this
-- statement was routed as it was written yet). Fires before every INSERT statement on crm_leads.
create or replace function public.crm_leads_intake_clock()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_clock constant text := public.crm_sla_intake_clock();
begin
    perform
        pg_catalog.set_config('crm_sla.intake_clock', v_clock, true),
        pg_catalog.set_config('crm_sla.intake_routed', '', true),
        pg_catalog.set_config('crm_sla.intake_policies', public.crm_sla_intake_matches(), true);
    return null;
end
$$;

comment on function public.crm_leads_intake_clock() is
'Trigger: reads the SLA clock and the policies once for an INSERT statement on crm_leads';

revoke execute on function public.crm_leads_intake_clock()
from public, anon, authenticated, service_role;

drop trigger if exists crm_leads_050_intake_clock on public.crm_leads;

create trigger crm_leads_050_intake_clock
before insert on public.crm_leads
for each statement execute function public.crm_leads_intake_clock();

comment on trigger crm_leads_050_intake_clock on public.crm_leads is
'Reads the SLA clock, the windows and the policies once for the statement''s new leads';
