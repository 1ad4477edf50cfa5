-- The running timer's window and calendar on each lead (engine-owned: what re-planning after a
-- calendar edit recomputes its deadline from). No foreign keys on the lead's engine-owned policy
-- and calendar columns: a key check costs each new lead 10 to 25 microseconds (a quarter of
-- intake); the engine alone writes them, a policy in use cannot be deleted
-- (crm_sla_policies_100_in_use) and a timer whose calendar was deleted runs on plain time.
-- depends: 0051_plpgsql_check_clean

alter table public.crm_leads
add column if not exists sla_timer_window interval,
add column if not exists sla_timer_calendar_id uuid;

alter table public.crm_leads drop constraint if exists crm_leads_sla_policy_id_fkey;

drop index if exists public.idx_crm_leads_sla_policy;

comment on column public.crm_leads.sla_timer_window is
'The window of the running timer (claim or contact), as it was when the timer started '
'(engine-owned)';
comment on column public.crm_leads.sla_timer_calendar_id is
'The calendar whose open time the running timer counts; NULL: around the clock (engine-owned)';

-- Timers that were running before: plain time, their window as started.
update public.crm_leads
set
    sla_timer_window = case
        when lead_claimed then contact_timer_expires_at - contact_timer_started_at
        else claim_timer_expires_at - claim_timer_started_at
    end
where
    sla_timer_window is null
    and case
        when lead_claimed then contact_timer_expires_at - contact_timer_started_at
        else claim_timer_expires_at - claim_timer_started_at
    end is not null;
