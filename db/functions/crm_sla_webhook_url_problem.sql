-- Says what is wrong with a webhook URL (NULL: nothing), as strictly as crm-sla deliver's HTTP
-- client parses it. Called by the webhooks' validate trigger and by crm-sla deliver before a POST.
create or replace function public.crm_sla_webhook_url_problem(p_url text)
returns text
language plpgsql
immutable
set search_path = ''
as $$
declare
    -- scheme://[userinfo@]host[:port][/path][?query][#fragment], ASCII, no spaces or controls
    v_parts text[] := pg_catalog.regexp_match(
        p_url,
        '^(https?)://(?:[A-Za-z0-9._~%!$&''()*+,;=:-]+@)?'
        || '([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?'
        || '|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?([/?#][\x21-\x7e]*)?$',
        'i'
    );
begin
    if p_url is null then
        return 'no URL';
    elsif octet_length(p_url) > 2048 then
        return 'longer than 2048 bytes';
    elsif v_parts is null then
        return 'not an http:// or https:// URL with a host name or IP address, an optional port '
            || 'and a path of printable ASCII';
    elsif v_parts[3]::integer not between 1 and 65535 then
        return 'port ' || v_parts[3] || ' is not between 1 and 65535';
    elsif v_parts[2] like '[%' then
        begin
            perform pg_catalog.btrim(v_parts[2], '[]')::inet;
        exception when invalid_text_representation then
            return v_parts[2] || ' is not an IPv6 address';
        end;
    end if;
    return null;
end
$$;

comment on function public.crm_sla_webhook_url_problem(text) is
'What is wrong with a webhook URL for crm-sla deliver (NULL: nothing); the one URL check';

revoke execute on function public.crm_sla_webhook_url_problem(text)
from public, anon, authenticated, service_role;
