-- Why a lead would go to whom: one row per agent and admin, eligible or not with a reason a
-- person understands, and the rank the router would pick in now (1 = the next owner). Called by
-- admins and the service role (support, "why did this lead go to Ann?").
create or replace function public.crm_sla_explain_routing(p_lead_id uuid)
returns table (agent_id uuid, eligible boolean, reason text, rank integer)
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
    v_caller constant text := public.crm_sla_caller();
begin
    if v_caller = 'anon' or (v_caller = 'user' and not public.is_admin(auth.uid())) then
        raise exception 'only admins and the service role can see how leads are routed'
            using errcode = 'SL006',
                hint = 'Ask an admin; agents see the leads routed to them.';
    end if;
    if not exists (select from public.crm_leads as l where l.id = p_lead_id) then
        raise exception 'lead % does not exist', coalesce(p_lead_id::text, 'NULL')
            using errcode = 'SL001', hint = 'Check the lead id; it may have been deleted.';
    end if;
    return query
    select r.agent_id, r.eligible, r.reason, r.rank
    from public.crm_sla_route_leads(array[p_lead_id], public.sla_now(), true, null) as r
    order by r.rank nulls last, r.reason, r.agent_id;
end
$$;

comment on function public.crm_sla_explain_routing(uuid) is
'Why a lead would go to whom now: each agent, eligible or why not, and the router''s rank';

revoke execute on function public.crm_sla_explain_routing(uuid) from public, anon;
grant execute on function public.crm_sla_explain_routing(uuid) to authenticated, service_role;
