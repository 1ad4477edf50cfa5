-- Routing version 2: the smooth weighted round robin's credit per agent, an index that counts an
-- agent's open leads against its cap, and the mark of a lead whose window ran out while nobody
-- could take it (it waits with its owner). The router's functions come with 0061.
-- depends: 0051_plpgsql_check_clean

alter table public.crm_sla_agent_state
add column if not exists routing_credit double precision not null default 0;

comment on column public.crm_sla_agent_state.routing_credit is
'Smooth weighted round robin: credit earned (weight a round while a candidate) less leads taken';

create index if not exists crm_leads_open_by_agent_idx
on public.crm_leads (assigned_agent_id)
where first_action_completed = false and sla_escalated_at is null;

comment on index public.crm_leads_open_by_agent_idx is
'Open leads (not contacted, not escalated) by owner: counts them against max_open_leads';

alter table public.crm_leads
add column if not exists sla_waiting_since timestamptz;

comment on column public.crm_leads.sla_waiting_since is
'When the monitor found nobody eligible to take this overdue lead (engine-owned); NULL once moved';

create index if not exists crm_leads_waiting_idx
on public.crm_leads (sla_waiting_since)
where sla_waiting_since is not null;

comment on index public.crm_leads_waiting_idx is
'Overdue leads waiting with their owner for an eligible agent, oldest first';
