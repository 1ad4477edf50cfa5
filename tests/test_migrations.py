"""Migrations tested the hard way: twice, down to zero and up again, two at once, on a database
that already has the CRM (Supabase), over existing rows, and with bad input."""

from __future__ import annotations

import re
import shutil
import threading
import uuid
from pathlib import Path

import psycopg
import pytest
from pytest_postgresql import factories

from harness import migrate, pytest_plugin
from harness.paths import MIGRATIONS_DIR
from harness.target import with_database
from harness.testing import connect
from tests.cli import assert_one_line_error, crm_sla

# The migrations of release 0.1.0, in order; every later one comes after them.
RELEASE_0_1_0 = [
    "0001_baseline",
    "0002_dual_stage_sla",
    "0003_sla_engine_tables",
    "0004_sla_engine_functions",
    "0005_crm_leads_security",
    "0006_operations_tables",
    "0007_operations_functions",
    "0008_agent_stats_view",
    "0010_engine_speedups",
    "0020_board_events",
]
ALL = migrate.pending_ids(set())


def test_later_migrations_come_after_the_release():
    assert ALL[: len(RELEASE_0_1_0)] == RELEASE_0_1_0
    assert len(ALL) > len(RELEASE_0_1_0)


MIGRATION_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+(\.rollback)?\.sql$")
DEPENDS = re.compile(r"^-- depends:(.*)$", re.MULTILINE)
# Release 0.1.0 shipped 0010 and 0020 both after 0008 (shipped migrations never change); 0030
# joins the two again, and from there each migration depends on the one before it.
SHIPPED_FORK = {
    "0020_board_events": ["0008_agent_stats_view"],
    "0030_v0_2_0_tables": ["0020_board_events", "0010_engine_speedups"],
}


def chain_problems(folder: Path = MIGRATIONS_DIR) -> list[str]:
    """What breaks the migrations' one chain (River's validateAndInit is the model): every file
    is NNNN_name.sql or its .rollback.sql, numbers are unique, each migration has a rollback and
    depends on exactly the one before it, so that the order yoyo applies them in (by file name)
    is the only order and there is one head."""
    problems: list[str] = []
    ups: dict[str, str] = {}  # id -> number
    rollbacks: set[str] = set()
    for path in sorted(folder.iterdir()):
        m = MIGRATION_FILE.match(path.name)
        if m is None:
            problems.append(f"{path.name}: not NNNN_name.sql or NNNN_name.rollback.sql")
        elif m.group(2):
            rollbacks.add(path.name.removesuffix(".rollback.sql"))
        else:
            ups[path.name.removesuffix(".sql")] = m.group(1)
    ids = sorted(ups)
    for number in sorted(set(ups.values())):
        same = [i for i in ids if ups[i] == number]
        if len(same) > 1:
            problems.append(f"number {number} is used by {', '.join(same)}")
    problems += [f"{i}: no {i}.rollback.sql" for i in ids if i not in rollbacks]
    problems += [f"{i}.rollback.sql: no {i}.sql" for i in sorted(rollbacks - set(ups))]
    depended_on: set[str] = set()
    for before, migration in zip([None, *ids], ids, strict=False):
        lines = DEPENDS.findall((folder / f"{migration}.sql").read_text(encoding="utf-8"))
        depends = [d for line in lines for d in line.split()]
        depended_on.update(depends)
        if depends != SHIPPED_FORK.get(migration, [before] if before else []):
            problems.append(f"{migration} depends on {' '.join(depends) or 'nothing'}, not on "
                            f"{before or 'nothing'} (the migration before it)")
    heads = [i for i in ids if i not in depended_on]
    if len(heads) != 1:
        problems.append(f"{len(heads)} heads: {', '.join(heads)}")
    return problems


def test_migrations_are_one_chain_in_id_order():
    assert chain_problems() == []
    assert sorted(ALL) == ALL, "yoyo applies them in another order than their ids"


@pytest.mark.parametrize("breakage", ["duplicate number", "second head", "no rollback",
                                      "skips one", "python"])
def test_a_broken_chain_is_named(tmp_path, breakage):
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    last, before = ALL[-1], ALL[-2]
    up = folder / f"{last}.sql"
    if breakage == "duplicate number":
        shutil.copy(up, folder / f"{last[:4]}_again.sql")
        shutil.copy(folder / f"{last}.rollback.sql", folder / f"{last[:4]}_again.rollback.sql")
        expected = f"number {last[:4]} is used by"
    elif breakage == "second head":
        up.write_text(up.read_text().replace(f"-- depends: {before}", f"-- depends: {ALL[-3]}"))
        expected = "2 heads"
    elif breakage == "no rollback":
        (folder / f"{last}.rollback.sql").unlink()
        expected = f"{last}: no {last}.rollback.sql"
    elif breakage == "skips one":
        up.write_text(up.read_text().replace(f"-- depends: {before}",
                                             f"-- depends: {before} {ALL[0]}"))
        expected = f"{last} depends on {before} {ALL[0]}, not on {before}"
    else:
        (folder / "0099_leftover.py").write_text("steps = []\n")
        expected = "0099_leftover.py: not NNNN_name.sql"
    assert any(expected in p for p in chain_problems(folder)), chain_problems(folder)


def quiet(_msg: str) -> None:
    pass


def public_objects(url: str) -> set[str]:
    with connect(url) as conn:
        rows = conn.execute(
            """
            select 'table ' || tablename as o from pg_tables where schemaname = 'public'
            union all select 'function ' || p.oid::regprocedure::text from pg_proc p
                where p.pronamespace = 'public'::regnamespace
            union all select 'policy ' || policyname from pg_policies where schemaname = 'public'
            union all select 'index ' || indexname from pg_indexes where schemaname = 'public'
            """
        ).fetchall()
    return {r["o"] for r in rows}


def test_apply_twice_is_a_no_op(fresh_db):
    url = fresh_db()
    assert migrate.apply(url, report=quiet) == ALL
    before = public_objects(url)
    assert migrate.apply(url, report=quiet) == []
    assert public_objects(url) == before


def test_roll_back_everything_then_apply_again(fresh_db):
    url = fresh_db()
    migrate.apply(url, report=quiet)
    full = public_objects(url)
    assert migrate.rollback(url, count=len(ALL), report=quiet) == list(reversed(ALL))
    assert public_objects(url) == set()
    with connect(url) as conn:
        assert conn.execute("select to_regnamespace('auth') as s").fetchone()["s"] is None
    assert migrate.apply(url, report=quiet) == ALL
    assert public_objects(url) == full


def test_each_rollback_undoes_just_its_migration(fresh_db):
    url = fresh_db()
    seen = []
    for migration in ALL:
        migrate.apply(url, report=quiet, upto=migration)
        seen.append(public_objects(url))
    for i in range(len(ALL) - 1, 0, -1):
        migrate.rollback(url, report=quiet)
        assert public_objects(url) == seen[i - 1]


def test_two_migrators_at_once(fresh_db):
    url = fresh_db()
    results, errors = [], []

    def run():
        try:
            results.append(migrate.apply(url, report=quiet))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert sorted(results, key=len) == [[], [], ALL]
    assert migrate.status(url) == (ALL, [])


def test_rows_that_existed_before_the_seed_migration_are_unchanged(fresh_db):
    url = fresh_db()
    migrate.apply(url, report=quiet, upto="0001_baseline")
    with connect(url) as conn:
        agent = conn.execute("insert into public.crm_agents (full_name) values ('Old Hand') "
                             "returning id").fetchone()["id"]
        conn.execute(
            "insert into public.crm_leads (assigned_agent_id, lead_claimed, sla_breached, "
            "claim_window_expires_at, full_name) values (%s, true, true, now(), 'Old lead')",
            (agent,))
        before = conn.execute("select * from public.crm_leads").fetchall()
    migrate.apply(url, report=quiet)
    with connect(url) as conn:
        after = conn.execute("select * from public.crm_leads").fetchall()
    assert len(after) == 1
    for key, value in before[0].items():
        assert after[0][key] == value, key
    assert after[0]["claim_sla_breached"] is False
    assert after[0]["reassignment_count"] == 0


SUPABASE_LOOKALIKE = """
create schema auth;
create function auth.uid() returns uuid language sql stable as $$
    select nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
create table public.crm_agents (
    id uuid primary key, full_name text not null, email text unique,
    role text not null default 'agent', is_active boolean not null default true,
    accepting_leads boolean not null default true, created_at timestamptz not null default now(),
    territory text not null default 'EMEA');
create table public.crm_leads (
    id uuid primary key default gen_random_uuid(),
    assigned_agent_id uuid references public.crm_agents,
    lead_claimed boolean not null default false,
    first_action_completed boolean not null default false, claim_window_expires_at timestamptz,
    sla_breached boolean not null default false, created_at timestamptz not null default now(),
    company text);
create function public.is_admin(uid uuid) returns boolean language sql stable as $$
    select uid is not null and false $$;
do $$ begin
    if not exists (select from pg_roles where rolname = 'anon') then create role anon; end if;
    if not exists (select from pg_roles where rolname = 'authenticated') then
        create role authenticated; end if;
    if not exists (select from pg_roles where rolname = 'service_role') then
        create role service_role; end if;
end $$;
grant all on public.crm_leads to anon, authenticated, service_role;
grant select (company) on public.crm_leads to public;
insert into public.crm_agents (id, full_name, territory)
    values ('aaaaaaaa-0000-0000-0000-000000000001', 'Existing Agent', 'APAC');
insert into public.crm_leads (assigned_agent_id, company, claim_window_expires_at)
    values ('aaaaaaaa-0000-0000-0000-000000000001', 'Acme', '2026-01-01 00:00+00');
"""

SNAPSHOT = """
select
    pg_get_functiondef('auth.uid()'::regprocedure) as uid_def,
    pg_get_functiondef('public.is_admin(uuid)'::regprocedure) as admin_def,
    (select relacl::text || relrowsecurity::text from pg_class
     where oid = 'public.crm_leads'::regclass) as leads_grants_and_rls,
    (select json_agg(attacl order by attnum)::text from pg_attribute
     where attrelid = 'public.crm_leads'::regclass and attacl is not null) as leads_column_grants,
    (select array_agg(column_name::text order by ordinal_position) from information_schema.columns
     where table_schema = 'public' and table_name = 'crm_agents') as agent_columns,
    (select json_agg(a order by a.id)::text from public.crm_agents a
     where a.role <> 'system') as agents,
    (select json_agg(json_build_object('id', l.id, 'owner', l.assigned_agent_id,
        'company', l.company, 'legacy', l.claim_window_expires_at))::text
     from public.crm_leads l) as leads
"""


def test_baseline_changes_nothing_on_a_database_that_has_the_crm(fresh_db):
    url = fresh_db()
    with connect(url) as conn:
        conn.execute(SUPABASE_LOOKALIKE)
        before = conn.execute(SNAPSHOT).fetchone()
    migrate.apply(url, report=quiet, upto="0001_baseline")
    with connect(url) as conn:
        assert conn.execute(SNAPSHOT).fetchone() == before
    # The rest of the migrations add to the CRM without touching what was there.
    migrate.apply(url, report=quiet)
    with connect(url) as conn:
        after = conn.execute(SNAPSHOT).fetchone()
    assert after["uid_def"] == before["uid_def"] and after["admin_def"] == before["admin_def"]
    assert after["agents"] == before["agents"] and after["leads"] == before["leads"]
    # Rolling everything back leaves the customer's own objects in place.
    migrate.rollback(url, count=len(ALL), report=quiet)
    with connect(url) as conn:
        assert conn.execute(SNAPSHOT).fetchone() == before


def test_unreachable_database_url_is_one_clear_line():
    proc = crm_sla("migrate", url="postgresql://nobody@127.0.0.1:1/crm")
    assert_one_line_error(proc, "cannot connect", "DATABASE_URL")


def test_missing_database_is_one_clear_line(server):
    proc = crm_sla("migrate", url=with_database(server, "no_such_database_here"))
    assert_one_line_error(proc, "no_such_database_here", "DATABASE_URL")


def test_malformed_database_url_is_one_clear_line():
    proc = crm_sla("migrate", url="postgresql://[broken")
    assert_one_line_error(proc, "DATABASE_URL")


def test_user_without_rights_is_told_what_to_do(fresh_db):
    url = fresh_db()
    password = uuid.uuid4().hex
    with connect(url) as conn:
        conn.execute("do $$ begin if not exists (select from pg_roles where rolname = "
                     "'crm_sla_weakling') then create role crm_sla_weakling login; end if; end $$")
        conn.execute(f"alter role crm_sla_weakling password '{password}'")
        conn.execute("revoke create on schema public from public")
    info = psycopg.conninfo.conninfo_to_dict(url)
    weak = psycopg.conninfo.make_conninfo(**dict(info, user="crm_sla_weakling", password=password))
    try:
        proc = crm_sla("migrate", url=weak)
        assert_one_line_error(proc, "owner")
    finally:
        with connect(url) as conn:  # roles are the server's, not the scratch database's
            conn.execute("drop role crm_sla_weakling")


def test_a_failing_migration_keeps_nothing_and_says_so(fresh_db):
    url = fresh_db()
    migrate.apply(url, report=quiet, upto="0002_dual_stage_sla")
    with connect(url) as conn:  # something in the way of 0003
        conn.execute("create view public.crm_sla_clock as select 1 as x")
    proc = crm_sla("migrate", "--no-schedule", url=url)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "0003_sla_engine_tables failed" in proc.stderr
    assert "Nothing from the failed migration was kept" in proc.stderr
    assert migrate.status(url)[1] == ALL[2:]
    with connect(url) as conn:
        assert conn.execute("select to_regclass('public.crm_sla_agent_state') as t"
                            ).fetchone()["t"] is None
        conn.execute("drop view public.crm_sla_clock")
    proc = crm_sla("migrate", "--no-schedule", url=url)
    assert proc.returncode == 0, proc.stderr
    assert migrate.status(url) == (ALL, [])


def test_migrate_prints_what_it_applied_then_that_nothing_is_pending(fresh_db):
    url = fresh_db()
    first = crm_sla("migrate", "--no-schedule", url=url)
    assert first.returncode == 0, first.stderr
    assert f"applied {len(ALL)} migration(s)" in first.stdout
    second = crm_sla("migrate", "--no-schedule", url=url)
    assert "nothing to apply" in second.stdout


@pytest.mark.parametrize("bad", ["0009_nope"])
def test_unknown_target_migration(fresh_db, bad):
    with pytest.raises(Exception, match="no migration"):
        migrate.apply(fresh_db(), report=quiet, upto=bad)


def test_migration_bookkeeping_is_not_in_public(fresh_db):
    url = fresh_db()
    migrate.apply(url, report=quiet)
    with connect(url) as conn:
        names = {r["tablename"] for r in conn.execute(
            "select tablename from pg_tables where schemaname = 'public'").fetchall()}
    assert not any("yoyo" in n for n in names)
    with pytest.raises(psycopg.Error), connect(url) as conn:
        conn.execute("set role anon")
        conn.execute("select * from crm_sla_migrations._yoyo_migration")


# A second throwaway server, without pg_cron, as some hosted databases are (started only for the
# test below, stopped and removed after the session).
server_without_cron = factories.postgresql_proc(executable=pytest_plugin.pg_ctl(),
                                                postgres_options="-c timezone=UTC")


def test_without_pg_cron_migrate_succeeds_and_says_how_to_run_the_monitor(server_without_cron):
    url = (f"postgresql://{server_without_cron.user}@{server_without_cron.host}:"
           f"{server_without_cron.port}/crm")
    with connect(with_database(url, "postgres")) as conn:
        conn.execute("create database crm")
    proc = crm_sla("migrate", url=url)
    assert proc.returncode == 0, proc.stderr
    assert f"applied {len(ALL)} migration(s)" in proc.stdout
    assert "not scheduled: pg_cron is not loaded" in proc.stdout
    assert "crm-sla monitor --interval 5" in proc.stdout
    status = crm_sla("status", url=url)
    assert status.returncode == 0 and "pg_cron      not available" in status.stdout
    once = crm_sla("monitor", "--once", url=url)
    assert once.returncode == 0 and '"unclaimed": 0' in once.stdout


def test_each_rollback_gives_back_the_grants_its_migration_took(fresh_db):
    """Under Supabase's default privileges: the grants on every table, view, function and
    sequence in public after rolling back to a migration are those it had when first there."""
    url = fresh_db()
    acls = """select coalesce(json_agg(a order by a.name), '[]')::text as acls from (
        select c.oid::regclass::text as name, c.relacl::text as acl, c.relrowsecurity as rls
        from pg_class c where c.relnamespace = 'public'::regnamespace
        union all select p.oid::regprocedure::text, p.proacl::text, null
        from pg_proc p where p.pronamespace = 'public'::regnamespace) as a"""
    migrate.apply(url, report=quiet, upto="0001_baseline")  # the API roles, as on Supabase
    migrate.rollback(url, report=quiet)
    with connect(url) as conn:
        for kind in ("tables", "functions", "sequences"):
            conn.execute(f"alter default privileges in schema public grant all on {kind} "
                         "to anon, authenticated, service_role")
    seen = []
    for migration in ALL:
        migrate.apply(url, report=quiet, upto=migration)
        with connect(url) as conn:
            seen.append(conn.execute(acls).fetchone()["acls"])
    for i in range(len(ALL) - 1, 0, -1):
        migrate.rollback(url, report=quiet)
        with connect(url) as conn:
            assert conn.execute(acls).fetchone()["acls"] == seen[i - 1], ALL[i]
