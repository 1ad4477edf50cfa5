"""`crm-sla deliver`: POSTs the engine's events to the webhooks, signed as Standard Webhooks says.

The engine writes a pending row in `crm_sla_webhook_deliveries` for every event and webhook, in the
transaction that caused the event, and announces the event on `crm_sla`. A worker LISTENs there, so
it wakes the moment such a transaction commits, and otherwise sleeps until the next retry is due.
It claims due deliveries with `FOR UPDATE SKIP LOCKED` and keeps them locked while it POSTs them:
several workers never send the same delivery twice, and a worker killed mid-delivery loses
nothing (its transaction rolls back, the delivery stays pending and the next worker sends it, with
the same `webhook-id`, so a receiver can drop the duplicate). A 2xx answer marks it delivered;
anything else, a timeout or a refused connection schedules the next attempt after the next delay
of `crm_sla_settings.webhook_retry_delays`, and when they run out the delivery is dead.
"""

from __future__ import annotations

import json
import os
import select
import signal
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import psycopg
from standardwebhooks import Webhook

from harness.errors import HarnessError
from harness.target import connect, describe_db_error

CHANNEL = "crm_sla"
TIMEOUT_SECONDS = 10.0  # per POST: connect, send and answer
BATCH = 32  # deliveries claimed (and held) by one transaction
PARALLEL = 8  # POSTs in flight at once within a batch
IDLE_WAKE_SECONDS = 60.0  # with nothing pending, look again this often anyway
RECONNECT_SECONDS = (0.5, 10.0)  # after a lost connection: first wait, longest wait
ERROR_CHARS = 300

CLAIM_SQL = """
select d.webhook_id, d.outbox_id, h.url, h.secret, o.payload
from public.crm_sla_webhook_deliveries as d
inner join public.crm_sla_webhooks as h on d.webhook_id = h.id
inner join public.crm_sla_outbox as o on d.outbox_id = o.id
where d.status = 'pending' and d.next_attempt_at <= pg_catalog.clock_timestamp() and h.is_active
order by d.next_attempt_at, d.outbox_id
limit %s
for update of d skip locked
"""

# The outcome of each attempt: delivered, or the next attempt after the next delay, or dead.
RESULT_SQL = """
update public.crm_sla_webhook_deliveries as d
set
    attempts = d.attempts + 1,
    status = case
        when r.ok then 'delivered'
        when d.attempts + 1 > cardinality(s.webhook_retry_delays) then 'dead'
        else 'pending'
    end,
    next_attempt_at = case
        when r.ok or d.attempts + 1 > cardinality(s.webhook_retry_delays) then null
        else pg_catalog.clock_timestamp() + s.webhook_retry_delays[d.attempts + 1]
    end,
    last_error = case when r.ok then d.last_error else r.error end,
    delivered_at = case when r.ok then pg_catalog.clock_timestamp() end
from
    unnest(%s::uuid[], %s::bigint[], %s::boolean[], %s::text[])
        as r (webhook_id, outbox_id, ok, error),
    public.crm_sla_settings as s
where d.webhook_id = r.webhook_id and d.outbox_id = r.outbox_id
"""

# Seconds until the next pending delivery that no other worker holds is due (negative: overdue);
# no row: nothing pending. Rows another worker is sending are skipped, or this one would spin
# until that worker is done with them.
NEXT_DUE_SQL = """
select extract(epoch from d.next_attempt_at - pg_catalog.clock_timestamp())
from public.crm_sla_webhook_deliveries as d
inner join public.crm_sla_webhooks as h on d.webhook_id = h.id
where d.status = 'pending' and h.is_active
order by d.next_attempt_at
limit 1
for update of d skip locked
"""


@dataclass
class Attempt:
    webhook_id: object
    outbox_id: int
    ok: bool
    error: str | None


@dataclass
class Totals:
    delivered: int = 0
    failed: int = 0
    batches: int = 0
    # The latest failures (what --once prints); a long-running worker keeps no more.
    errors: deque[str] = field(default_factory=lambda: deque(maxlen=100))

    def as_json(self) -> str:
        return json.dumps({"delivered": self.delivered, "failed": self.failed}, sort_keys=True)


def message_id(webhook_id, outbox_id: int) -> str:
    """The webhook-id header: the same on every retry of one event to one endpoint."""
    return f"{webhook_id}.{outbox_id}"


def signed_request(secret: str, msg_id: str, payload: dict) -> tuple[bytes, dict[str, str]]:
    """The body and the Standard Webhooks headers for one attempt."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    at = datetime.fromtimestamp(int(time.time()), tz=UTC)
    headers = {
        "content-type": "application/json",
        "user-agent": "crm-sla-deliver",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body),
    }
    return body.encode(), headers


def post(client: httpx.Client, row: tuple) -> Attempt:
    webhook_id, outbox_id, url, secret, payload = row
    body, headers = signed_request(secret, message_id(webhook_id, outbox_id), payload)
    try:
        answer = client.post(url, content=body, headers=headers)
    except httpx.TimeoutException:
        return Attempt(webhook_id, outbox_id, False, f"timeout after {TIMEOUT_SECONDS:g} s")
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        return Attempt(webhook_id, outbox_id, False,
                       f"{type(exc).__name__}: {reason}"[:ERROR_CHARS])
    if 200 <= answer.status_code < 300:
        return Attempt(webhook_id, outbox_id, True, None)
    text = answer.text.strip().replace("\n", " ")
    return Attempt(webhook_id, outbox_id, False,
                   f"HTTP {answer.status_code}: {text}"[:ERROR_CHARS].rstrip(": "))


def deliver_batch(conn: psycopg.Connection, client: httpx.Client, pool: ThreadPoolExecutor,
                  totals: Totals) -> int:
    """Claims up to one batch of due deliveries, POSTs them, records the outcomes (one
    transaction, so the rows stay locked while their POSTs are in flight); returns how many."""
    with conn.transaction():
        rows = conn.execute(CLAIM_SQL, (BATCH,)).fetchall()
        if not rows:
            return 0
        attempts = list(pool.map(lambda row: post(client, row), rows))
        conn.execute(RESULT_SQL, (
            [a.webhook_id for a in attempts], [a.outbox_id for a in attempts],
            [a.ok for a in attempts], [a.error for a in attempts],
        ))
    totals.batches += 1
    for a in attempts:
        if a.ok:
            totals.delivered += 1
        else:
            totals.failed += 1
            totals.errors.append(f"{message_id(a.webhook_id, a.outbox_id)}: {a.error}")
    return len(rows)


class Stop(Exception):
    """SIGINT or SIGTERM arrived while the worker was waiting."""


class Worker:
    """One `crm-sla deliver` process: a LISTEN connection, a working connection, an HTTP client."""

    def __init__(self, url: str):
        self.url = url
        self.stopping = False
        self.waiting = False
        self.connected = False  # once it has been: a lost connection is made again

    def _on_signal(self, signum, _frame) -> None:
        self.stopping = True
        if self.waiting:  # in the middle of a POST the batch finishes first
            raise Stop

    def _wait(self, listen: psycopg.Connection, seconds: float) -> None:
        """Until a notification arrives on crm_sla, or `seconds` pass."""
        self.waiting = True
        try:
            if self.stopping:
                raise Stop
            ready, _, _ = select.select([listen.fileno()], [], [], max(seconds, 0.0))
            if ready:
                for _ in listen.notifies(timeout=0):
                    pass
        finally:
            self.waiting = False

    def _pause(self, seconds: float) -> None:
        """A sleep that SIGINT or SIGTERM ends."""
        self.waiting = True
        try:
            if self.stopping:
                raise Stop
            time.sleep(seconds)
        finally:
            self.waiting = False

    def _serve(self, once: bool, report, totals: Totals) -> None:
        """Connects, then delivers until stopped (or, with `once`, until nothing is due)."""
        with connect(self.url, application_name="crm-sla deliver") as listen, \
                connect(self.url, autocommit=False, application_name="crm-sla deliver") as conn, \
                httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client, \
                ThreadPoolExecutor(PARALLEL) as pool:
            listen.execute(f"listen {CHANNEL}")  # before the first pass: nothing slips by
            self.connected = True
            if not once:
                report(f"crm-sla deliver: waiting for events (pid {os.getpid()}); Ctrl-C "
                       "or SIGTERM stops it")
            while not self.stopping:
                before = (totals.delivered, totals.failed)
                while not self.stopping and deliver_batch(conn, client, pool, totals):
                    pass
                if not once and (totals.delivered, totals.failed) != before:
                    report(f"crm-sla deliver: {totals.delivered - before[0]} delivered, "
                           f"{totals.failed - before[1]} failed (to be retried or dead)")
                if once:
                    return
                row = conn.execute(NEXT_DUE_SQL).fetchone()
                conn.commit()  # hold no lock and no snapshot while waiting
                due = None if row is None else row[0]
                self._wait(listen, IDLE_WAKE_SECONDS if due is None
                           else min(float(due), IDLE_WAKE_SECONDS))

    def run(self, once: bool = False, report=print) -> Totals:
        """Delivers until SIGINT or SIGTERM (or, with `once`, until nothing is due). A lost
        database connection is made again, with backoff, once the first one succeeded: what was
        in flight rolls back and stays pending."""
        totals = Totals()
        self.connected = False
        previous = {}
        if threading.current_thread() is threading.main_thread():
            previous = {s: signal.signal(s, self._on_signal)
                        for s in (signal.SIGINT, signal.SIGTERM)}
        backoff = RECONNECT_SECONDS[0]
        try:
            while not self.stopping:
                try:
                    self._serve(once, report, totals)
                    return totals
                except (psycopg.OperationalError, HarnessError) as exc:
                    if once or not self.connected:
                        raise
                    reason = (describe_db_error(exc) if isinstance(exc, psycopg.Error)
                              else str(exc))
                    report(f"crm-sla deliver: lost the database ({reason}); connecting again "
                           f"in {backoff:g} s")
                    self._pause(backoff)
                    backoff = min(backoff * 2, RECONNECT_SECONDS[1])
        except Stop:
            pass
        except psycopg.Error as exc:
            raise HarnessError(f"delivery failed: {describe_db_error(exc)}") from None
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return totals


def run(url: str, once: bool = False) -> int:
    worker = Worker(url)
    totals = worker.run(once=once)
    if once:
        print(totals.as_json(), flush=True)
        for line in list(totals.errors)[-20:]:
            print(f"  failed {line}", flush=True)
    else:
        print("crm-sla deliver: stopped", flush=True)
    return 0
