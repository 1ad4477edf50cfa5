"""A small world for tests: agents and leads in a line, the SLA clock, and identities switched the
way Supabase does it (SET ROLE plus request.jwt.claims)."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta

import psycopg
from psycopg.rows import dict_row

SYSTEM_ACTOR = uuid.UUID("00000000-0000-0000-0000-000000000000")


def near(a, b, slack: timedelta = timedelta(seconds=5)) -> bool:
    """Two SLA timestamps read in different statements: equal up to the test's own run time."""
    return a is not None and b is not None and abs(a - b) <= slack


def connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True, row_factory=dict_row)


def become(conn: psycopg.Connection, role: str, sub: uuid.UUID | None = None) -> None:
    """Switch a connection to an API role, with JWT claims as PostgREST sets them."""
    claims = {"role": role}
    if sub is not None:
        claims["sub"] = str(sub)
    conn.execute(f"set role {role}")
    conn.execute("select set_config('request.jwt.claims', %s, false)", (json.dumps(claims),))


class World:
    def __init__(self, url: str):
        self.url = url
        self.db = connect(url)  # the tables' owner: a trusted session

    def close(self) -> None:
        self.db.close()

    # -- building -------------------------------------------------------------------------
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

    # -- time and the monitor ---------------------------------------------------------------
    def travel(self, by: str):
        return self.db.execute("select public.sla_clock_travel(%s::interval) as t", (by,)
                               ).fetchone()["t"]

    def now(self):
        return self.db.execute("select public.sla_now() as t").fetchone()["t"]

    def monitor(self) -> dict:
        return self.db.execute("select public.process_sla_timers() as r").fetchone()["r"]

    # -- reading ------------------------------------------------------------------------------
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

    # -- identities ---------------------------------------------------------------------------
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
