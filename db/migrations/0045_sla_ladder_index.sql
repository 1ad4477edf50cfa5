-- The monitor's ladder steps due, read off the first entries whatever the table size (apart from
-- 0044, so that no ALTER TABLE's lock on crm_leads is held while the index is built). Safe to
-- run twice.
-- depends: 0044_sla_ladder

create index if not exists idx_crm_leads_sla_step_due
on public.crm_leads (sla_step_at)
where sla_step_at is not null;
