-- Undo 0039: the CHECK admits only the three reasons of 0.2.0 again. Audit rows are append-only:
-- where rows already say 'declined' or 'unavailable' they stay, and the CHECK is NOT VALID over
-- them; otherwise it is validated, as 0.2.0 had it.
alter table public.crm_lead_reassignments
drop constraint if exists crm_lead_reassignments_reason_check;

do $$
begin
    execute 'alter table public.crm_lead_reassignments '
        || 'add constraint crm_lead_reassignments_reason_check '
        || 'check (reason in (''unclaimed'', ''no_contact'', ''manual''))'
        || case when exists (
            select from public.crm_lead_reassignments as a
            where a.reason in ('declined', 'unavailable')
        ) then ' not valid' else '' end;
end
$$;
