"""pytest plugin: test your CRM against the SLA engine on a real PostgreSQL.

Installed with the crm-sla package and loaded by pytest on its own (entry point `pytest11`). Its
fixtures start nothing until a test asks for one. Point DATABASE_URL (or
CRM_SLA_TEST_DATABASE_URL) at a server you own, such as your CI's PostgreSQL service; the plugin
creates a migrated template database there once per session and a fresh copy of it for each test,
never writes to the database you named, and drops everything it made at the end. Without either
variable it uses crm-sla's own test cluster (which needs PostgreSQL 15 on the machine).

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
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest

from harness.testing import SlaClock, World, open_server


@pytest.fixture(scope="session")
def crm_sla_server():
    """The PostgreSQL server scratch databases are made on (see the module's docstring)."""
    with open_server() as server:
        yield server


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
