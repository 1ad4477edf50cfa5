-- Checks a webhook before it is stored: a URL crm-sla deliver can send to, known event names (or
-- NULL: every event), and one or more space-separated Standard Webhooks secrets (whsec_ and the
-- base64 of 24 to 64 bytes, not all zero; several while rotating), generated when NULL.
-- Fires before every INSERT or UPDATE on crm_sla_webhooks (the CLI, admins, the service role).
create or replace function public.crm_sla_webhooks_validate()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_known constant text[] := array[
        'assigned', 'reassigned', 'escalated', 'warning', 'no_eligible_agent', 'claimed',
        'contacted',
        'agent_paused',
        'step',
        'breached',
        'paused',
        'resumed'
    ];
    v_secret_hint constant text
        := 'Leave it NULL to have one generated, or pass whsec_<base64 of 24 to 64 random bytes> '
        || '(several, space-separated, while rotating).';
    v_problem text := public.crm_sla_webhook_url_problem(new.url);
    v_unknown text;
    v_each text;
    v_key bytea;
begin
    if v_problem is not null then
        raise exception 'webhook URL % is refused: %', coalesce(new.url, 'NULL'), v_problem
            using errcode = 'SL010',
                hint = 'Give the full URL the events are POSTed to, e.g. '
                || 'https://example.com/hooks/sla or https://hooks.example.com:8443/sla.';
    end if;
    if new.events is not null then
        select string_agg(e, ', ') into v_unknown
        from unnest(new.events) as e
        where e is null or not e = any(v_known);
        if v_unknown is not null or cardinality(new.events) = 0 then
            raise exception 'unknown event name(s): %', coalesce(v_unknown, '(an empty list)')
                using errcode = 'SL010',
                    hint = 'Events are ' || array_to_string(v_known, ', ')
                    || '; NULL subscribes to every event.';
        end if;
    end if;
    if new.secret is null then
        -- 32 bytes from the server's strong random source (two version 4 UUIDs, 244 random bits).
        new.secret := 'whsec_' || encode(decode(
            replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'
        ), 'base64');
    end if;
    if new.secret !~ '^whsec_[A-Za-z0-9+/]+={0,2}( whsec_[A-Za-z0-9+/]+={0,2})*$' then
        raise exception 'the webhook secret is not whsec_ followed by base64'
            using errcode = 'SL010',
                hint = v_secret_hint;
    end if;
    foreach v_each in array pg_catalog.string_to_array(new.secret, ' ') loop
        begin
            v_key := pg_catalog.decode(pg_catalog.substr(v_each, 7), 'base64');
        exception when invalid_parameter_value then
            v_key := null;
        end;
        if v_key is null or pg_catalog.octet_length(v_key) not between 24 and 64
            or pg_catalog.ltrim(pg_catalog.encode(v_key, 'hex'), '0') = '' then
            raise exception 'the webhook secret must be the base64 of 24 to 64 bytes, not all zero'
                using errcode = 'SL010',
                    detail = 'A key shorter than 24 bytes, longer than 64 or all zero is refused.',
                    hint = v_secret_hint;
        end if;
    end loop;
    return new;
end
$$;

comment on function public.crm_sla_webhooks_validate() is
'Trigger: refuses a webhook with a bad URL, event name or secret (SL010); generates a secret';

revoke execute on function public.crm_sla_webhooks_validate()
from public, anon, authenticated, service_role;

drop trigger if exists crm_sla_webhooks_100_validate on public.crm_sla_webhooks;

create trigger crm_sla_webhooks_100_validate
before insert or update on public.crm_sla_webhooks
for each row execute function public.crm_sla_webhooks_validate();

comment on trigger crm_sla_webhooks_100_validate on public.crm_sla_webhooks is
'Refuses a bad URL, event name or secret (SL010); generates a missing secret';
