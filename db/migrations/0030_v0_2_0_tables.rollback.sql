-- Undo 0030_v0_2_0_tables: release 0.1.0's tables, columns, grants and policies again.
alter table public.crm_leads
drop column if exists sla_warned_at,
drop column if exists sla_warn_at;

alter table public.crm_sla_settings
drop column if exists webhook_retry_delays,
drop column if exists outbox_keep_days;

drop table if exists public.crm_sla_webhook_deliveries;
drop table if exists public.crm_sla_webhooks;
drop table if exists public.crm_sla_outbox;

alter table public.crm_leads drop column if exists sla_waiting_since;

alter table public.crm_sla_agent_state drop column if exists routing_credit;

comment on view public.crm_agent_sla_stats is
'Per-agent SLA statistics over the last 24 hours (admins and the service role)';

alter table public.crm_sla_settings
drop column if exists calendar_id,
drop column if exists warn_at;

alter table public.crm_leads
drop column if exists sla_timer_calendar_id,
drop column if exists sla_timer_window,
drop column if exists sla_policy_id;

drop table if exists public.crm_sla_policies;
drop table if exists public.crm_sla_agent_routing;
drop table if exists public.crm_sla_team_members;
drop table if exists public.crm_sla_teams;
drop table if exists public.crm_sla_holidays;
drop table if exists public.crm_sla_calendar_hours;
drop table if exists public.crm_sla_calendars;

drop table if exists public.crm_sla_routing_lock;

drop table if exists public.crm_sla_monitor_pause;

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

-- The engine's sequences get back the grants they had before.
call crm_sla_migrations.restore_privileges('0030_v0_2_0_tables');
