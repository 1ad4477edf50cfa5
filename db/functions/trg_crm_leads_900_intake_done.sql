-- Intake, end of statement: moves the agents this statement's unowned leads went to to the back
-- of the routing queue, in the order crm_leads_090_intake_route picked them, and forgets the
-- statement's clock and queue (crm_sla.intake_*). Fires after every INSERT statement on crm_leads.
create or replace function public.crm_leads_intake_done()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_queue uuid[];
    v_routed integer;
begin
    v_queue := nullif(pg_catalog.current_setting('crm_sla.intake_queue', true), '')::uuid[];
    v_routed := nullif(pg_catalog.current_setting('crm_sla.intake_routed', true), '')::integer;
    if v_routed > 0 then
        -- The k-th unowned lead (from 0) went to agent k mod n of the queue.
        perform public.crm_sla_mark_routed(array(
            select v_queue[(k % pg_catalog.cardinality(v_queue)) + 1]
            from pg_catalog.generate_series(0, v_routed - 1) as k
            order by k
        ));
    end if;
    perform
        pg_catalog.set_config('crm_sla.intake_queue', '', true),
        pg_catalog.set_config('crm_sla.intake_routed', '', true),
        pg_catalog.set_config('crm_sla.intake_clock', '', true),
        pg_catalog.set_config('crm_sla.intake_policies', '', true);
    return null;
end
$$;

comment on function public.crm_leads_intake_done() is
'Trigger: records the round-robin picks of an INSERT statement and clears its intake settings';

revoke execute on function public.crm_leads_intake_done()
from public, anon, authenticated, service_role;

drop trigger if exists crm_leads_900_intake_done on public.crm_leads;

create trigger crm_leads_900_intake_done
after insert on public.crm_leads
for each statement execute function public.crm_leads_intake_done();

comment on trigger crm_leads_900_intake_done on public.crm_leads is
'Records the round-robin picks of the statement''s new leads; clears its cached clock and queue';
