"""Who can stop the scheduled monitor: only trusted roles pause it (a row, not an advisory lock
any session can take), a pause ends with the session that made it, and the engine's advisory lock
keys come from namespaced names listed in one place (harness/locks.py)."""

from __future__ import annotations

import os
import re

import psycopg
import pytest

from harness import locks, status
from harness.monitor import paused
from harness.paths import FUNCTIONS_DIR, REPO_ROOT
from harness.testing import connect

RUN_ONCE = "call public.run_sla_monitor(interval '0', interval '1 second')"


def due_lead(world):
    """A lead whose claim window ran out, and who would take it."""
    ann, bob = world.agents("Ann", "Bob")
    lead = world.lead(ann)
    world.travel("6 minutes")
    return lead, bob


@pytest.fixture
def stranger_login(world):
    """A connection of a login role with no rights in the CRM: any session on the server."""
    role = f"crm_sla_stranger_{os.getpid()}"
    try:
        world.db.execute(f"drop role if exists {role}")
        world.db.execute(f"create role {role} login")
    except psycopg.errors.InsufficientPrivilege:
        pytest.skip("needs a server user that may create roles (CREATEROLE)")
    try:
        conn = psycopg.connect(world.url, user=role, autocommit=True)
    except psycopg.OperationalError as exc:
        world.db.execute(f"drop role {role}")
        pytest.skip(f"a new login role cannot connect to this server: {exc}")
    yield conn
    conn.close()
    world.db.execute(f"drop role {role}")


def test_no_advisory_lock_a_stranger_holds_stops_the_monitor(world, stranger_login):
    lead, bob = due_lead(world)
    # Every key the monitor ever stepped aside for: the old pause and loop keys, and today's.
    for key in ("4242004", "4242003", locks.key_sql("monitor")):
        stranger_login.execute(f"select pg_advisory_lock({key})")
    world.db.execute(RUN_ONCE)
    assert world.row(lead)["assigned_agent_id"] == bob


def test_no_lock_a_stranger_takes_holds_up_routing(world, stranger_login):
    """Intake of unowned leads and the monitor serialise their routing on a row only the
    engine's own functions can lock, not on an advisory lock any session can take."""
    lead, bob = due_lead(world)
    for key in ("4242002", "pg_catalog.hashtext('crm_sla.routing')::bigint"):
        stranger_login.execute(f"select pg_advisory_lock({key})")
    world.db.execute("set statement_timeout = '10s'")
    new = world.lead()  # routed at intake
    assert world.row(new)["assigned_agent_id"] is not None
    assert world.monitor()["unclaimed"] == 1
    assert world.row(lead)["assigned_agent_id"] == bob
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        stranger_login.execute("select from public.crm_sla_routing_lock for update")


def test_a_trusted_pause_holds_while_its_session_lives(world):
    lead, bob = due_lead(world)
    pauser = connect(world.url)
    pid = pauser.execute("select pg_backend_pid() as p").fetchone()["p"]
    with pytest.raises(psycopg.OperationalError), paused(pauser, "a test"):
        assert world.scalar("select paused_by from public.crm_sla_monitor_pause") == "a test"
        world.db.execute(RUN_ONCE)
        assert world.row(lead)["assigned_agent_id"] != bob  # paused: nothing moved
        # The pausing process dies without resuming: the pause ends with its session.
        assert world.scalar("select pg_terminate_backend(%s, 10000)", (pid,))
        world.db.execute(RUN_ONCE)
        assert world.row(lead)["assigned_agent_id"] == bob


def test_a_pause_ends_with_its_block_and_status_shows_it(world):
    lead, bob = due_lead(world)
    with connect(world.url) as pauser, paused(pauser, "a test"):
        world.db.execute(RUN_ONCE)
        assert world.row(lead)["assigned_agent_id"] != bob
        assert "paused       the monitor, by a test" in status.render(status.collect(world.url))
    assert world.scalar("select paused_by_pid from public.crm_sla_monitor_pause") is None
    assert "paused" not in status.render(status.collect(world.url))
    world.db.execute(RUN_ONCE)
    assert world.row(lead)["assigned_agent_id"] == bob


def test_lock_keys_come_from_names_listed_in_one_place(world):
    sources = [*FUNCTIONS_DIR.glob("*.sql"), *(REPO_ROOT / "harness").rglob("*.py")]
    literal = [p.name for p in sources if re.search(r"\b4242\d{3}\b", p.read_text())]
    assert literal == []  # no bare integer keys left
    used = {m for p in FUNCTIONS_DIR.glob("*.sql")
            for m in re.findall(r"crm_sla_lock_key\('(\w+)'\)", p.read_text())}
    assert used and used <= set(locks.LOCKS)
    for name in locks.LOCKS:
        assert world.scalar(
            f"select public.crm_sla_lock_key(%s) = {locks.key_sql(name)}", (name,)) is True
