-- Who a lead escalates to once it was moved max_reassignments times, however the last move came
-- about (a breach, a decline, an absence's hand-over): the first active agent in its last owner's
-- manager chain, or, when that chain has none, p_admin (the router's pick: an active admin).
-- Called by crm_sla_route_ladder (the monitor), decline_lead and crm_sla_hand_over_absent.
create or replace function public.crm_sla_escalation_target(p_owner uuid, p_admin uuid)
returns uuid
language sql
stable
set search_path = ''
as $$
    select coalesce(public.crm_sla_first_manager(p_owner), p_admin)
$$;

comment on function public.crm_sla_escalation_target(uuid, uuid) is
'Internal: an escalating lead''s next owner: its last owner''s first active manager, else '
'the admin';

revoke execute on function public.crm_sla_escalation_target(uuid, uuid)
from public, anon, authenticated, service_role;
