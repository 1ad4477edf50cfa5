"""Fixtures: a real PostgreSQL (the harness's embedded cluster, with pg_cron), a migrated template
database, and a fresh copy of it for every test, plus a small world builder (`world`)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest
from pytest_postgresql.janitor import DatabaseJanitor

from harness import cluster, migrate
from tests.world import World

_counter = itertools.count()


def _janitor(dbname: str, **kwargs) -> DatabaseJanitor:
    return DatabaseJanitor(
        user=cluster.SUPERUSER, host="127.0.0.1", port=cluster.TEST.port, dbname=dbname, **kwargs
    )


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    """The test cluster (not the one `make migrate` uses), started if needed; returns the URL of
    its maintenance database. Stopped at the end if this session started it."""
    started = not cluster.TEST.running()
    cluster.TEST.start(quiet=True)
    yield cluster.TEST.url(cluster.CRON_DATABASE)
    if started:
        cluster.TEST.stop()


@pytest.fixture(scope="session")
def template_db(server) -> str:
    name = f"crm_sla_tpl_{os.getpid()}"
    janitor = _janitor(name, as_template=True)
    janitor.drop()
    janitor.init()
    migrate.apply(cluster.TEST.url(name), report=lambda _msg: None)
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
        return cluster.TEST.url(name)

    yield make
    for janitor in made:
        janitor.drop()


def _migrated_copy(template_db: str) -> Iterator[str]:
    name = f"crm_sla_t_{os.getpid()}_{next(_counter)}"
    janitor = _janitor(name, template_dbname=template_db)
    janitor.init()
    yield cluster.TEST.url(name)
    janitor.drop()


@pytest.fixture
def db_url(template_db) -> Iterator[str]:
    """A freshly migrated database of its own for this test."""
    yield from _migrated_copy(template_db)


@pytest.fixture(scope="module")
def module_db_url(template_db) -> Iterator[str]:
    """A freshly migrated database shared by one test module (tests must leave it as found)."""
    yield from _migrated_copy(template_db)


@pytest.fixture
def world(db_url) -> World:
    w = World(db_url)
    yield w
    w.close()
