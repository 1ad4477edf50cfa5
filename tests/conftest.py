"""Fixtures: a real PostgreSQL, a migrated template database, and a fresh copy of it for every
test, plus a small world builder (`world`). They build on the fixtures of crm-sla's own pytest
plugin (harness/pytest_plugin.py: pytest-postgresql's server and DatabaseJanitor, the world
builder of harness/testing.py), so the suite and adopters share one implementation.

The server is a throwaway PostgreSQL with pg_cron that pytest-postgresql starts for the session,
or, with DATABASE_URL set, the server it names: the suite then makes its scratch databases there,
never writes to the named database, and drops what it made. Tests that need pg_cron or pgTAP are
skipped there, with a reason naming the package, when the server lacks them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness import schedule
from harness.testing import World


@pytest.fixture(scope="session")
def server(crm_sla_server) -> str:
    """The URL of the test server's maintenance database (only CREATE/DROP DATABASE go there)."""
    return crm_sla_server.url


@pytest.fixture(scope="session")
def template_db(crm_sla_template) -> str:
    return crm_sla_template


@pytest.fixture
def fresh_db(crm_sla_server):
    """A factory of empty databases (no migrations), dropped after the test."""
    made: list[str] = []

    def make() -> str:
        name = crm_sla_server.create(kind="e")
        made.append(name)
        return crm_sla_server.url_for(name)

    yield make
    for name in made:
        crm_sla_server.drop(name)


@pytest.fixture
def db_url(crm_sla_db_url) -> str:
    """A freshly migrated database of its own for this test."""
    return crm_sla_db_url


@pytest.fixture(scope="module")
def module_db_url(crm_sla_server, crm_sla_template) -> Iterator[str]:
    """A freshly migrated database shared by one test module (tests must leave it as found)."""
    name = crm_sla_server.create(template=crm_sla_template)
    yield crm_sla_server.url_for(name)
    crm_sla_server.drop(name)


@pytest.fixture
def world(crm_sla_world) -> World:
    return crm_sla_world


@pytest.fixture(scope="session")
def pg_cron_info(crm_sla_server, crm_sla_template):
    """pg_cron on the test server, looked at without creating anything."""
    return schedule.probe(crm_sla_server.url_for(crm_sla_template), create_extension=False)


@pytest.fixture(autouse=True)
def _needs_pg_cron(request):
    """Tests marked `cron` or `pg_cron` need pg_cron: on the user's server they are skipped
    without it."""
    node = request.node
    if node.get_closest_marker("cron") is None and node.get_closest_marker("pg_cron") is None:
        return
    server = request.getfixturevalue("crm_sla_server")
    info = request.getfixturevalue("pg_cron_info")
    if info.available:
        return
    message = (f"pg_cron is not usable on {server.label}: {info.reason}. Install the "
               "postgresql-15-cron package there, add pg_cron to shared_preload_libraries and "
               "create the extension in cron.database_name")
    if server.embedded:
        pytest.fail(message)
    pytest.skip(message)
