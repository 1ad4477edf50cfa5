-- Availability: audit rows may also say 'declined' (decline_lead) and 'unavailable' (an absence
-- started). Widening the CHECK keeps every existing row valid; stages are unchanged.
-- depends: 0038_agent_absences

alter table public.crm_lead_reassignments
drop constraint if exists crm_lead_reassignments_reason_check;

-- NOT VALID, then VALIDATE: the scan of existing rows runs without blocking reads and inserts.
alter table public.crm_lead_reassignments
add constraint crm_lead_reassignments_reason_check check (
    reason in ('unclaimed', 'no_contact', 'manual', 'declined', 'unavailable')
) not valid;

alter table public.crm_lead_reassignments
validate constraint crm_lead_reassignments_reason_check;
