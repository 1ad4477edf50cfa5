-- What a Supabase project's owner does on the dashboard's Database > Extensions page before
-- installing crm-sla, for the crm-sla Supabase fixture (tests/test_supabase.py): enable pg_cron
-- and pgTAP. On a hosted project supautils runs these as the superuser on the owner's behalf;
-- supautils is not public, so the fixture runs this file as `supabase_admin`. The statements are
-- the ones Supabase's documentation gives (docs/guides/database/extensions/pg_cron and
-- docs/guides/database/testing); the event trigger from 10_init_scripts.sql /
-- 20_migrations.sql (issue_pg_cron_access) then grants `postgres` its pg_cron access, as on
-- Supabase.
create extension if not exists pg_cron with schema pg_catalog;
create extension if not exists pgtap with schema extensions;
