-- Ownership routing: a policy may name a crm_leads column (owner_key) whose value ties a lead to
-- the owner of the most recent other lead with the same value (an account, a company domain).
-- depends: 0041_availability

alter table public.crm_sla_policies
add column if not exists owner_key text;

comment on column public.crm_sla_policies.owner_key is
'The name of a crm_leads column (NULL: none): an unowned lead of this policy with a value there '
'goes first to the current owner of the most recent other lead with the same value, when that '
'agent is eligible';
