-- Who is calling, for the engine's definer functions: 'anon', 'service' (service_role), 'user'
-- (a JWT with a sub), or 'trusted' (the owner, a superuser, pg_cron: no JWT). The `role` setting
-- is what SET ROLE chose (PostgREST's role switch) and survives a security definer call.
create or replace function public.crm_sla_caller()
returns text
language plpgsql
stable
set search_path = ''
as $$
declare
    -- PL/pgSQL rather than SQL, so its plan is kept: a SQL function with a SET clause is parsed
    -- and planned again on every call, and every claim and first action calls this one.
    v_role constant text := coalesce(
        nullif(pg_catalog.current_setting('role'), 'none'), session_user
    );
begin
    return case
        when v_role = 'anon' then 'anon'
        when v_role = 'service_role' then 'service'
        when auth.uid() is not null then 'user'
        when v_role = 'authenticated' then 'anon'
        else 'trusted'
    end;
end
$$;

comment on function public.crm_sla_caller() is
'Internal: classifies the caller (anon, service, user, trusted) for the engine''s functions';

revoke execute on function public.crm_sla_caller() from public, anon, authenticated, service_role;
