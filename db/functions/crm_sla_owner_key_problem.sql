-- Says what is wrong with a policy's owner_key (NULL: nothing): it must name a crm_leads column
-- that the CRM writes and that = compares. Called by the policies' check trigger and crm-sla
-- status / migrate (crm_sla_owner_key_advice).
create or replace function public.crm_sla_owner_key_problem(p_column text)
returns text
language plpgsql
stable
set search_path = ''
as $$
begin
    if p_column is null then
        return null;
    end if;
    if not exists (
        select from pg_catalog.pg_attribute as a
        where
            a.attrelid = 'public.crm_leads'::regclass and a.attname = p_column
            and a.attnum > 0 and not a.attisdropped
    ) then
        return pg_catalog.format('public.crm_leads has no column %I', p_column);
    end if;
    if p_column = any(public.crm_sla_engine_columns()) then
        return pg_catalog.format(
            'public.crm_leads.%I is written by the engine, not by the CRM', p_column
        );
    end if;
    begin
        execute pg_catalog.format(
            'select from public.crm_leads as l where l.%1$I = l.%1$I limit 0', p_column
        );
    exception when undefined_function then
        return pg_catalog.format(
            'public.crm_leads.%I is of a type that = cannot compare', p_column
        );
    end;
    return null;
end
$$;

comment on function public.crm_sla_owner_key_problem(text) is
'What is wrong with an SLA policy''s owner_key (NULL: nothing): a crm_leads column the CRM writes '
'that = compares';

revoke execute on function public.crm_sla_owner_key_problem(text)
from public, anon, authenticated, service_role;
