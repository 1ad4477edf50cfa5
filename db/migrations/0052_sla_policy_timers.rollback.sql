-- Undo 0052: the lead's timer window and calendar.
alter table public.crm_leads
drop column if exists sla_timer_calendar_id,
drop column if exists sla_timer_window;

create index if not exists idx_crm_leads_sla_policy
on public.crm_leads (sla_policy_id)
where sla_policy_id is not null;

do $$
begin
    if not exists (
        select from pg_catalog.pg_constraint
        where conname = 'crm_leads_sla_policy_id_fkey' and conrelid = 'public.crm_leads'::regclass
    ) then
        alter table public.crm_leads add constraint crm_leads_sla_policy_id_fkey
        foreign key (sla_policy_id) references public.crm_sla_policies (id);
    end if;
end
$$;
