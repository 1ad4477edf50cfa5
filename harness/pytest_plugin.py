"""pytest plugin: test your CRM against the SLA engine on a real PostgreSQL.

Installed with the crm-sla package and loaded by pytest on its own (entry point `pytest11`). Its
fixtures start nothing until a test asks for one. The server and the databases come from
pytest-postgresql:

- Point DATABASE_URL (or CRM_SLA_TEST_DATABASE_URL) at a server you own, such as your CI's
  PostgreSQL service: `postgresql_noproc` on it. The plugin creates a migrated template database
  there once per session and a fresh copy of it for each test (DatabaseJanitor), never writes to
  the database you named (it is only the way in), and drops everything it made at the end.
- Without either variable: `postgresql_proc` starts a throwaway PostgreSQL 15 with pg_cron
  preloaded for the session (the server package must be on the machine), with the same template
  and copies. As root it runs the server as the `postgres` user through `crm-sla-pg-ctl`
  (harness/pg_ctl.py), since PostgreSQL refuses to run as root.

Fixtures:
  crm_sla_db      a connection (autocommit, rows as dicts) to a freshly migrated scratch database,
                  as its owner: a trusted session, like psql or a migration
  crm_sla_db_url  that database's URL, for your own connections or code under test
  sla_clock       sla_clock.travel("6 minutes") moves the SLA clock forward, .reset() puts it back,
                  .now() reads it
  as_agent        as_agent(agent_id) -> a connection as `authenticated` with that agent's JWT
                  claims, exactly as Supabase's API sets them (row-level security applies)
  make_agent      make_agent("Ann", role="agent"|"admin", active=True, accepting=True) -> id
  make_lead       make_lead(owner_id or None, **columns) -> id (inserted as the tables' owner;
                  the intake trigger routes it when it has no owner and starts its claim timer)
  crm_sla_world   the object behind all of these (also .monitor(), .row(id), .audit(id))
  crm_sla_server  the server (harness.scratch.ScratchServer: .url, .create(), .drop(), .label)
  crm_sla_template  the name of the migrated template database on it
"""

from __future__ import annotations

import os
import shutil
import sysconfig
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from pytest_postgresql import factories

from harness import cluster
from harness.scratch import ScratchServer, migrate_template, named_server_url
from harness.target import connect
from harness.testing import SlaClock, World


def pg_ctl() -> str:
    """crm-sla-pg-ctl, installed next to this Python's console scripts (or on PATH, after a
    `pip install --user`); else plain pg_ctl, which serves anyone but root."""
    beside = Path(sysconfig.get_path("scripts")) / "crm-sla-pg-ctl"
    if beside.exists():
        return str(beside)
    return shutil.which("crm-sla-pg-ctl") or str(cluster.PG_BIN / "pg_ctl")


def _load_template(host: str, port: int, user: str, dbname: str, password: str | None = None,
                   **_options) -> None:
    """pytest-postgresql's `load` step: the template database gets every migration."""
    migrate_template(psycopg.conninfo.make_conninfo(host=host, port=port, user=user,
                                                    dbname=dbname, password=password))


class NamedServer:
    """The server in DATABASE_URL, as postgresql_noproc's `depends_on` reads it."""

    template_dbname = None  # the template is made empty, then migrated (not copied from another)

    def __init__(self, url: str):
        info = psycopg.conninfo.conninfo_to_dict(url)
        self.url = url
        self.host = info.get("host") or "127.0.0.1"
        self.port = int(info.get("port") or 5432)
        self.user = info.get("user")
        self.password = info.get("password")
        self.options = info.get("options") or ""
        self.maintenance_dbname = info.get("dbname") or self.user or "postgres"


crm_sla_proc = factories.postgresql_proc(
    # The embedded clusters' settings: pg_cron preloaded, speed over durability.
    executable=pg_ctl(), dbname="crm_sla",
    postgres_options=" ".join(f"-c {k}={v}" for k, v in cluster.SERVER_SETTINGS.items()),
    load=[_load_template],
)
crm_sla_noproc = factories.postgresql_noproc(
    dbname=f"crm_sla_{os.getpid()}", load=[_load_template], depends_on="crm_sla_named_server",
)


@pytest.fixture(scope="session")
def crm_sla_named_server() -> Iterator[NamedServer]:
    """DATABASE_URL's server; the API roles the migrations had to create there are dropped at
    the end (after pytest-postgresql dropped the template that uses them)."""
    server = ScratchServer(named_server_url(), embedded=False)
    server.admin().close()  # fail early, with one line, if it cannot be reached
    before = server.api_roles()
    yield NamedServer(server.url)
    server.drop_roles_created_since(before)


@pytest.fixture(scope="session")
def crm_sla_server(request) -> Iterator[ScratchServer]:
    """The PostgreSQL server scratch databases are made on (see the module's docstring)."""
    named = named_server_url()
    if named:
        executor = request.getfixturevalue("crm_sla_noproc")
        server = ScratchServer(named, embedded=False, template=executor.template_dbname)
    else:
        executor = request.getfixturevalue("crm_sla_proc")
        url = (f"postgresql://{executor.user}@{executor.host}:{executor.port}/"
               f"{cluster.CRON_DATABASE}")
        with connect(url) as conn:
            conn.execute("create extension if not exists pg_cron")
        server = ScratchServer(url, embedded=True, label="pytest-postgresql's server",
                               template=executor.template_dbname)
    yield server
    server.close()


@pytest.fixture(scope="session")
def crm_sla_template(crm_sla_server) -> str:
    """The name of a database with every crm-sla migration applied, made once per session."""
    return crm_sla_server.migrated_template()


@pytest.fixture
def crm_sla_db_url(crm_sla_server, crm_sla_template) -> Iterator[str]:
    """The URL of a freshly migrated scratch database of this test's own."""
    name = crm_sla_server.create(template=crm_sla_template)
    yield crm_sla_server.url_for(name)
    crm_sla_server.drop(name)


@pytest.fixture
def crm_sla_world(crm_sla_db_url) -> Iterator[World]:
    world = World(crm_sla_db_url)
    yield world
    world.close()


@pytest.fixture
def crm_sla_db(crm_sla_world) -> psycopg.Connection:
    return crm_sla_world.db


@pytest.fixture
def sla_clock(crm_sla_world) -> SlaClock:
    return crm_sla_world.clock


@pytest.fixture
def as_agent(crm_sla_world) -> Callable[..., psycopg.Connection]:
    return lambda agent_id: crm_sla_world.connection_as("authenticated", agent_id)


@pytest.fixture
def make_agent(crm_sla_world):
    return crm_sla_world.agent


@pytest.fixture
def make_lead(crm_sla_world):
    return crm_sla_world.lead
