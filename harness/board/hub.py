"""The board's one view of the database, shared by every open page.

One connection LISTENs on the engine's `crm_sla` channel; every event (an assignment, a
reassignment, an escalation, a warning, a lead nobody could take, a claim, a first action, new
leads) is queued, and a single refresher task re-reads just the leads named in the events (all of
them for an INSERT or after a reconnect) through the `crm_lead_sla_timers` view, as the board's
identity, and pushes the difference to every page over Server-Sent Events. The pages never query
the database: a thousand open tabs cost one LISTEN connection and one query per change.

Besides the cards: the absences not yet over (read with the SLA clock, every few seconds, since
an absence sends no event: the page says `out until ...` while one is under way), which cards a
ladder `step` event just reached (the page flashes them), and the board's own notifications, the
step events addressed to the agent it reads as (the bell of a manager's board). """

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from harness.engine import WAITING

log = logging.getLogger("crm_sla.board")

CHANNEL = "crm_sla"
FULL = "full"  # queue marker: re-read every open lead
CLOCK = "clock"  # queue marker: re-read the SLA clock only
COALESCE_SECONDS = 0.01  # events that arrive this close together make one refresh
CLOCK_POLL_SECONDS = 2.0  # sla_clock_travel() sends no event: look at the clock this often
RESYNC_SECONDS = 30.0  # and re-read everything this often (leads deleted, agents renamed)
HEARTBEAT_SECONDS = 15.0
SUBSCRIBER_BACKLOG = 500  # a page that falls this far behind is dropped (it reconnects)
NOTIFICATIONS_KEPT = 20  # the bell lists this many of the board's latest notifications
ABSENCES_READ = 2000  # absences not yet over, read at most (an agent has at most 100 pending)
NOTES_SHOWN = 300  # characters of a reassignment's notes on a card (at most 2000 are stored)

# The open leads' cards; the team of a lead's policy; whether it waits in the overflow queue.
CARDS_SQL = f"""
select t.lead_id, t.lead_name, t.assigned_agent_id, t.stage, t.timer_started_at,
    t.timer_expires_at, t.sla_breached, t.claim_sla_breached, t.contact_sla_breached,
    t.reassignment_count, t.reassignment_reason, t.reassigned_at, t.previous_agent_id,
    t.sla_escalated_at, t.created_at, t.timer_resumes_at, t.seconds_left, t.policy_name,
    t.timer_warn_at, t.timer_warned, p.team_id, {WAITING} as waiting, t.paused_reason,
    t.resumes_at,
    -- The last move's notes (a decline's reason), as far as the reader's row-level security
    -- shows the audit row (an agent sees the rows that gave it the lead).
    case when t.reassignment_count > 0 then (
        select left(r.notes, {NOTES_SHOWN}) from public.crm_lead_reassignments as r
        where r.lead_id = t.lead_id order by r.created_at desc limit 1
    ) end as reassignment_notes
from public.crm_lead_sla_timers as t
left join public.crm_leads as l on t.lead_id = l.id
left join public.crm_sla_policies as p on t.policy_name = p.name
where t.stage <> 'done'
"""
# Absences not over yet: the page marks an agent out while the SLA clock is inside one (as far as
# the reader's row-level security shows them: an agent sees its own).
ABSENCES_SQL = f"""
select b.agent_id::text as agent_id, b.starts_at, b.ends_at
from public.crm_sla_agent_absences as b
where b.ends_at > public.sla_now()
order by b.starts_at, b.agent_id, b.ends_at
limit {ABSENCES_READ}
"""
# The board's own notifications: step events addressed to the agent it reads as (the outbox's
# row-level security lets an agent read the events addressed to it). By id as they are
# announced; the latest ones at start and after a lost LISTEN connection.
NOTIFICATION_COLUMNS = """
select o.id, o.lead_id::text as lead_id, o.created_at,
    o.payload ->> 'step' as step, o.payload ->> 'notify' as notify,
    o.payload ->> 'stage' as stage, o.payload ->> 'owner_id' as owner_id,
    o.payload ->> 'at' as at, o.payload ->> 'expires_at' as expires_at
from public.crm_sla_outbox as o
where o.event = 'step' and o.agent_id = %s
"""
CLOCK_SQL = """
select
    extract(epoch from pg_catalog.clock_timestamp()) * 1000 as db_ms,
    extract(epoch from public.sla_now() - pg_catalog.now()) * 1000 as travel_ms
"""


@dataclass(frozen=True)
class Identity:
    """Who the board reads (and acts) as: the service role, or one agent through its JWT."""

    agent_id: uuid.UUID | None = None
    name: str = "Service role"
    role: str = "service"  # service, agent or admin

    @property
    def db_role(self) -> str:
        return "service_role" if self.agent_id is None else "authenticated"

    @property
    def claims(self) -> str:
        if self.agent_id is None:
            return json.dumps({"role": "service_role"})
        return json.dumps({"sub": str(self.agent_id), "role": "authenticated"})

    def as_json(self) -> dict[str, Any]:
        return {"agent_id": str(self.agent_id) if self.agent_id else None, "name": self.name,
                "role": self.role}


@contextlib.asynccontextmanager
async def as_identity(pool: AsyncConnectionPool, identity: Identity):
    """A transaction on a pooled connection that runs as `identity`, the way PostgREST does it:
    SET ROLE plus request.jwt.claims, both local to the transaction."""
    async with pool.connection() as conn, conn.transaction():
        conn.row_factory = dict_row
        await conn.execute(f"set local role {identity.db_role}")
        await conn.execute("select pg_catalog.set_config('request.jwt.claims', %s, true)",
                           (identity.claims,))
        yield conn


def _ms(value) -> int | None:
    return None if value is None else round(value.timestamp() * 1000)


def _iso_ms(text: str | None) -> int | None:
    """An ISO timestamp from an event's payload as epoch milliseconds (None when absent or not
    one: payloads are read, not trusted)."""
    try:
        return _ms(datetime.fromisoformat(text)) if text else None
    except (TypeError, ValueError):
        return None


def card(row: dict[str, Any]) -> dict[str, Any]:
    """A view row as the page wants it: ids as text, times as epoch milliseconds."""
    lead_id = str(row["lead_id"])
    left = row["seconds_left"]
    return {
        "id": lead_id,
        "name": row["lead_name"] or f"Lead {lead_id[:8]}",
        "owner": str(row["assigned_agent_id"]) if row["assigned_agent_id"] else None,
        "stage": row["stage"],
        "started_ms": _ms(row["timer_started_at"]),
        "expires_ms": _ms(row["timer_expires_at"]),
        "breached": bool(row["sla_breached"]),
        "claim_breached": bool(row["claim_sla_breached"]),
        "contact_breached": bool(row["contact_sla_breached"]),
        "reassignments": row["reassignment_count"],
        "reason": row["reassignment_reason"],
        "notes": row["reassignment_notes"],
        "reassigned_ms": _ms(row["reassigned_at"]),
        "previous_owner": str(row["previous_agent_id"]) if row["previous_agent_id"] else None,
        "escalated_ms": _ms(row["sla_escalated_at"]),
        "created_ms": _ms(row["created_at"]),
        # Set while the timer's calendar is closed: the card shows it paused until then, with
        # the open time it has left (which does not run meanwhile).
        "resumes_ms": _ms(row["timer_resumes_at"]),
        "left_ms": None if left is None else round(float(left) * 1000),
        "policy": row["policy_name"],
        "team": str(row["team_id"]) if row["team_id"] else None,
        # The warning point of the running window (the page turns the card amber there) and
        # whether the engine has sent its warning.
        "warn_ms": _ms(row["timer_warn_at"]),
        "warned": bool(row["timer_warned"]),
        "waiting": bool(row["waiting"]),
        # Stop the clock: why the timer is paused (closed, status, snoozed) and, for a
        # snooze, until when.
        "paused_reason": row["paused_reason"],
        "snoozed_until_ms": _ms(row["resumes_at"]) if row["paused_reason"] == "snoozed" else None,
    }


TEAMS_SQL = """
select t.id::text as id, t.name,
    array(select m.agent_id::text from public.crm_sla_team_members as m
          where m.team_id = t.id order by m.agent_id) as members
from public.crm_sla_teams as t order by t.name, t.id
"""


class Hub:
    def __init__(self, url: str, pool: AsyncConnectionPool, identity: Identity):
        self.url = url
        self.pool = pool
        self.identity = identity
        self.cards: dict[str, dict[str, Any]] = {}
        self.agents: list[dict[str, Any]] = []
        # Every agent id the hub has read or looked for: an event naming any other (an agent
        # added since the last full read) re-reads the agents, so its column has its name.
        self._seen_agents: set[str] = set()
        self.teams: list[dict[str, Any]] = []
        self.absences: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []  # newest first, NOTIFICATIONS_KEPT at most
        self._notifications_stale = identity.agent_id is not None  # read the latest ones
        self.skew_ms = 0.0  # database clock minus this process's clock
        self.travel_ms = 0.0  # sla_now() minus now(): how far the SLA clock was moved
        self.listening = False
        self.subscribers: set[asyncio.Queue] = set()
        self.events: asyncio.Queue = asyncio.Queue()
        self.refreshes = 0
        self._tasks: list[asyncio.Task] = []

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        await self._refresh_all()
        self._tasks = [
            asyncio.create_task(self._listen(), name="board-listen"),
            asyncio.create_task(self._refresh_loop(), name="board-refresh"),
            asyncio.create_task(self._tick(CLOCK, CLOCK_POLL_SECONDS), name="board-clock"),
            asyncio.create_task(self._tick(FULL, RESYNC_SECONDS), name="board-resync"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for queue in list(self.subscribers):
            queue.put_nowait(None)

    # -- the page's view -------------------------------------------------------------------
    def sla_now_ms(self) -> int:
        return round(time.time() * 1000 + self.skew_ms + self.travel_ms)

    def snapshot(self) -> dict[str, Any]:
        return {
            "type": "snapshot",
            "identity": self.identity.as_json(),
            "agents": self.agents,
            "teams": self.teams,
            "absences": self.absences,
            "notifications": self.notifications,
            "cards": sorted(self.cards.values(), key=_urgency),
            "sla_now_ms": self.sla_now_ms(),
            "travel_ms": round(self.travel_ms),
            "listening": self.listening,
        }

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(SUBSCRIBER_BACKLOG)
        self.subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self.subscribers.discard(queue)

    def _broadcast(self, message: dict[str, Any]) -> None:
        message["sla_now_ms"] = self.sla_now_ms()
        message["travel_ms"] = round(self.travel_ms)
        message["listening"] = self.listening
        if "trace" in message:
            message["trace"]["sent_ms"] = time.time() * 1000
        text = json.dumps(message, separators=(",", ":"))
        for queue in list(self.subscribers):
            try:
                queue.put_nowait(text)
            except asyncio.QueueFull:
                self.subscribers.discard(queue)
                with contextlib.suppress(asyncio.QueueFull):
                    queue.get_nowait()
                    queue.put_nowait(None)  # ends that stream; the page reconnects

    # -- listening -------------------------------------------------------------------------
    async def _listen(self) -> None:
        """The one LISTEN connection; reconnects with backoff and resyncs after a gap."""
        backoff = 0.5
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True,
                                                             connect_timeout=10)
                async with conn:
                    await conn.execute(f"listen {CHANNEL}")
                    if not self.listening:
                        self.listening = True
                        # Notifications announced while nobody listened: read them again.
                        self._notifications_stale = self.identity.agent_id is not None
                        self.events.put_nowait((FULL, time.time() * 1000))  # what we missed
                    backoff = 0.5
                    async for note in conn.notifies():
                        self.events.put_nowait((note.payload, time.time() * 1000))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect
                if self.listening:
                    log.warning("board: lost the LISTEN connection (%s); reconnecting", exc)
                    self.listening = False
                    self._broadcast({"type": "clock"})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _tick(self, marker: str, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            self.events.put_nowait((marker, None))

    # -- refreshing ------------------------------------------------------------------------
    async def _refresh_loop(self) -> None:
        while True:
            first = await self.events.get()
            await asyncio.sleep(COALESCE_SECONDS)
            batch = [first]
            while not self.events.empty():
                batch.append(self.events.get_nowait())
            try:
                await self._handle(batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep serving; retry everything soon
                log.warning("board: refresh failed (%s); retrying", exc)
                await asyncio.sleep(1.0)
                self.events.put_nowait((FULL, None))

    async def _handle(self, batch: list[tuple[str, float | None]]) -> None:
        ids: set[str] = set()
        steps: list[dict[str, Any]] = []  # step events: the page flashes the owner's card
        mine: list[int] = []  # the outbox ids of step events addressed to the board's agent
        full = clock_only = False
        received = [t for _, t in batch if t is not None]
        for payload, _ in batch:
            if payload == CLOCK:
                clock_only = True
                continue
            if payload == FULL:
                full = True
                continue
            try:
                note = json.loads(payload)
                lead_id, agent_id = note.get("lead_id"), note.get("agent_id")
                if note.get("event") == "step" and lead_id:
                    steps.append({"lead_id": str(lead_id),
                                  "agent_id": str(agent_id) if agent_id else None})
                    if agent_id and str(agent_id) == str(self.identity.agent_id) \
                            and isinstance(note.get("outbox_id"), int):
                        mine.append(note["outbox_id"])
            except (ValueError, AttributeError):
                lead_id = agent_id = None
            if agent_id and str(agent_id) not in self._seen_agents:
                self._seen_agents.add(str(agent_id))
                full = True  # an agent added after the last read: read the agents again
            if lead_id:
                ids.add(str(lead_id))
            else:
                full = True  # new leads (one event per INSERT statement), or unknown events
        trace = {"notify_ms": min(received)} if received and (ids or full) else None
        if full:
            patch = await self._refresh_all()
        elif ids:
            patch = await self._refresh_ids(sorted(ids))
        elif clock_only:
            before = self.travel_ms
            patch = await self._read_clock_only()
            if "absences" in patch:
                self._broadcast(patch)
            elif abs(self.travel_ms - before) > 250:
                self._broadcast({"type": "clock"})
            return
        else:
            return
        self.refreshes += 1
        if steps:
            patch["steps"] = steps
        if mine:
            fresh = await self._read_notifications(mine)
            if fresh:
                patch["notifications"] = fresh
        if patch["upsert"] or patch["remove"] or {"agents", "teams", "absences", "steps",
                                                  "notifications"} & patch.keys():
            if trace:
                patch["trace"] = trace
            self._broadcast(patch)

    async def _read_clock(self, conn) -> None:
        t0 = time.time() * 1000
        row = await (await conn.execute(CLOCK_SQL)).fetchone()
        t1 = time.time() * 1000
        self.skew_ms = float(row["db_ms"]) - (t0 + t1) / 2
        self.travel_ms = float(row["travel_ms"])

    async def _read_clock_only(self) -> dict[str, Any]:
        """The SLA clock, and the absences (which send no event); a patch when they changed."""
        async with as_identity(self.pool, self.identity) as conn:
            await self._read_clock(conn)
            patch = {"type": "patch", "upsert": [], "remove": []}
            await self._read_absences(conn, patch)
        return patch

    async def _read_absences(self, conn, patch: dict[str, Any]) -> None:
        rows = await (await conn.execute(ABSENCES_SQL)).fetchall()
        absences = [{"agent_id": r["agent_id"], "starts_ms": _ms(r["starts_at"]),
                     "ends_ms": _ms(r["ends_at"])} for r in rows]
        if absences != self.absences:
            self.absences = absences
            patch["absences"] = absences

    async def _read_notifications(self, outbox_ids: list[int] | None) -> list[dict[str, Any]]:
        """The board's step notifications with these outbox ids (None: the latest ones), as its
        agent; keeps the newest NOTIFICATIONS_KEPT and returns those not seen before."""
        sql = NOTIFICATION_COLUMNS + (" and o.id = any(%s)" if outbox_ids is not None else "") \
            + f" order by o.id desc limit {NOTIFICATIONS_KEPT}"
        params = (self.identity.agent_id,) + ((outbox_ids,) if outbox_ids is not None else ())
        async with as_identity(self.pool, self.identity) as conn:
            rows = await (await conn.execute(sql, params)).fetchall()
        known = {n["id"] for n in self.notifications}
        fresh = [self._notification(r) for r in rows if r["id"] not in known]
        self.notifications = sorted([*fresh, *self.notifications], key=lambda n: -n["id"])[
            :NOTIFICATIONS_KEPT]
        return fresh

    def _notification(self, row: dict[str, Any]) -> dict[str, Any]:
        """A step event as the bell lists it; the lead's name when the board shows its card (an
        agent's row-level security hides its reports' leads: then the lead's id)."""
        lead = self.cards.get(row["lead_id"] or "")
        return {
            "id": row["id"],
            "lead_id": row["lead_id"],
            "lead_name": lead["name"] if lead else None,
            "step": (row["step"] or "step")[:200],
            "notify": row["notify"],
            "stage": row["stage"],
            "owner_id": row["owner_id"],
            "at_ms": _ms(row["created_at"]) if row["at"] is None else _iso_ms(row["at"]),
            "expires_ms": _iso_ms(row["expires_at"]),
        }

    async def _refresh_all(self) -> dict[str, Any]:
        async with as_identity(self.pool, self.identity) as conn:
            await self._read_clock(conn)
            rows = await (await conn.execute(CARDS_SQL)).fetchall()
            agents = await (await conn.execute(
                "select a.id::text as id, a.full_name as name, a.role, a.is_active as active, "
                "a.accepting_leads as accepting from public.crm_agents as a "
                "where a.role <> 'system' order by a.role = 'admin', a.full_name, a.id"
            )).fetchall()
            teams = await (await conn.execute(TEAMS_SQL)).fetchall()
            fresh = {c["id"]: c for c in map(card, rows)}
            patch = self._apply(fresh, set(self.cards) | set(fresh))
            await self._read_absences(conn, patch)
        if self._notifications_stale:
            self._notifications_stale = False
            fresh_notes = await self._read_notifications(None)
            if fresh_notes:
                patch["notifications"] = fresh_notes
        self._seen_agents |= {a["id"] for a in agents}
        if agents != self.agents:
            self.agents = agents
            patch["agents"] = agents
        if teams != self.teams:
            self.teams = teams
            patch["teams"] = teams
        return patch

    async def _refresh_ids(self, ids: list[str]) -> dict[str, Any]:
        async with as_identity(self.pool, self.identity) as conn:
            await self._read_clock(conn)
            rows = await (await conn.execute(
                CARDS_SQL + " and t.lead_id = any(%s::uuid[])", (ids,))).fetchall()
        return self._apply({c["id"]: c for c in map(card, rows)}, set(ids))

    def _apply(self, fresh: dict[str, dict], scope: set[str]) -> dict[str, Any]:
        """Brings self.cards up to date for the leads in `scope`; returns what changed."""
        upsert, remove = [], []
        for lead_id in scope:
            new = fresh.get(lead_id)
            if new is None:
                if self.cards.pop(lead_id, None) is not None:
                    remove.append(lead_id)
            elif self.cards.get(lead_id) != new:
                self.cards[lead_id] = new
                upsert.append(new)
        return {"type": "patch", "upsert": sorted(upsert, key=_urgency), "remove": remove}


def _urgency(c: dict[str, Any]) -> tuple:
    return (c["expires_ms"] is None, c["expires_ms"] or 0, c["created_ms"] or 0, c["id"])
