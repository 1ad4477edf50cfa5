-- Undo 0042: policies name no owner_key column any more.
alter table public.crm_sla_policies drop column if exists owner_key;
