"""Security, role by role: the matrix (each cell a real query as that role), the generated
docs/security.md, search_path attacks on the definer functions, and bad input."""

from __future__ import annotations

import re
import subprocess
import uuid
from dataclasses import dataclass

import psycopg
import pytest

from harness import migrate, sqltests
from harness.paths import REPO_ROOT
from harness.target import with_database
from harness.testing import World, become, connect
from tests.cli import crm_sla
from tests.security_matrix import MATRIX, ROLES, render


@dataclass
class Cast:
    world: World
    ids: dict[str, uuid.UUID]
    conns: dict[str, psycopg.Connection]


@pytest.fixture(scope="module")
def cast(module_db_url):
    world = World(module_db_url)
    owner, previous, stranger = world.agents("Owner", "Previous", "Stranger")
    admin = world.agent("Admin", role="admin")
    lead = world.lead(previous)
    world.db.execute("select public.reassign_lead(%s, %s, 'handover')", (lead, owner))
    ids = {"lead": lead, "owner": owner, "previous": previous, "stranger": stranger,
           "admin": admin, "missing": uuid.uuid4()}
    conns = {}
    for role in ROLES:
        if role == "trusted":
            conns[role] = world.db
            continue
        conn = connect(module_db_url)
        if role == "anon":
            become(conn, "anon")
        elif role == "service":
            become(conn, "service_role")
        else:
            become(conn, "authenticated", ids[role])
        conns[role] = conn
    yield Cast(world, ids, conns)
    for role, conn in conns.items():
        if role != "trusted":
            conn.close()
    world.close()


def outcome(conn: psycopg.Connection, sql: str) -> str:
    in_transaction = not sql.startswith("call")  # procedures that commit cannot run in one
    if in_transaction:
        conn.execute("begin")
    try:
        cur = conn.execute(sql)
        rows = cur.rowcount if cur.description is None else len(cur.fetchall())
        return "allowed" if rows != 0 else "no rows"
    except psycopg.Error as exc:
        return f"refused {exc.diag.sqlstate}"
    finally:
        if in_transaction:
            conn.execute("rollback")


CELLS = [(cell, role) for cell in MATRIX for role in ROLES]


@pytest.mark.parametrize(
    "cell, role", CELLS, ids=[f"{c.area}: {c.operation} as {r}" for c, r in CELLS])
def test_matrix_cell(cast, cell, role):
    sql = cell.sql.format(**{k: f"'{v}'::uuid" for k, v in cast.ids.items()})
    assert outcome(cast.conns[role], sql) == cell.expect[role]
    # Each cell left the world as it found it.
    lead = cast.world.row(cast.ids["lead"])
    assert lead["assigned_agent_id"] == cast.ids["owner"] and not lead["lead_claimed"]


def engine_columns(db) -> set[str]:
    return set(db.execute("select public.crm_sla_engine_columns() as c").fetchone()["c"])


# An UPDATE that changes a column of this type, whatever its value.
CHANGE = {
    "uuid": "gen_random_uuid()",
    "boolean": "not coalesce({c}, false)",
    "integer": "coalesce({c}, 0) + 1",
    "numeric": "coalesce({c}, 0) + 0.5",
    "text": "coalesce({c}, '') || 'x'",
    "interval": "coalesce({c}, interval '0') + interval '1 hour'",
    "timestamp with time zone": "coalesce({c}, now()) - interval '1 hour'",
}


@pytest.mark.parametrize("role", ["owner", "service"])
def test_the_guard_refuses_exactly_the_engine_columns(cast, role):
    """crm_sla_engine_columns() lists the engine-owned columns once; the guard in
    crm_leads_200_progress compares them one by one: an API role's UPDATE of a listed column is
    refused (SL009), of any other column of crm_leads it is not."""
    columns = cast.world.db.execute(
        "select attname, format_type(atttypid, atttypmod) as type from pg_catalog.pg_attribute "
        "where attrelid = 'public.crm_leads'::regclass and attnum > 0 and not attisdropped"
    ).fetchall()
    refused = set()
    for column in columns:
        name = column["attname"]
        value = CHANGE[column["type"]].format(c=name)
        sql = f"update public.crm_leads set {name} = {value} where id = '{cast.ids['lead']}'"
        result = outcome(cast.conns[role], sql)
        assert result in ("allowed", "refused SL009"), (name, result)
        if result == "refused SL009":
            refused.add(name)
    assert refused == engine_columns(cast.world.db)


def test_the_matrix_and_the_reference_list_every_engine_column(cast):
    """docs/security.md (rendered from the matrix) and docs/reference.md name the same columns as
    crm_sla_engine_columns()."""
    engine = engine_columns(cast.world.db)
    in_matrix = {cell.operation.removeprefix("set ") for cell in MATRIX
                 if cell.area == "crm_leads" and cell.expect["service"] == "refused SL009"}
    assert in_matrix == engine
    reference = (REPO_ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    section = reference.split("## Engine-owned columns", 1)[1].split("\n#", 1)[0]
    listed = "\n".join(re.findall(r"^(?:- |  ).*", section, flags=re.MULTILINE))  # the bullets
    assert set(re.findall(r"`(\w+)`", listed)) == engine


def test_security_page_is_generated_from_the_matrix():
    page = (REPO_ROOT / "docs" / "security.md").read_text()
    assert page == render(), "regenerate: python -m tests.security_matrix > docs/security.md"


def test_anon_sees_nothing_in_public(world):
    world.lead(world.agent("Ann"))
    tables = [r["tablename"] for r in world.db.execute(
        "select tablename from pg_tables where schemaname = 'public'").fetchall()]
    with world.as_anon() as conn:
        for table in tables:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select * from public.{table}")


def test_agents_only_ever_see_their_own_leads_and_audit_rows(world):
    ann, bob, cid = world.agents("Ann", "Bob", "Cid")
    mine = [world.lead(ann) for _ in range(3)]
    world.lead(bob)
    world.travel("5 minutes")
    world.monitor()  # everything moves on: Ann's leads to Bob/Cid, Bob's to Ann or Cid
    with world.as_agent(cid) as conn:
        leads = conn.execute("select assigned_agent_id from public.crm_leads").fetchall()
        audit = conn.execute("select from_agent_id, to_agent_id from "
                             "public.crm_lead_reassignments").fetchall()
    assert all(r["assigned_agent_id"] == cid for r in leads)
    assert all(cid in (r["from_agent_id"], r["to_agent_id"]) for r in audit)
    assert len(mine) == 3


def test_client_sent_engine_columns_are_ignored_on_insert(world):
    ann = world.agent("Ann")
    with world.as_service() as conn:
        lead = conn.execute(
            "insert into public.crm_leads (assigned_agent_id, claim_timer_expires_at, "
            "claim_sla_breached, sla_breached, reassignment_count, reassignment_reason) "
            "values (%s, now() + interval '10 years', true, true, 42, 'manual') returning id",
            (ann,)).fetchone()["id"]
    row = world.row(lead)
    assert (row["claim_timer_expires_at"] - row["claim_timer_started_at"]).total_seconds() == 300
    assert not row["claim_sla_breached"] and not row["sla_breached"]
    assert row["reassignment_count"] == 0 and row["reassignment_reason"] is None


@pytest.mark.parametrize("action", ["claim_lead", "complete_first_action"])
def test_a_lead_taken_away_does_not_name_its_new_owner(world, action):
    """The agent who lost a lead learns that it lost it (SL004), from its own audit row, and
    nothing about who holds it now: its row-level security hides that too."""
    ann, bob, cid = world.agents("Ann", "Bob", "Cid")
    lead = world.lead(ann)
    world.db.execute("select public.reassign_lead(%s, %s)", (lead, bob))
    world.db.execute("select public.reassign_lead(%s, %s)", (lead, cid))
    with world.as_agent(ann) as conn, pytest.raises(psycopg.Error) as err:
        conn.execute(f"select public.{action}(%s)", (lead,))
    diag = err.value.diag
    assert diag.sqlstate == "SL004"
    said = " ".join(filter(None, (diag.message_primary, diag.message_detail, diag.message_hint)))
    for other in (bob, cid):
        assert str(other) not in said
    assert "Bob" not in said and "Cid" not in said


def test_agent_cannot_forge_an_audit_row_even_for_its_own_lead(world):
    ann, bob = world.agents("Ann", "Bob")
    lead = world.lead(ann)
    with world.as_agent(ann) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(
            "insert into public.crm_lead_reassignments "
            "(lead_id, from_agent_id, to_agent_id, reassigned_by, reason, stage) "
            "values (%s, %s, %s, %s, 'manual', 'manual')", (lead, bob, ann, ann))
    assert world.audit() == []


ATTACK = """
create schema if not exists evil;
grant usage on schema evil to public;
create or replace function evil.sla_now() returns timestamptz language sql
    as $$ select now() + interval '100 years' $$;
create or replace function evil.is_admin(uid uuid) returns boolean language sql
    as $$ select true $$;
create or replace function evil.crm_sla_caller() returns text language sql
    as $$ select 'trusted' $$;
create table if not exists evil.crm_leads (like public.crm_leads);
create table if not exists evil.crm_sla_settings (like public.crm_sla_settings including defaults);
insert into evil.crm_sla_settings values (true, '1 second', '1 second', 0, 1);
grant all on all tables in schema evil to public;
grant execute on all functions in schema evil to public;
"""


def test_objects_earlier_on_the_search_path_are_never_used(world):
    """An attacker's look-alike functions and tables in a schema ahead of public are ignored by
    the engine: every definer function pins search_path and qualifies every name."""
    ann, bob = world.agents("Ann", "Bob")
    world.db.execute(ATTACK)
    lead = world.lead(ann)
    with world.as_agent(bob) as conn:
        conn.execute("set search_path = evil, public")
        with pytest.raises(psycopg.Error) as err:
            conn.execute("select public.reassign_lead(%s, %s)", (lead, bob))
        assert err.value.diag.sqlstate == "SL006"  # not fooled by evil.is_admin/crm_sla_caller
        with pytest.raises(psycopg.Error) as err:
            conn.execute("select public.claim_lead(%s)", (lead,))
        assert err.value.diag.sqlstate == "SL002"
    with world.as_agent(ann) as conn:
        conn.execute("set search_path = evil, public")
        conn.execute("update public.crm_leads set lead_claimed = true where id = %s", (lead,))
    row = world.row(lead)
    # evil.sla_now (100 years ahead) and evil's 1-second windows were not used.
    assert (row["contact_timer_expires_at"] - row["contact_timer_started_at"]).total_seconds() \
        == 300
    assert not row["claim_sla_breached"]
    with world.as_service() as conn:
        conn.execute("set search_path = evil, public")
        result = conn.execute("select public.process_sla_timers() as r").fetchone()["r"]
    assert result["unclaimed"] == result["no_contact"] == 0
    assert world.scalar("select count(*) from evil.crm_leads") == 0


def test_every_definer_function_pins_search_path_and_is_not_public(world):
    rows = world.db.execute(
        """
        select p.oid::regprocedure::text as fn, p.proconfig,
               has_function_privilege('public', p.oid, 'execute') as public_exec
        from pg_proc p
        where p.pronamespace = 'public'::regnamespace and p.prosecdef
        """
    ).fetchall()
    assert len(rows) >= 9
    for r in rows:
        assert r["proconfig"] and any(c.startswith("search_path=") for c in r["proconfig"]), r
        assert not r["public_exec"], r


@pytest.mark.parametrize(
    "sql, args, sqlstate",
    [
        ("select public.claim_lead(%s)", (None,), "SL010"),
        ("select public.claim_lead(%s)", (uuid.uuid4(),), "SL001"),
        ("select public.claim_lead(%s::uuid)", ("not-a-uuid",), "22P02"),
        ("select public.complete_first_action(%s)", (None,), "SL010"),
        ("select public.complete_first_action(%s)", (uuid.uuid4(),), "SL001"),
        ("select public.reassign_lead(%s, %s)", ("{lead}", None), "SL010"),
        ("select public.reassign_lead(%s::uuid, %s)", ("nope", None), "22P02"),
        ("select public.sla_clock_travel(%s)", (None,), "SL010"),
        ("select public.sla_clock_travel(%s::interval)", ("-1 minute",), "SL010"),
        ("select public.sla_clock_travel(%s::interval)", ("soon",), "22007"),
        ("update public.crm_sla_settings set claim_window = %s::interval", ("0",), "23514"),
        ("update public.crm_sla_settings set max_reassignments = %s", (-1,), "23514"),
    ],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(world, sql, args, sqlstate):
    ann = world.agent("Ann")
    lead = world.lead(ann)
    before = world.row(lead)
    args = tuple(lead if a == "{lead}" else a for a in args)
    with world.as_service() as conn, pytest.raises(psycopg.Error) as err:
        conn.execute(sql, args)
    assert err.value.diag.sqlstate == sqlstate
    assert err.value.diag.message_primary
    assert world.row(lead) == before
    assert world.audit() == []


SUPABASE_DEFAULT_PRIVILEGES = """
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated,
    service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated,
    service_role;
"""

PUBLIC_ACLS = """
select c.relkind::text as kind, c.oid::regclass::text as name, c.relacl::text as acl
from pg_class as c
where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'v', 'S')
union all
select 'f', p.oid::regprocedure::text, p.proacl::text
from pg_proc as p where p.pronamespace = 'public'::regnamespace
order by 1, 2
"""


@pytest.fixture
def supabase_defaults_db(fresh_db) -> str:
    """A database migrated under Supabase's default privileges."""
    url = fresh_db()
    with connect(url) as conn:
        conn.execute(SUPABASE_DEFAULT_PRIVILEGES)
    migrate.apply(url, report=lambda _msg: None)
    return url


def test_supabase_default_privileges_change_no_grant_of_the_engine(supabase_defaults_db,
                                                                   template_db, server):
    """Under Supabase's default privileges (ALL on every new table, view, function and sequence
    in public for the API roles), every table, view, function and sequence the engine creates
    ends up with exactly the grants it has without them."""
    with connect(supabase_defaults_db) as conn:
        got = conn.execute(PUBLIC_ACLS).fetchall()
    with connect(with_database(server, template_db)) as conn:
        want = conn.execute(PUBLIC_ACLS).fetchall()
    assert {r["kind"] for r in want} == {"r", "v", "S", "f"}
    assert got == want


def test_the_api_roles_cannot_wind_back_the_engines_sequences(supabase_defaults_db):
    """setval() on crm_lead_sla_events' identity would make every later claim fail (23505)."""
    world = World(supabase_defaults_db)
    try:
        for role in ("anon", "authenticated", "service_role"):
            with world.as_role(role) as conn, \
                    pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("select setval(pg_get_serial_sequence("
                             "'public.crm_lead_sla_events', 'id'), 1)")
    finally:
        world.close()


def test_a_signed_in_user_without_an_agent_row_reads_no_agent(world):
    """Open sign-ups: any JWT may exist. Agents read their own row, admins every row."""
    ann = world.agent("Ann")
    boss = world.agent("Boss", role="admin")
    with world.as_agent(uuid.uuid4()) as conn:
        assert conn.execute("select * from public.crm_agents").fetchall() == []
    with world.as_agent(ann) as conn:
        assert [r["id"] for r in conn.execute("select id from public.crm_agents")] == [ann]
    with world.as_agent(boss) as conn:
        seen = {r["id"] for r in conn.execute("select id from public.crm_agents")}
    assert {ann, boss} <= seen


TUTORIAL_POLICY = 'create policy "Users can view leads" on public.crm_leads for select using (true)'


def test_a_permissive_policy_of_the_crm_is_named_with_its_effect_and_fix(db_url):
    """The tutorial's "Users can view leads" USING (true) lets every agent read every lead: migrate,
    status and the pgTAP suite each name it, say what it does and how to fix it. A policy as
    narrow as the engine's own is not named."""
    with connect(db_url) as conn:
        conn.execute(TUTORIAL_POLICY)
        conn.execute('create policy "Agents see assigned leads" on public.crm_leads for select '
                     'to authenticated using (assigned_agent_id = auth.uid())')
    migrate_run = crm_sla("migrate", "--no-schedule", url=db_url)
    status = crm_sla("status", url=db_url)
    cmd, env = sqltests.pg_prove_command(db_url, [sqltests.SQL_TESTS_DIR /
                                                  "crm_sla_security.test.sql"], verbose=True)
    suite = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    # pgTAP shows the unexpected row as a record, doubling its quotes.
    suite_out = (suite.stdout + suite.stderr).replace('""', '"')
    for out in (migrate_run.stdout, status.stdout, suite_out):
        assert 'policy "Users can view leads" on crm_leads (SELECT, to public)' in out, out
        assert "lets every role (PUBLIC, anon included) select every row of crm_leads" in out
        assert "OR-ed with the engine's policies" in out
        assert 'drop policy "Users can view leads" on public.crm_leads' in out
        assert "Agents see assigned leads" not in out
    assert migrate_run.returncode == 0 and suite.returncode != 0
    with connect(db_url) as conn:
        conn.execute('drop policy "Users can view leads" on public.crm_leads')
    assert "none of yours widen" in crm_sla("status", url=db_url).stdout
