-- Who is calling, for the engine's definer functions: 'anon', 'service' (service_role), 'user'
-- (a JWT with a sub), or 'trusted' (the owner, a superuser, pg_cron: no JWT). The `role` setting
-- is what SET ROLE chose (PostgREST's role switch) and survives a security definer call.
create or replace function public.crm_sla_caller()
returns text
language sql
stable
set search_path = ''
as $$
    select case
        when r.name = 'anon' then 'anon'
        when r.name = 'service_role' then 'service'
        when auth.uid() is not null then 'user'
        when r.name = 'authenticated' then 'anon'
        else 'trusted'
    end
    from (select coalesce(nullif(current_setting('role'), 'none'), session_user) as name) as r
$$;

comment on function public.crm_sla_caller() is
'Internal: classifies the caller (anon, service, user, trusted) for the engine''s functions';

revoke execute on function public.crm_sla_caller() from public, anon, authenticated, service_role;
