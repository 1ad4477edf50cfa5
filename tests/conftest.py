"""Fixtures: a real PostgreSQL (the harness's embedded cluster, with pg_cron), a migrated template
database, and a fresh copy of it for every test, plus a small world builder (`world`)."""

from __future__ import annotations

import itertools
import os

import pytest
from pytest_postgresql.janitor import DatabaseJanitor

from harness import cluster, migrate
from tests.world import World

_counter = itertools.count()


def _janitor(dbname: str, **kwargs) -> DatabaseJanitor:
    return DatabaseJanitor(
        user=cluster.SUPERUSER, host="127.0.0.1", port=cluster.PORT, dbname=dbname, **kwargs
    )


@pytest.fixture(scope="session")
def server() -> str:
    """The embedded cluster, started if needed; returns its maintenance database URL."""
    cluster.start(quiet=True)
    return cluster.url(cluster.CRON_DATABASE)


@pytest.fixture(scope="session")
def template_db(server) -> str:
    name = f"crm_sla_tpl_{os.getpid()}"
    janitor = _janitor(name, as_template=True)
    janitor.drop()
    janitor.init()
    migrate.apply(cluster.url(name), report=lambda _msg: None)
    yield name
    janitor.drop()


@pytest.fixture
def fresh_db(server):
    """A factory of empty databases (no migrations), dropped after the test."""
    made: list[DatabaseJanitor] = []

    def make() -> str:
        name = f"crm_sla_e_{os.getpid()}_{next(_counter)}"
        janitor = _janitor(name)
        janitor.init()
        made.append(janitor)
        return cluster.url(name)

    yield make
    for janitor in made:
        janitor.drop()


@pytest.fixture
def db_url(template_db) -> str:
    """A freshly migrated database of its own for this test."""
    name = f"crm_sla_t_{os.getpid()}_{next(_counter)}"
    janitor = _janitor(name, template_dbname=template_db)
    janitor.init()
    yield cluster.url(name)
    janitor.drop()


@pytest.fixture
def world(db_url) -> World:
    w = World(db_url)
    yield w
    w.close()
