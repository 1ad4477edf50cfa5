-- Stop the clock (version 3): a policy may pause its leads' timers while the lead's row contains
-- pause_when, and may let owners snooze their own leads; the lead keeps its pause in engine-owned
-- columns (nullable, no default: added without rewriting crm_leads). Safe to run twice.
-- depends: 0047_escalation_up_the_chain

alter table public.crm_sla_policies
add column if not exists pause_when jsonb;

comment on column public.crm_sla_policies.pause_when is
'While a lead''s row contains this JSON object (to_jsonb(lead) @> pause_when) its running timer '
'is paused; NULL: never (at most 8 kB)';

alter table public.crm_sla_policies
add column if not exists owner_may_snooze boolean not null default false;

comment on column public.crm_sla_policies.owner_may_snooze is
'True: the owner of a lead of this policy may snooze its timer (crm_sla_snooze); admins and the '
'service role always may';

alter table public.crm_leads
add column if not exists sla_paused_at timestamptz,
add column if not exists sla_paused_left interval,
add column if not exists sla_paused_warn_left interval,
add column if not exists sla_paused_step_left interval,
add column if not exists sla_paused_total interval,
add column if not exists sla_snoozed_until timestamptz;

comment on column public.crm_leads.sla_paused_at is
'When the running timer was paused (pause_when matched, or a snooze); NULL: it runs '
'(engine-owned)';
comment on column public.crm_leads.sla_paused_left is
'Open time that was left on the paused timer''s deadline: it falls due that long after it '
'resumes (engine-owned)';
comment on column public.crm_leads.sla_paused_warn_left is
'Open time that was left before the paused timer''s warning; NULL: no warning pending '
'(engine-owned)';
comment on column public.crm_leads.sla_paused_step_left is
'Open time that was left before the paused timer''s next ladder step; NULL: no step pending '
'(engine-owned)';
comment on column public.crm_leads.sla_paused_total is
'Time the running timer spent paused before its current pause: statistics leave it out '
'(engine-owned)';
comment on column public.crm_leads.sla_snoozed_until is
'The snooze (crm_sla_snooze) of the running timer ends at this instant of the SLA clock; the '
'monitor resumes it then (engine-owned)';
