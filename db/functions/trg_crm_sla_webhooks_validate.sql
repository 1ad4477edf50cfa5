-- Checks a webhook before it is stored: an http(s) URL, known event names (or NULL: every event),
-- and a Standard Webhooks secret (whsec_ and the base64 of 24 to 64 bytes), generated when NULL.
-- Fires before every INSERT or UPDATE on crm_sla_webhooks (the CLI, admins, the service role).
create or replace function public.crm_sla_webhooks_validate()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
    v_known constant text[] := array[
        'assigned', 'reassigned', 'escalated', 'warning', 'no_eligible_agent', 'claimed',
        'contacted'
    ];
    v_secret_hint constant text
        := 'Leave it NULL to have one generated, or pass whsec_<base64 of 24 to 64 random bytes>.';
    v_unknown text;
    v_key bytea;
begin
    if new.url is null or new.url !~* '^https?://[^/\s?#]+([/?#]\S*)?$' then
        raise exception 'webhook URL % is not an http:// or https:// URL', coalesce(new.url, 'NULL')
            using errcode = 'SL010',
                hint = 'Give the full URL the events are POSTed to, e.g. https://example.com/hooks/sla.';
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
    if new.secret !~ '^whsec_[A-Za-z0-9+/]+={0,2}$' then
        raise exception 'the webhook secret is not whsec_ followed by base64'
            using errcode = 'SL010',
                hint = v_secret_hint;
    end if;
    begin
        v_key := decode(substr(new.secret, 7), 'base64');
    exception when invalid_parameter_value then
        v_key := null;
    end;
    if v_key is null or octet_length(v_key) not between 24 and 64 then
        raise exception 'the webhook secret must be the base64 of 24 to 64 bytes'
            using errcode = 'SL010',
                hint = v_secret_hint;
    end if;
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
