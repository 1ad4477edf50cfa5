-- Checks a ladder step before it is written: a stage that exists (claim_window, contact_window),
-- 0 < at < 1, notify owner or manager, a name of 1 to 200 characters; SL010 with a hint
-- otherwise, nothing written. Fires before INSERT or UPDATE of each row of crm_sla_policy_steps.
create or replace function public.crm_sla_policy_steps_check()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if new.stage is null or new.stage not in ('claim_window', 'contact_window') then
        raise exception 'ladder step "%": stage % does not exist', new.name, coalesce(new.stage, 'NULL')
            using errcode = 'SL010',
                hint = 'A step belongs to the claim_window or the contact_window timer.';
    end if;
    if new.at is null or new.at <= 0 or new.at >= 1 then
        raise exception 'ladder step "%": at % is not a share of the window', new.name,
            coalesce(new.at::text, 'NULL')
            using errcode = 'SL010',
                hint = 'Give a number between 0 and 1 (exclusive): 0.5 is half the window, in '
                || 'the policy''s open time.';
    end if;
    if new.notify is null or new.notify not in ('owner', 'manager') then
        raise exception 'ladder step "%": notify % is unknown', new.name,
            coalesce(new.notify, 'NULL')
            using errcode = 'SL010',
                hint = 'notify is owner (the lead''s owner) or manager (the first active agent in '
                || 'the owner''s manager chain).';
    end if;
    if new.name is null or pg_catalog.length(new.name) not between 1 and 200 then
        raise exception 'a ladder step needs a name of 1 to 200 characters'
            using errcode = 'SL010',
                hint = 'The name is payload.step of its events, e.g. ''remind_rep''.';
    end if;
    return new;
end
$$;

comment on function public.crm_sla_policy_steps_check() is
'Trigger: refuses a ladder step with an unknown stage or notify, at outside (0, 1) or no name '
'(SL010)';

revoke execute on function public.crm_sla_policy_steps_check()
from public, anon, authenticated, service_role;

drop trigger if exists crm_sla_policy_steps_100_check on public.crm_sla_policy_steps;

create trigger crm_sla_policy_steps_100_check
before insert or update on public.crm_sla_policy_steps
for each row execute function public.crm_sla_policy_steps_check();

comment on trigger crm_sla_policy_steps_100_check on public.crm_sla_policy_steps is
'Refuses a ladder step with an unknown stage or notify, at outside (0, 1) or no name (SL010)';
