-- Deletes outbox rows older than crm_sla_settings.outbox_keep_days whose deliveries are finished
-- (none pending but those of inactive webhooks, which never send them), with their delivery rows,
-- in batches of p_batch, each its own transaction.
-- Called daily by the pg_cron job crm-sla-outbox-purge:<database>.
create or replace procedure public.crm_sla_purge_outbox(p_batch integer default 10000)
language plpgsql
as $$
declare
    v_before timestamptz;
    v_deleted integer;
begin
    if p_batch is null or p_batch < 1 then
        raise exception 'crm_sla_purge_outbox needs a positive batch size'
            using errcode = 'SL010', hint = 'For example: call public.crm_sla_purge_outbox(10000).';
    end if;
    select pg_catalog.now() - s.outbox_keep_days * interval '1 day' into v_before
    from public.crm_sla_settings as s;
    loop
        delete from public.crm_sla_outbox as o
        where o.id = any(array(
            select x.id from public.crm_sla_outbox as x
            where x.created_at < v_before
                and not exists (
                    select from public.crm_sla_webhook_deliveries as d
                    inner join public.crm_sla_webhooks as h on d.webhook_id = h.id
                    where d.outbox_id = x.id and d.status = 'pending' and h.is_active
                )
            order by x.id
            limit p_batch
            for update skip locked
        ));
        get diagnostics v_deleted = row_count;
        commit;
        exit when v_deleted < p_batch;
    end loop;
end
$$;

comment on procedure public.crm_sla_purge_outbox (integer) is
'Deletes old outbox rows (outbox_keep_days) whose deliveries are finished or wait only on '
'inactive webhooks, batch by batch';

revoke execute on procedure public.crm_sla_purge_outbox(integer)
from public, anon, authenticated, service_role;
