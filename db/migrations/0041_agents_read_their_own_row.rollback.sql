-- Back to the baseline's policy: every signed-in user reads the team.
do $$
begin
    if obj_description('public.crm_agents'::regclass, 'pg_class') like '%(crm-sla baseline)%' then
        drop policy if exists "Agents read their own row" on public.crm_agents;
        drop policy if exists "Signed-in users can see the team" on public.crm_agents;
        create policy "Signed-in users can see the team"
        on public.crm_agents for select to authenticated
        using (true);
    end if;
end
$$;
