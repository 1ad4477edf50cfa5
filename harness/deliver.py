"""`crm-sla deliver`: POSTs the engine's events to the webhooks, signed as Standard Webhooks says.

The engine writes a pending row in `crm_sla_webhook_deliveries` for every event and webhook, in the
transaction that caused the event, and announces the event on `crm_sla`. A worker LISTENs there, so
it wakes the moment such a transaction commits, and otherwise sleeps until the next retry is due.
It claims due deliveries with `FOR UPDATE SKIP LOCKED`, leases them (an attempt counted, not due
again for LEASE_SECONDS) and commits; only then does it POST them, and it records the outcomes in
a new transaction. So no row lock is held while endpoints answer (a webhook can be deleted
meanwhile), several workers never send the same delivery twice, and a worker killed mid-delivery
loses nothing (the lease ends and a worker sends it again, with the same `webhook-id`, so a
receiver can drop the duplicate). A 2xx answer marks it delivered; anything else (an answer, a
timeout, a refused address, an unusable stored row: whatever goes wrong with that one delivery)
schedules the next attempt after the attempt's delay of `crm_sla_settings.webhook_retry_delays`
(plus jitter; longer if a 429 or 503 says Retry-After), and when they run out the delivery is dead.
410 Gone deactivates the webhook. Each POST has an overall deadline and reads at most 64 kB of the
answer, undecoded (harness.outbound).
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
from email.utils import parsedate_to_datetime

import httpx
import psycopg
from standardwebhooks import Webhook

from harness import outbound, slack
from harness.errors import HarnessError
from harness.target import connect, describe_db_error

CHANNEL = "crm_sla"
DEADLINE_SECONDS = 15.0  # per POST, overall: resolve, connect, send and the whole answer
ANSWER_BYTES = 64 * 1024  # read of an answer at most (raw: never decompressed)
LEASE_SECONDS = 120.0  # a claimed delivery is not due again before (its worker died mid-POST)
BATCH = 32  # deliveries claimed at once
PARALLEL = 8  # POSTs in flight at once within a batch
IDLE_WAKE_SECONDS = 60.0  # with nothing pending, look again this often anyway
RECONNECT_SECONDS = (0.5, 10.0)  # after a lost connection: first wait, longest wait
ERROR_CHARS = 300
JITTER = 0.1  # a retry waits its delay times 1 + a random fraction up to this
RETRY_AFTER_STATUSES = (429, 503)

# Takes due deliveries of active webhooks and leases them: counted as an attempt and not due again
# before the lease ends, all in one short transaction that commits before any POST, so no lock is
# held while endpoints answer, and two workers never take the same delivery. The URL check is the
# one the webhooks' validate trigger makes.
CLAIM_SQL = """
with due as (
    select d.webhook_id, d.outbox_id
    from public.crm_sla_webhook_deliveries as d
    inner join public.crm_sla_webhooks as h on d.webhook_id = h.id
    where d.status = 'pending' and d.next_attempt_at <= pg_catalog.clock_timestamp() and h.is_active
    order by d.next_attempt_at, d.outbox_id
    limit %(batch)s
    for update of d skip locked
)
update public.crm_sla_webhook_deliveries as d
set attempts = d.attempts + 1,
    next_attempt_at = pg_catalog.clock_timestamp() + make_interval(secs => %(lease)s)
from due, public.crm_sla_webhooks as h, public.crm_sla_outbox as o, public.crm_sla_settings as s
where d.webhook_id = due.webhook_id and d.outbox_id = due.outbox_id
    and h.id = d.webhook_id and o.id = d.outbox_id
returning d.webhook_id, d.outbox_id, d.attempts, h.url, h.secret, o.payload,
    public.crm_sla_webhook_url_problem(h.url) as url_problem, s.webhook_allow_private, h.format,
    -- The names a Slack sentence uses (read only for Slack webhooks).
    case when h.format = 'slack' then (
        select jsonb_build_object(
            'lead', l.full_name, 'source', l.source,
            'agent', (select a.full_name from public.crm_agents as a where a.id = o.agent_id),
            'from_agent', (
                select a.full_name from public.crm_agents as a
                where a.id::text = o.payload ->> 'from_agent_id'
            ),
            'owner', (
                select a.full_name from public.crm_agents as a
                where a.id::text = o.payload ->> 'owner_id'
            )
        )
        from (select) as one
        left join public.crm_leads as l on o.lead_id = l.id
    ) end as names
"""

# The outcome of each attempt (counted when claimed): delivered, or the next attempt after the
# attempt's delay of the schedule (longer if the endpoint asked, within the schedule's longest)
# plus jitter, or dead when the schedule is used up. Only the worker that holds the lease records
# (same attempt count, still pending); a webhook deleted meanwhile leaves nothing to record.
RESULT_SQL = """
with r as (
    select * from unnest(%s::uuid[], %s::bigint[], %s::integer[], %s::boolean[], %s::text[],
                         %s::double precision[])
        as r (webhook_id, outbox_id, attempt, ok, error, retry_after)
), plan as (
    select r.*, s.webhook_retry_delays as delays,
        greatest(
            s.webhook_retry_delays[r.attempt],
            least(
                coalesce(make_interval(secs => r.retry_after), interval '0'),
                (select max(x) from unnest(s.webhook_retry_delays) as x)
            )
        ) * (1 + %s * random()) as wait
    from r, public.crm_sla_settings as s
)
update public.crm_sla_webhook_deliveries as d
set
    status = case
        when p.ok then 'delivered'
        when d.attempts > cardinality(p.delays) then 'dead'
        else 'pending'
    end,
    next_attempt_at = case
        when p.ok or d.attempts > cardinality(p.delays) then null
        else pg_catalog.clock_timestamp() + p.wait
    end,
    last_error = case when p.ok then d.last_error else p.error end,
    delivered_at = case when p.ok then pg_catalog.clock_timestamp() end
from plan as p
where d.webhook_id = p.webhook_id and d.outbox_id = p.outbox_id
    and d.attempts = p.attempt and d.status = 'pending'
"""

# An endpoint that answered 410 Gone wants no more: its webhook stops (its deliveries stay
# pending, and the outbox purge no longer waits for them).
GONE_SQL = """
update public.crm_sla_webhooks
set is_active = false,
    deactivated_reason = 'the endpoint answered 410 Gone at '
        || to_char(pg_catalog.clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"')
where id = any(%s::uuid[]) and is_active
"""

# Seconds until the next pending delivery of an active webhook is due (negative: overdue); no row:
# nothing pending. A leased delivery is due when its lease ends.
NEXT_DUE_SQL = """
select extract(epoch from d.next_attempt_at - pg_catalog.clock_timestamp())
from public.crm_sla_webhook_deliveries as d
inner join public.crm_sla_webhooks as h on d.webhook_id = h.id
where d.status = 'pending' and h.is_active
order by d.next_attempt_at
limit 1
"""


@dataclass
class Claimed:
    webhook_id: object
    outbox_id: int
    attempt: int
    url: str
    secret: str
    payload: dict
    url_problem: str | None
    allow_private: bool
    format: str = "standard"
    names: dict | None = None  # slack: the lead's and agents' names (harness.slack.Names)


@dataclass
class Attempt:
    webhook_id: object
    outbox_id: int
    attempt: int
    ok: bool
    error: str | None
    status: int | None = None
    retry_after: float | None = None  # seconds the endpoint asked to wait (429, 503)


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


def signatures(secret: str, msg_id: str, at: datetime, body: str) -> str:
    """One `v1,<signature>` per space-separated secret (several while rotating keys)."""
    return " ".join(Webhook(key).sign(msg_id, at, body) for key in secret.split())


def signed_request(secret: str, msg_id: str, payload: dict) -> tuple[bytes, dict[str, str]]:
    """The body and the Standard Webhooks headers for one attempt."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    at = datetime.fromtimestamp(int(time.time()), tz=UTC)
    headers = {
        "content-type": "application/json",
        "accept-encoding": "identity",
        "user-agent": "crm-sla-deliver",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures(secret, msg_id, at, body),
    }
    return body.encode(), headers


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date; None when absent or bad."""
    if not value or len(value) > 64:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def read_answer(answer: httpx.Response) -> bytes:
    """Up to ANSWER_BYTES of the answer as sent (compressed or not: never expanded)."""
    got = b""
    for chunk in answer.iter_raw():
        got += chunk
        if len(got) >= ANSWER_BYTES:
            break
    return got[:ANSWER_BYTES]


def outcome(row: Claimed, answer: httpx.Response, body: bytes) -> Attempt:
    if 200 <= answer.status_code < 300:
        return Attempt(row.webhook_id, row.outbox_id, row.attempt, True, None, answer.status_code)
    retry_after = (retry_after_seconds(answer.headers.get("retry-after"))
                   if answer.status_code in RETRY_AFTER_STATUSES else None)
    text = body[:ERROR_CHARS * 4].decode("utf-8", "replace")
    return failure(row, f"HTTP {answer.status_code}: {text.strip()}".rstrip(": "),
                   answer.status_code, retry_after)


def failure(row: Claimed, reason: str, status: int | None = None,
            retry_after: float | None = None) -> Attempt:
    """A failed attempt; its reason is stored as last_error: one line of printable text, short."""
    line = "".join(c if c.isprintable() else " " for c in reason[:ERROR_CHARS])
    return Attempt(row.webhook_id, row.outbox_id, row.attempt, False, line, status, retry_after)


def send(client: httpx.Client, backend: outbound.Backend, row: Claimed,
         stopping: threading.Event) -> Attempt:
    """One POST within the deadline; raises whatever goes wrong (post() makes it a failure)."""
    if row.url_problem:
        return failure(row, f"URL refused: {row.url_problem}")
    backend.use(outbound.Budget(time.monotonic() + DEADLINE_SECONDS, row.allow_private,
                                stopping))
    payload = row.payload
    if row.format == "slack":  # {"text": one sentence}, signed all the same
        payload = {"text": slack.sentence(row.payload, slack.Names(**(row.names or {})))}
    body, headers = signed_request(row.secret, message_id(row.webhook_id, row.outbox_id),
                                   payload)
    with client.stream("POST", row.url, content=body, headers=headers) as answer:
        return outcome(row, answer, read_answer(answer))


def post(client: httpx.Client, backend: outbound.Backend, row: Claimed,
         stopping: threading.Event) -> Attempt:
    """Sends one delivery; whatever goes wrong is this delivery's failure, never the worker's."""
    try:
        return send(client, backend, row, stopping)
    except httpx.TimeoutException:
        return failure(row, f"timeout: no complete answer within {DEADLINE_SECONDS:g} s")
    except outbound.Refused as exc:
        return failure(row, f"address refused: {exc}")
    except outbound.Stopped:
        return failure(row, "abandoned: the worker was stopped mid-POST")
    except Exception as exc:  # noqa: BLE001 - an endpoint or a stored row must not stop the worker
        return failure(row, f"{type(exc).__name__}: {str(exc) or type(exc).__name__}")


def claim(conn: psycopg.Connection) -> list[Claimed]:
    with conn.transaction():
        rows = conn.execute(CLAIM_SQL, {"batch": BATCH, "lease": LEASE_SECONDS}).fetchall()
    return [Claimed(*row) for row in rows]


def record(conn: psycopg.Connection, attempts: list[Attempt]) -> None:
    with conn.transaction():
        conn.execute(RESULT_SQL, (
            [a.webhook_id for a in attempts], [a.outbox_id for a in attempts],
            [a.attempt for a in attempts], [a.ok for a in attempts],
            [a.error for a in attempts], [a.retry_after for a in attempts], JITTER,
        ))
        gone = [a.webhook_id for a in attempts if a.status == 410]
        if gone:
            conn.execute(GONE_SQL, (gone,))


def deliver_batch(conn: psycopg.Connection, client: httpx.Client, backend: outbound.Backend,
                  pool: ThreadPoolExecutor, stopping: threading.Event, totals: Totals) -> int:
    """Claims up to one batch of due deliveries (and commits), POSTs them, then records the
    outcomes in a transaction of their own; returns how many."""
    rows = claim(conn)
    if not rows:
        return 0
    attempts = list(pool.map(lambda row: post(client, backend, row, stopping), rows))
    record(conn, attempts)
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
        self.halt = threading.Event()  # POSTs in flight look at it and give up
        self.waiting = False
        self.connections = 0  # made so far: once one has been, a lost connection is made again

    def _on_signal(self, signum, _frame) -> None:
        self.stopping = True
        self.halt.set()  # POSTs in flight are abandoned (recorded as failed attempts)
        if self.waiting:
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
        backend = outbound.Backend()
        with connect(self.url, application_name="crm-sla deliver") as listen, \
                connect(self.url, autocommit=False, application_name="crm-sla deliver") as conn, \
                outbound.client(backend, PARALLEL) as client, \
                ThreadPoolExecutor(PARALLEL) as pool:
            listen.execute(f"listen {CHANNEL}")  # before the first pass: nothing slips by
            self.connections += 1
            if not once:
                report(f"crm-sla deliver: waiting for events (pid {os.getpid()}); Ctrl-C "
                       "or SIGTERM stops it")
            while not self.stopping:
                before = (totals.delivered, totals.failed)
                while not self.stopping and deliver_batch(conn, client, backend, pool,
                                                          self.halt, totals):
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
        self.connections = 0
        previous = {}
        if threading.current_thread() is threading.main_thread():
            previous = {s: signal.signal(s, self._on_signal)
                        for s in (signal.SIGINT, signal.SIGTERM)}
        backoff = RECONNECT_SECONDS[0]
        seen = 0  # connections made when the last one was lost
        try:
            while not self.stopping:
                try:
                    self._serve(once, report, totals)
                    return totals
                except (psycopg.OperationalError, HarnessError) as exc:
                    if once or not self.connections:
                        raise
                    if self.connections > seen:  # it connected since the last loss: start over
                        backoff = RECONNECT_SECONDS[0]
                    seen = self.connections
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
