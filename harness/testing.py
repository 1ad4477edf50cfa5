"""The world builder shared by this repository's suite (tests/conftest.py) and the pytest plugin
that adopters load (harness.pytest_plugin): agents and leads in a line, the SLA clock, the monitor,
and identities switched the way Supabase does it (SET ROLE plus request.jwt.claims), on one
migrated database. Where that database comes from is harness.scratch's job.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from psycopg.rows import dict_row

from harness import target
from harness.engine import SYSTEM_ACTOR

__all__ = ["SYSTEM_ACTOR", "SlaClock", "World", "become", "connect", "near"]


def near(a, b, slack: timedelta = timedelta(seconds=5)) -> bool:
    """Two SLA timestamps read in different statements: equal up to the test's own run time."""
    return a is not None and b is not None and abs(a - b) <= slack


def connect(url: str) -> psycopg.Connection:
    """harness.target.connect with rows as dicts, the shape tests read."""
    return target.connect(url, row_factory=dict_row)


def become(conn: psycopg.Connection, role: str, sub: uuid.UUID | str | None = None) -> None:
    """Switch a connection to an API role, with JWT claims as PostgREST sets them."""
    claims = {"role": role}
    if sub is not None:
        claims["sub"] = str(sub)
    conn.execute(f"set role {role}")
    conn.execute("select set_config('request.jwt.claims', %s, false)", (json.dumps(claims),))


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
