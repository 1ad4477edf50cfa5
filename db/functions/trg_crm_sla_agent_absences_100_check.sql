-- Checks an absence before it is stored: a real range, a bounded reason, and at most 100 absences
-- not yet ended per agent (routing reads them). Fires before every INSERT or UPDATE on
-- crm_sla_agent_absences (agents' clients, admins, the service role).
create or replace function public.crm_sla_agent_absences_check()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    if new.starts_at is null or new.ends_at is null or new.ends_at <= new.starts_at then
        raise exception 'an absence must end after it starts, got % to %',
            coalesce(new.starts_at::text, 'NULL'), coalesce(new.ends_at::text, 'NULL')
            using errcode = 'SL010',
                hint = 'Give starts_at and ends_at with ends_at later, e.g. a day: '
                || 'starts_at = ''2026-12-24'', ends_at = ''2026-12-27''.';
    end if;
    if length(new.reason) > 500 then
        raise exception 'the absence''s reason is % characters long; at most 500 are kept',
            length(new.reason)
            using errcode = 'SL010', hint = 'Shorten the reason.';
    end if;
    if (
        select count(*) from public.crm_sla_agent_absences as b
        where b.agent_id = new.agent_id and b.ends_at > public.sla_now() and b.id <> new.id
    ) >= 100 then
        raise exception 'agent % already has 100 absences that have not ended', new.agent_id
            using errcode = 'SL010',
                hint = 'Join adjacent absences into one, or delete ones no longer planned.';
    end if;
    return new;
end
$$;

comment on function public.crm_sla_agent_absences_check() is
'Trigger: refuses an absence that does not end after it starts, or past 100 pending ones (SL010)';

revoke execute on function public.crm_sla_agent_absences_check()
from public, anon, authenticated, service_role;

drop trigger if exists crm_sla_agent_absences_100_check on public.crm_sla_agent_absences;

create trigger crm_sla_agent_absences_100_check
before insert or update on public.crm_sla_agent_absences
for each row execute function public.crm_sla_agent_absences_check();

comment on trigger crm_sla_agent_absences_100_check on public.crm_sla_agent_absences is
'Refuses an absence that does not end after it starts, or past 100 pending ones (SL010)';
