-- Policy match lookup: the index through which intake finds a lead's policy among many active
-- ones (crm_sla_intake_matches, crm_leads_intake): one probe a key set of their matches. The
-- policies table is small; building the index locks it (not crm_leads) for milliseconds.
-- depends: 0036_many_policies

create index if not exists crm_sla_policies_match_lookup
on public.crm_sla_policies (public.crm_sla_match_keys(match), match)
where is_active;

comment on index public.crm_sla_policies_match_lookup is
'Intake with many active policies: the policy whose match equals a lead''s values of its keys';
