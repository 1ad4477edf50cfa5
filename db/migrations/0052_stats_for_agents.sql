-- Statistics for agents too: an agent reads its own row of crm_agent_sla_stats (the /stats page
-- of the board); admins and the service role every agent's.
-- depends: 0051_plpgsql_check_clean

comment on view public.crm_agent_sla_stats is
'Per-agent SLA statistics over the last 24 hours (an agent sees only its own row)';
