-- Intake, start of statement: plans the timers of the leads an INSERT brings that match no policy
-- (crm_sla_intake_plan_for at the SLA clock reading: the statement's clock) and reads the active
-- policies' matches, once for all of them, into the transaction-local settings
-- crm_sla.intake_clock and crm_sla.intake_policies that the intake trigger reads, and clears
-- crm_sla.intake_routed (no lead of this statement routed yet). crm_leads_900_intake_done clears
-- them, and the policies' plans the intake trigger made. Fires before every INSERT statement on
-- crm_leads.
create or replace function public.crm_leads_intake_clock()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_clock constant public.crm_sla_intake_plan
        := public.crm_sla_intake_plan_for(null, public.sla_now());
begin
    perform
        pg_catalog.set_config('crm_sla.intake_clock', v_clock::text, true),
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
