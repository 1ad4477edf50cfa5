"""Scratch databases on a PostgreSQL server: made with pytest-postgresql's DatabaseJanitor, used
by the pytest plugin (a copy of the migrated template per test) and by the tools that need a
throwaway migrated database outside pytest (`make lint`, `make schema`, `crm-sla bench`).

The server's URL names any database on it; that database is only the door in, used to issue
CREATE DATABASE and DROP DATABASE, so its data is never touched. API roles (anon, authenticated,
service_role) that the migrations create because the server had none are dropped again at the end.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
from collections.abc import Iterator

import psycopg
from pytest_postgresql.janitor import DatabaseJanitor

from harness import cluster, migrate
from harness.errors import HarnessError
from harness.target import connect, redact, with_database

API_ROLES = ("anon", "authenticated", "service_role")
SERVER_URL_VARIABLES = ("CRM_SLA_TEST_DATABASE_URL", "DATABASE_URL")


def named_server_url() -> str | None:
    """The URL of a server the user named (CRM_SLA_TEST_DATABASE_URL, else DATABASE_URL)."""
    for name in SERVER_URL_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    return None


def migrate_template(url: str) -> None:
    """Apply every migration to the (new, empty) database at `url`, quietly."""
    migrate.apply(url, report=lambda _msg: None)


class ScratchServer:
    """Databases made on one server by this process, and dropped by it.

    `template` names a migrated template made elsewhere (pytest-postgresql's, in the plugin);
    without it `migrated_template()` makes one on first use.
    """

    def __init__(self, url: str, embedded: bool, label: str | None = None,
                 template: str | None = None):
        self.url = url
        self.embedded = embedded  # a server of our own, with pg_cron and pgTAP: nothing skipped
        self._label = label
        self._made: list[str] = []
        self._template = template
        self._roles_before: set[str] | None = None
        self._counter = itertools.count()

    @property
    def label(self) -> str:
        kind = self._label or ("the harness's test cluster" if self.embedded
                               else "the server in DATABASE_URL")
        return f"{kind} ({redact(self.url)})"

    def url_for(self, name: str) -> str:
        return with_database(self.url, name)

    def admin(self) -> psycopg.Connection:
        """A connection to the door-in database, for server-wide statements."""
        return connect(self.url)

    def _janitor(self, name: str, template: str | None = None) -> DatabaseJanitor:
        info = psycopg.conninfo.conninfo_to_dict(self.url)
        return DatabaseJanitor(
            user=info.get("user"), host=info.get("host"), port=info.get("port") or 5432,
            password=info.get("password"), dbname=name, template_dbname=template,
            maintenance_dbname=info.get("dbname") or info.get("user") or "postgres",
        )

    def create(self, template: str | None = None, kind: str = "t") -> str:
        """A new database (a copy of `template`, or empty); returns its name."""
        name = f"crm_sla_{kind}_{os.getpid()}_{next(self._counter)}"
        try:
            self._janitor(name, template).init()  # ends the template's sessions first
        except psycopg.errors.InsufficientPrivilege:
            raise HarnessError(
                f"the user of {self.label} may not create databases: the tests make "
                "scratch databases beside the one named (and drop them afterwards). "
                "Use a user with CREATEDB, such as a CI service container's superuser."
            ) from None
        self._made.append(name)
        return name

    def drop(self, name: str) -> None:
        self._janitor(name).drop()  # refuses new sessions, ends the open ones, drops
        if name in self._made:
            self._made.remove(name)

    def api_roles(self) -> set[str]:
        with self.admin() as conn:
            rows = conn.execute(
                "select rolname from pg_catalog.pg_roles where rolname = any(%s)",
                (list(API_ROLES),),
            ).fetchall()
        return {r[0] for r in rows}

    def drop_roles_created_since(self, before: set[str]) -> None:
        """Drop the API roles that did not exist in `before` (the migrations created them)."""
        created = [r for r in API_ROLES if r not in before]
        if not created:
            return
        with self.admin() as conn:
            for role in created:
                try:
                    conn.execute(f"drop role if exists {role}")
                except psycopg.Error as exc:  # another session's databases still use it
                    print(f"crm-sla: kept role {role}, which the tests created: "
                          f"{exc.diag.message_primary}", file=sys.stderr)

    def migrated_template(self) -> str:
        """A database with every migration applied (made once), to copy for each test."""
        if self._template is None:
            if self._roles_before is None:
                self._roles_before = self.api_roles()
            name = self.create(kind="tpl")
            migrate_template(self.url_for(name))
            self._template = name
        return self._template

    def close(self) -> None:
        """Drop every database made here, then the API roles its migrations had to create."""
        for name in reversed(list(self._made)):
            self.drop(name)
        if self._roles_before is not None:
            self.drop_roles_created_since(self._roles_before)
            self._roles_before = None


@contextlib.contextmanager
def open_server() -> Iterator[ScratchServer]:
    """For tools outside pytest: the server DATABASE_URL names, else the harness's test cluster
    (started on demand, stopped again if this block started it); drops what was made there."""
    named = named_server_url()
    started = False
    if named:
        server = ScratchServer(named, embedded=False)
        server.admin().close()  # fail early, with one line, if it cannot be reached
    else:
        started = not cluster.TEST.running()
        cluster.TEST.start(quiet=True)
        server = ScratchServer(cluster.TEST.url(cluster.CRON_DATABASE), embedded=True)
    try:
        yield server
    finally:
        try:
            server.close()
        finally:
            if started:
                cluster.TEST.stop()
