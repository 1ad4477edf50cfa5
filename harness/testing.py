"""Test support shared by this repository's suite (tests/conftest.py) and the pytest plugin that
adopters load (harness.pytest_plugin): scratch databases on a PostgreSQL server, and a small world
builder (agents and leads in a line, the SLA clock, identities switched the way Supabase does it:
SET ROLE plus request.jwt.claims).

The server is the one DATABASE_URL names (CRM_SLA_TEST_DATABASE_URL wins when both are set): a
server the user owns, such as a CI service container. The named database is only the door in: the
tests create their own scratch databases beside it (a migrated template, then a copy per test),
never write to it, and drop what they created. Without either variable the harness's own test
cluster is used (started on demand, stopped again by whoever started it).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from psycopg.rows import dict_row

from harness import cluster, migrate
from harness.errors import HarnessError
from harness.target import redact, with_database

SYSTEM_ACTOR = uuid.UUID("00000000-0000-0000-0000-000000000000")
API_ROLES = ("anon", "authenticated", "service_role")
SERVER_URL_VARIABLES = ("CRM_SLA_TEST_DATABASE_URL", "DATABASE_URL")


def near(a, b, slack: timedelta = timedelta(seconds=5)) -> bool:
    """Two SLA timestamps read in different statements: equal up to the test's own run time."""
    return a is not None and b is not None and abs(a - b) <= slack


def connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True, row_factory=dict_row)


def become(conn: psycopg.Connection, role: str, sub: uuid.UUID | str | None = None) -> None:
    """Switch a connection to an API role, with JWT claims as PostgREST sets them."""
    claims = {"role": role}
    if sub is not None:
        claims["sub"] = str(sub)
    conn.execute(f"set role {role}")
    conn.execute("select set_config('request.jwt.claims', %s, false)", (json.dumps(claims),))


# -- the server and its scratch databases ------------------------------------------------

def existing_server_url() -> str | None:
    """The URL of a server the user named (CRM_SLA_TEST_DATABASE_URL, else DATABASE_URL)."""
    for name in SERVER_URL_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    return None


class ScratchServer:
    """Scratch databases on one server, made by this process and dropped by it.

    `url` names any database on the server; it is used only to issue CREATE DATABASE and DROP
    DATABASE, so its data is never touched. API roles (anon, authenticated, service_role) that the
    migrations create here because the server had none are dropped again by `close()`.
    """

    def __init__(self, url: str, embedded: bool):
        self.url = url
        self.embedded = embedded
        self._made: list[str] = []
        self._template: str | None = None
        self._roles_before: set[str] | None = None
        self._counter = itertools.count()

    @property
    def label(self) -> str:
        kind = "the harness's test cluster" if self.embedded else "the server in DATABASE_URL"
        return f"{kind} ({redact(self.url)})"

    def url_for(self, name: str) -> str:
        return with_database(self.url, name)

    def _admin(self) -> psycopg.Connection:
        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else "no answer"
            raise HarnessError(f"cannot connect to {self.label}: {reason}") from None

    def create(self, template: str | None = None, kind: str = "t") -> str:
        """A new database (a copy of `template`, or empty); returns its name."""
        name = f"crm_sla_{kind}_{os.getpid()}_{next(self._counter)}"
        sql = f'create database "{name}"' + (f' template "{template}"' if template else "")
        deadline = time.monotonic() + 15
        with self._admin() as conn:
            while True:
                try:
                    conn.execute(sql)
                    break
                except psycopg.errors.ObjectInUse:
                    # A session on the template (which this process made) is still closing.
                    if time.monotonic() > deadline:
                        raise
                    if template in self._made:
                        self._disconnect(template)
                    time.sleep(0.1)
                except psycopg.errors.InsufficientPrivilege:
                    raise HarnessError(
                        f"the user of {self.label} may not create databases: the tests make "
                        "scratch databases beside the one named (and drop them afterwards). "
                        "Use a user with CREATEDB, such as a CI service container's superuser."
                    ) from None
        self._made.append(name)
        return name

    def _disconnect(self, name: str) -> None:
        """End the sessions still open on a database this process made."""
        with self._admin() as conn:
            conn.execute("select pg_terminate_backend(pid) from pg_catalog.pg_stat_activity "
                         "where datname = %s and pid <> pg_backend_pid()", (name,))

    def drop(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')
        if name in self._made:
            self._made.remove(name)

    def _api_roles(self) -> set[str]:
        with self._admin() as conn:
            rows = conn.execute(
                "select rolname from pg_catalog.pg_roles where rolname = any(%s)",
                (list(API_ROLES),),
            ).fetchall()
        return {r[0] for r in rows}

    def migrated_template(self) -> str:
        """A database with every migration applied (made once), to copy for each test."""
        if self._template is None:
            if self._roles_before is None:
                self._roles_before = self._api_roles()
            name = self.create(kind="tpl")
            migrate.apply(self.url_for(name), report=lambda _msg: None)
            self._template = name
            self._disconnect(name)  # yoyo keeps its connection; a template must have none
        return self._template

    def close(self) -> None:
        """Drop every database made here, then the API roles the migrations had to create."""
        for name in reversed(list(self._made)):
            self.drop(name)
        self._template = None
        if self._roles_before is None:
            return
        created = [r for r in API_ROLES if r not in self._roles_before]
        if not created:
            return
        with self._admin() as conn:
            for role in created:
                try:
                    conn.execute(f"drop role if exists {role}")
                except psycopg.Error as exc:  # another session's databases still use it
                    print(f"crm-sla: kept role {role}, which the tests created: "
                          f"{exc.diag.message_primary}", file=sys.stderr)


@contextlib.contextmanager
def open_server() -> Iterator[ScratchServer]:
    """The server the tests use, for the length of the block; drops what was made there and stops
    the embedded test cluster if this block started it."""
    named = existing_server_url()
    started = False
    if named:
        server = ScratchServer(named, embedded=False)
        server._admin().close()  # fail early, with one line, if it cannot be reached
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


# -- the world ------------------------------------------------------------------------------

@dataclass
class SlaClock:
    """The SLA clock of one database: what sla_clock_travel() and sla_clock_reset() move."""

    db: psycopg.Connection

    def travel(self, by: str | timedelta):
        """Move the clock forward (cumulative); returns the new sla_now()."""
        return self.db.execute("select public.sla_clock_travel(%s::interval) as t", (by,)
                               ).fetchone()["t"]

    def reset(self):
        """Back to the wall clock; returns sla_now()."""
        return self.db.execute("select public.sla_clock_reset() as t").fetchone()["t"]

    def now(self):
        return self.db.execute("select public.sla_now() as t").fetchone()["t"]


class World:
    """Agents, leads, the clock, the monitor and identities for one migrated database."""

    def __init__(self, url: str):
        self.url = url
        self.db = connect(url)  # the tables' owner: a trusted session
        self.clock = SlaClock(self.db)
        self._conns: list[psycopg.Connection] = []

    def close(self) -> None:
        for conn in self._conns:
            conn.close()
        self.db.close()

    # -- building -------------------------------------------------------------------------------
    def agent(self, name: str = "agent", role: str = "agent", active: bool = True,
              accepting: bool = True) -> uuid.UUID:
        return self.db.execute(
            "insert into public.crm_agents (full_name, email, role, is_active, accepting_leads) "
            "values (%s, %s, %s, %s, %s) returning id",
            (name, f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com", role, active, accepting),
        ).fetchone()["id"]

    def agents(self, *names: str) -> list[uuid.UUID]:
        return [self.agent(n) for n in names]

    def lead(self, owner: uuid.UUID | None = None, **fields) -> uuid.UUID:
        fields = {"assigned_agent_id": owner, "full_name": "Lead", **fields}
        cols = ", ".join(fields)
        marks = ", ".join(["%s"] * len(fields))
        return self.db.execute(
            f"insert into public.crm_leads ({cols}) values ({marks}) returning id",
            tuple(fields.values()),
        ).fetchone()["id"]

    def settings(self, **values) -> None:
        sets = ", ".join(f"{k} = %s" for k in values)
        self.db.execute(f"update public.crm_sla_settings set {sets}", tuple(values.values()))

    # -- time and the monitor -----------------------------------------------------------------
    def travel(self, by: str | timedelta):
        return self.clock.travel(by)

    def now(self):
        return self.clock.now()

    def monitor(self) -> dict:
        return self.db.execute("select public.process_sla_timers() as r").fetchone()["r"]

    # -- reading --------------------------------------------------------------------------------
    def row(self, lead_id: uuid.UUID) -> dict:
        return self.db.execute("select * from public.crm_leads where id = %s", (lead_id,)
                               ).fetchone()

    def audit(self, lead_id: uuid.UUID | None = None) -> list[dict]:
        if lead_id is None:
            return self.db.execute(
                "select * from public.crm_lead_reassignments order by created_at, id").fetchall()
        return self.db.execute(
            "select * from public.crm_lead_reassignments where lead_id = %s "
            "order by created_at, id", (lead_id,)).fetchall()

    def scalar(self, sql: str, params: tuple = ()):
        row = self.db.execute(sql, params).fetchone()
        return next(iter(row.values())) if row else None

    # -- identities -----------------------------------------------------------------------------
    def connection_as(self, role: str, sub: uuid.UUID | str | None = None) -> psycopg.Connection:
        """A new connection as an API role (closed with the world)."""
        conn = connect(self.url)
        become(conn, role, sub)
        self._conns.append(conn)
        return conn

    @contextlib.contextmanager
    def as_role(self, role: str, sub: uuid.UUID | None = None) -> Iterator[psycopg.Connection]:
        conn = connect(self.url)
        try:
            become(conn, role, sub)
            yield conn
        finally:
            conn.close()

    def as_agent(self, agent_id: uuid.UUID):
        return self.as_role("authenticated", agent_id)

    def as_service(self):
        return self.as_role("service_role")

    def as_anon(self):
        return self.as_role("anon")
