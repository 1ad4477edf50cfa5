-- A policy that leads follow cannot be deleted (they keep it for life): SL010, nothing deleted;
-- deactivate it instead. Stands in for a foreign key from crm_leads, which would cost every new
-- lead a key check. Fires before each row is deleted from crm_sla_policies.
create or replace function public.crm_sla_policies_in_use()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    if exists (select from public.crm_leads as l where l.sla_policy_id = old.id) then
        raise exception 'SLA policy "%" is the policy of existing leads', old.name
            using errcode = 'SL010',
                hint = 'Deactivate it (is_active = false): new leads stop matching it, and the '
                || 'leads that have it keep it for life.';
    end if;
    return old;
end
$$;

comment on function public.crm_sla_policies_in_use() is
'Trigger: refuses to delete an SLA policy that leads follow (SL010)';

revoke execute on function public.crm_sla_policies_in_use()
from public, anon, authenticated, service_role;

drop trigger if exists crm_sla_policies_100_in_use on public.crm_sla_policies;

create trigger crm_sla_policies_100_in_use
before delete on public.crm_sla_policies
for each row execute function public.crm_sla_policies_in_use();

comment on trigger crm_sla_policies_100_in_use on public.crm_sla_policies is
'Refuses to delete a policy that leads follow (SL010): deactivate it instead';
