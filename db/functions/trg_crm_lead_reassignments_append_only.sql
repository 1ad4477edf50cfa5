-- Keeps the audit trail append-only: no UPDATE, and no DELETE except the cascade from deleting
-- its lead. Fires before UPDATE or DELETE on crm_lead_reassignments, for every role.
create or replace function public.crm_lead_reassignments_append_only()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    if tg_op = 'DELETE' and not exists (
        select from public.crm_leads as l where l.id = old.lead_id
    ) then
        return old;  -- the lead itself is being deleted: ON DELETE CASCADE
    end if;
    raise exception 'crm_lead_reassignments is append-only: % is not allowed', tg_op
        using errcode = 'SL012',
            hint = 'Audit rows are never changed; they go only with their lead.';
end
$$;

comment on function public.crm_lead_reassignments_append_only() is
'Trigger: refuses UPDATE and DELETE of audit rows, except the cascade from deleting the lead';

revoke execute on function public.crm_lead_reassignments_append_only()
from public, anon, authenticated, service_role;

drop trigger if exists crm_lead_reassignments_100_append_only on public.crm_lead_reassignments;

create trigger crm_lead_reassignments_100_append_only
before update or delete on public.crm_lead_reassignments
for each row execute function public.crm_lead_reassignments_append_only();

comment on trigger crm_lead_reassignments_100_append_only on public.crm_lead_reassignments is
'Audit rows are append-only; they go only with their lead';
