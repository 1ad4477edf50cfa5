-- The baseline let every signed-in user read the whole team ("Signed-in users can see the team",
-- USING (true)): with open sign-ups, any JWT without an agent row read every agent's name, email
-- and role. Now an agent reads its own row, and admins every row (their "Admins can manage
-- agents" policy). Only on a crm_agents the baseline made: a CRM's own table keeps its own
-- policies.
-- depends: 0040_engine_sequences

do $$
begin
    if obj_description('public.crm_agents'::regclass, 'pg_class') like '%(crm-sla baseline)%' then
        drop policy if exists "Signed-in users can see the team" on public.crm_agents;
        drop policy if exists "Agents read their own row" on public.crm_agents;
        create policy "Agents read their own row"
        on public.crm_agents for select to authenticated
        using (id = (select auth.uid()));
        comment on policy "Agents read their own row" on public.crm_agents is
        'An agent reads only its own row; admins read every row through "Admins can manage '
        'agents"';
    end if;
end
$$;
