-- Checks an SLA policy before it is written (windows 0 < window <= 1 year, max_reassignments >= 0,
-- match a JSON object of at most 8 kB, pause_when NULL or one whose values fit their columns,
-- owner_key a crm_leads column: SL010 otherwise, with nothing written), so that no policy row can
-- stop intake, the monitor or the views. Fires before INSERT or UPDATE of each row of
-- crm_sla_policies.
create or replace function public.crm_sla_policies_check()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
    v_longest constant interval := interval '1 year';
    v_match_bytes constant integer := 8192;
    v_column text;
    v_value jsonb;
    v_hint text;
    v_key_problem text;
begin
    -- An update checks what it changes, so an old row written before these checks can still be
    -- deactivated or renamed (old is NULL for an INSERT: every value counts as changed).
    if (new.claim_window, new.contact_window) is distinct from (old.claim_window, old.contact_window)
        and (
            new.claim_window is null or new.claim_window <= interval '0'
            or new.claim_window > v_longest
            or new.contact_window is null or new.contact_window <= interval '0'
            or new.contact_window > v_longest
        ) then
        raise exception 'SLA policy "%": claim_window % and contact_window % must each be more '
            'than 0 and at most %', new.name, new.claim_window, new.contact_window, v_longest
            using errcode = 'SL010',
                detail = 'A window is open time an owner has; a longer one would overflow the '
                || 'timers and a negative one would breach every lead at once.',
                hint = 'For example claim_window = ''5 minutes'', contact_window = ''1 day''.';
    end if;
    if new.max_reassignments is distinct from old.max_reassignments
        and (new.max_reassignments is null or new.max_reassignments < 0) then
        raise exception 'SLA policy "%": max_reassignments % must be 0 or more',
            new.name, new.max_reassignments
            using errcode = 'SL010',
                hint = 'The number of automatic reassignments before a breach escalates to an '
                || 'admin, e.g. 3; 0 escalates at the first breach.';
    end if;
    -- match and pause_when: one rule, a JSON object of at most 8 kB (pause_when may be NULL).
    for v_column, v_value, v_hint in
        select c.column_name, c.value, c.hint from (values
            ('match', new.match, new.match is distinct from old.match,
                'Name the lead columns to match, e.g. {"source": "web"}; {} matches every lead.'),
            ('pause_when', new.pause_when, new.pause_when is distinct from old.pause_when,
                'Name the lead columns whose values stop the clock, e.g. {"status": "waiting on '
                || 'customer"}; NULL never pauses.')
        ) as c (column_name, value, changed, hint)
        where c.changed and (c.value is not null or c.column_name = 'match')
    loop
        if v_value is null or pg_catalog.jsonb_typeof(v_value) <> 'object'
            or pg_catalog.octet_length(v_value::text) > v_match_bytes then
            raise exception 'SLA policy "%": % must be a JSON object of at most % bytes',
                new.name, v_column, v_match_bytes
                using errcode = 'SL010',
                    detail = pg_catalog.format(
                        '%s is a %s of %s bytes.', v_column, pg_catalog.jsonb_typeof(v_value),
                        pg_catalog.octet_length(v_value::text)
                    ),
                    hint = v_hint;
        end if;
    end loop;
    if new.pause_when is distinct from old.pause_when and new.pause_when is not null then
        -- Each value must fit its column (the pause trigger writes them over a lead's row to
        -- test the condition cheaply): {"created_at": "soon"} would fail every UPDATE.
        begin
            perform pg_catalog.jsonb_populate_record(null::public.crm_leads, new.pause_when);
        exception when others then
            raise exception 'SLA policy "%": a value of pause_when does not fit its column',
                new.name
                using errcode = 'SL010',
                    detail = sqlerrm,
                    hint = 'Give each crm_leads column a value of its type, e.g. {"status": '
                    || '"waiting on customer"} for a text column.';
        end;
    end if;
    if new.owner_key is distinct from old.owner_key then
        v_key_problem := public.crm_sla_owner_key_problem(new.owner_key);
    end if;
    if v_key_problem is not null then
        raise exception 'SLA policy "%": owner_key % is not a column leads can share',
            new.name, new.owner_key
            using errcode = 'SL010',
                detail = v_key_problem || '.',
                hint = 'Name a column of public.crm_leads that the CRM writes and = compares, e.g. '
                || 'email' || case when pg_catalog.strpos(v_key_problem, 'has no column') > 0
                    then pg_catalog.format(
                        '; to key on %1$I, add it first: alter table public.crm_leads add column '
                        || '%1$I text;', new.owner_key
                    )
                    else '.'
                end;
    end if;
    return new;
end
$$;

comment on function public.crm_sla_policies_check() is
'Trigger: refuses an SLA policy with a window outside (0, 1 year], a negative '
'max_reassignments, a match or pause_when that is not a JSON object of at most 8 kB or an '
'owner_key that is not a usable crm_leads column (SL010)';

revoke execute on function public.crm_sla_policies_check()
from public, anon, authenticated, service_role;

drop trigger if exists crm_sla_policies_050_check on public.crm_sla_policies;

create trigger crm_sla_policies_050_check
before insert or update on public.crm_sla_policies
for each row execute function public.crm_sla_policies_check();

comment on trigger crm_sla_policies_050_check on public.crm_sla_policies is
'Refuses a policy whose windows, max_reassignments, match, pause_when or owner_key are out of '
'bounds (SL010)';
