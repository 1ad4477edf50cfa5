-- Undo the baseline: drop only what it created (marked "(crm-sla baseline)"); roles stay.

drop table if exists public.crm_sla_settings;

do $$
declare
    v_marker constant text := '%(crm-sla baseline)%';
begin
    if to_regclass('public.crm_leads') is not null
        and obj_description('public.crm_leads'::regclass, 'pg_class') like v_marker then
        drop table public.crm_leads;
    end if;
    if to_regclass('public.crm_agents') is not null then
        if obj_description('public.crm_agents'::regclass, 'pg_class') like v_marker then
            drop table public.crm_agents;
        else
            delete from public.crm_agents
            where id = '00000000-0000-0000-0000-000000000000' and role = 'system';
        end if;
    end if;
    -- The system actor's auth.users row, where the baseline made one.
    if to_regclass('auth.users') is not null then
        delete from auth.users
        where
            id = '00000000-0000-0000-0000-000000000000'
            and raw_app_meta_data ->> 'provider' = 'crm-sla';
    end if;
    if to_regprocedure('public.is_admin(uuid)') is not null
        and obj_description('public.is_admin(uuid)'::regprocedure, 'pg_proc') like v_marker then
        drop function public.is_admin(uuid);
    end if;
    if to_regprocedure('auth.uid()') is not null
        and obj_description('auth.uid()'::regprocedure, 'pg_proc') like v_marker then
        drop function auth.uid();
    end if;
    if to_regnamespace('auth') is not null
        and obj_description('auth'::regnamespace, 'pg_namespace') like v_marker then
        drop schema auth;
    end if;
end
$$;
