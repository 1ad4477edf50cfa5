-- Ownership routing: for each unowned lead of p_leads (ord = its position) whose policy names an
-- owner_key column holding a value, that key ('<column> <value>') and the current owner of the
-- most recent other lead with the same value (NULL: none has an owner). Called by the router
-- (crm_sla_route_leads) for intake, the overflow queue and crm_sla_explain_routing.
--
-- p_new_policies, when given, holds the policy of each lead of p_leads that is not written yet:
-- such a lead's row is read from the crm_sla.new_lead setting (crm_leads_150_route_first writes it
-- just before routing it). A key column that cannot be read any more (dropped, its type changed)
-- costs its leads only the preference: a warning, and they are routed in weighted fair order.
create or replace function public.crm_sla_owner_keys(p_leads uuid[], p_new_policies uuid[])
returns table (ord integer, key_label text, owner_id uuid)
language plpgsql
stable
set search_path = ''
as $$
declare
    v_new jsonb;
    v_column text;
begin
    -- The common case first: no policy names a key (the key query below would cost each
    -- single-row INSERT of an unowned lead about 40 microseconds more).
    if not exists (select from public.crm_sla_policies as p where p.owner_key is not null) then
        return;
    end if;
    if p_new_policies is not null then
        v_new := nullif(pg_catalog.current_setting('crm_sla.new_lead', true), '')::jsonb;
    end if;
    for v_column in
        select distinct p.owner_key
        from unnest(p_leads, p_new_policies) as t (id, new_policy)
        left join lateral (  -- a primary-key probe a lead, never a scan of crm_leads
            select l0.sla_policy_id, l0.assigned_agent_id
            from public.crm_leads as l0 where l0.id = t.id limit 1
        ) as l on true
        inner join public.crm_sla_policies as p
            on coalesce(l.sla_policy_id, t.new_policy) = p.id
        where p.owner_key is not null and l.assigned_agent_id is null
    loop
        begin
            -- One index probe a lead when the column is indexed (crm_sla_owner_key_advice).
            for ord, key_label, owner_id in execute pg_catalog.format(
                $q$
                select t.ord::integer as ord, %1$L || ' ' || k.v::text as key_label, o.owner_id
                from unnest($1, $2) with ordinality as t (id, new_policy, ord)
                left join lateral (  -- a primary-key probe a lead, never a scan of crm_leads
                    select l0.id, l0.sla_policy_id, l0.assigned_agent_id, l0.%1$I
                    from public.crm_leads as l0 where l0.id = t.id limit 1
                ) as l on true
                inner join public.crm_sla_policies as p
                    on coalesce(l.sla_policy_id, t.new_policy) = p.id and p.owner_key = %1$L
                cross join lateral (
                    select case
                        when l.id is not null then l.%1$I
                        when ($3 ->> 'id')::uuid = t.id
                            then (pg_catalog.jsonb_populate_record(null::public.crm_leads, $3)).%1$I
                    end as v
                ) as k
                left join lateral (
                    select x.assigned_agent_id as owner_id
                    from public.crm_leads as x
                    where x.%1$I = k.v and x.id <> t.id and x.assigned_agent_id is not null
                    order by x.created_at desc, x.id desc
                    limit 1
                ) as o on true
                where l.assigned_agent_id is null and k.v is not null
                $q$,
                v_column
            ) using p_leads, p_new_policies, v_new loop
                return next;
            end loop;
        exception when others then
            raise warning 'ownership routing skipped owner_key %: %', v_column, sqlerrm
                using hint = 'crm-sla status says what is wrong with the policies'' owner_key.';
        end;
    end loop;
end
$$;

comment on function public.crm_sla_owner_keys(uuid[], uuid[]) is
'Internal: each unowned lead''s owner_key value and the current owner of the most recent other '
'lead with it (ownership routing)';

revoke execute on function public.crm_sla_owner_keys(uuid[], uuid[])
from public, anon, authenticated, service_role;
