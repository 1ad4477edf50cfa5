-- Undo 9032: the CHECK admits only the three reasons of 0.2.0 again. Audit rows are append-only,
-- so rows already saying 'declined' or 'unavailable' stay: the CHECK is NOT VALID over them.
alter table public.crm_lead_reassignments
drop constraint if exists crm_lead_reassignments_reason_check;

alter table public.crm_lead_reassignments
add constraint crm_lead_reassignments_reason_check
check (reason in ('unclaimed', 'no_contact', 'manual')) not valid;
