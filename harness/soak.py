"""`crm-sla soak` (`make soak`): everything at once, for a while, and proof that nothing was lost.

In a scratch database (made and dropped as the bench makes its own), with the real pg_cron monitor
job scheduled for it, `crm-sla deliver` (a subprocess) POSTing to a receiver on 127.0.0.1, the lead
board (a subprocess, for its memory) and a LISTEN observer (a process of its own, so that the load
generator's threads do not delay what it times):

- intake at `--rate` leads a second as the service role: single INSERTs, and every 15 s the last
  3 s of leads as one bulk INSERT; most unowned (routed), some with an owner given; sources that
  pick different SLA policies (one counting a business-hours calendar's open time, one routed to a
  team only, the settings' defaults for the rest);
- `--agents` simulated agents (plus one admin) that hear of their leads on `crm_sla` and claim and
  contact them after a share of the window their habit gives (prompt, steady, slow: often too
  late, away: now and then not accepting leads and not answering), with routing weights and caps;
- an admin reassigning a lead by hand every few seconds.

The monitor starts in the soak's own session (`call run_sla_monitor()`) only until pg_cron's first
minute begins, then pg_cron runs it, as in production. What it reports, from the events as the
observer received them (a notification arrives when its transaction commits):

- breach lag: from a window's expiry (the `expires_at` of the event that started the timer) to the
  commit of the reassignment, escalation or no_eligible_agent event; warning lag likewise, from
  `warn_at` of the window (policies without a calendar);
- webhook lag: from an event's commit to the receiver's arrival;
- monitor pass time: each pass that wrote events, from its transaction's start (its events' `at`,
  the SLA clock being the wall clock here) to its commit. Idle passes write nothing and are not
  seen: they cost about a millisecond (`make bench`);
- the overflow queue (open leads without an owner) over time, dead tuples and table sizes at the
  start and the end, the resident memory of `crm-sla deliver` and the board, errors by SQLSTATE.

The end checks raise (exit 2) when they fail; the goals are measured and printed, never asserted.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import multiprocessing as mp
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg

from harness import schedule, table
from harness.bench.common import RESULTS_DIR, machine, percentile, scratch_database, versions
from harness.errors import HarnessError
from harness.paths import REPO_ROOT
from harness.target import connect, describe_db_error, redact, with_database

TABLES = ("crm_leads", "crm_lead_reassignments", "crm_sla_outbox", "crm_sla_webhook_deliveries",
          "crm_sla_agent_state")
BREACH_EVENTS = ("reassigned", "escalated", "no_eligible_agent")
TIMER_EVENTS = ("assigned", "reassigned", "claimed")
SOURCES = (("web", 0.45), ("partner", 0.20), ("enterprise", 0.08), ("phone", 0.27))
HABITS = (("prompt", 0.45, (0.05, 0.5)), ("steady", 0.25, (0.3, 0.9)),
          ("slow", 0.15, (0.6, 1.5)), ("away", 0.15, (0.2, 0.8)))
NOT_ALLOWED = ("40P01", "40001")  # deadlock, serialization failure


@dataclass
class Goals:
    breach_p99_s: float = 1.0
    webhook_p99_s: float = 2.0
    pass_p99_s: float = 0.050


@dataclass
class Plan:
    minutes: float
    rate: float
    agents: int
    seed: int = 17

    @property
    def seconds(self) -> float:
        return self.minutes * 60

    @property
    def claim_window(self) -> float:
        """Seconds: short enough that many windows end within the run (20 s for a long run)."""
        return min(20.0, max(4.0, self.seconds / 8))

    @property
    def contact_window(self) -> float:
        return self.claim_window * 1.5


# -- the observer: LISTEN and the webhook receiver, in a process of its own -------------------


def observe(url: str, ready, stop, counts, out: str) -> None:
    """Records when each event's notification arrived (its commit) and each webhook POST."""
    arrivals: list[tuple[str, float]] = []

    class Receiver(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802 - the http.server API
            at = time.time()
            self.rfile.read(int(self.headers["content-length"]))
            arrivals.append((self.headers["webhook-id"], at))
            counts[1] += 1
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receipts: list[tuple[int, int, float]] = []  # first outbox id, last, arrival
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("listen crm_sla")
        ready.put(server.server_address[1])
        while not stop.is_set():
            for note in conn.notifies(timeout=0.5, stop_after=500):
                at = time.time()
                body = json.loads(note.payload)
                if body.get("event") == "batch":
                    receipts.append((body["first_outbox_id"], body["last_outbox_id"], at))
                    counts[0] += body["count"]
                elif "outbox_id" in body:
                    receipts.append((body["outbox_id"], body["outbox_id"], at))
                    counts[0] += 1
    server.shutdown()
    Path(out).write_text(json.dumps({"receipts": receipts, "arrivals": arrivals}))


# -- the soak -----------------------------------------------------------------------------------


@dataclass
class Agent:
    id: str
    habit: str
    delays: tuple[float, float]
    cap: int | None
    away: bool = False


@dataclass
class Lead:
    owner: str | None = None
    version: int = 0
    done: bool = False


@dataclass
class Findings:
    errors: Counter = field(default_factory=Counter)
    queue: list[tuple[float, int]] = field(default_factory=list)
    dead: list[tuple[float, int, int]] = field(default_factory=list)
    cap_samples: int = 0
    cap_violations: list[dict] = field(default_factory=list)
    inserted: int = 0
    singles: int = 0
    bulks: int = 0
    claims: int = 0
    contacts: int = 0
    manual: int = 0
    away_flips: int = 0
    skipped: int = 0
    board_messages: int = 0
    board_reconnects: int = 0


class Soak:
    def __init__(self, url: str, plan: Plan, report: Callable[[str], None]):
        self.url = url
        self.plan = plan
        self.report = report
        self.rng = random.Random(plan.seed)
        self.db = connect(url)  # the tables' owner
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.found = Findings()
        self.agents: dict[str, Agent] = {}
        self.admin = ""
        self.leads: dict[str, Lead] = {}
        self.actions: list[tuple[float, int, str, str, str, int]] = []
        self.seq = 0
        self.started = 0.0
        self.procs: dict[str, subprocess.Popen] = {}
        self.rss: dict[str, dict[str, int]] = defaultdict(dict)
        self.deadlocks_start = self.deadlocks_end = 0
        self.bridged: float | None = None  # when pg_cron took the monitor over (run seconds)

    # -- helpers ----------------------------------------------------------------------------
    def error(self, exc: Exception, where: str) -> None:
        code = getattr(exc, "sqlstate", None) or type(exc).__name__
        with self.lock:
            self.found.errors[code] += 1
        if code in NOT_ALLOWED:
            self.report(f"{where}: {code} {exc}")

    def session(self, role: str | None = None, sub: str | None = None) -> psycopg.Connection:
        conn = connect(self.url)
        if role:
            conn.execute(f"set role {role}")
            claims = {"role": role, **({"sub": sub} if sub else {})}
            conn.execute("select set_config('request.jwt.claims', %s, false)",
                         (json.dumps(claims),))
        return conn

    def engine_has(self, routine: str) -> bool:
        return self.db.execute("select to_regproc(%s) is not null",
                               (f"public.{routine}",)).fetchone()[0]

    # -- setup --------------------------------------------------------------------------------
    def setup(self) -> dict:
        p, rng, db = self.plan, self.rng, self.db
        db.execute("update public.crm_sla_settings set claim_window = %s, contact_window = %s, "
                   "max_reassignments = 3, warn_at = 0.5",
                   (f"{p.claim_window} seconds", f"{p.contact_window} seconds"))
        ids = [r[0] for r in db.execute(
            "insert into public.crm_agents (full_name, email) select 'Agent ' || i, "
            "'agent' || i || '@soak.example' from generate_series(1, %s) as i returning id::text",
            (p.agents,))]
        self.admin = db.execute(
            "insert into public.crm_agents (full_name, email, role) "
            "values ('Admin', 'admin@soak.example', 'admin') returning id::text").fetchone()[0]
        habits = [h for h, share, _ in HABITS for _ in range(round(share * p.agents))]
        habits += ["prompt"] * (p.agents - len(habits))
        rng.shuffle(habits)
        delays = {h: d for h, _, d in HABITS}
        for i, (agent, habit) in enumerate(zip(ids, habits, strict=False)):
            cap = (4 + i % 5) if i % 3 == 0 else None
            self.agents[agent] = Agent(agent, habit, delays[habit], cap)
            db.execute("insert into public.crm_sla_agent_routing "
                       "(agent_id, weight, max_open_leads) values (%s, %s, %s)",
                       (agent, 1 + i % 3, cap))
        cal = db.execute(
            "insert into public.crm_sla_calendars (name, time_zone) "
            "values ('Around the clock (New York)', 'America/New_York') returning id").fetchone()[0]
        db.execute("insert into public.crm_sla_calendar_hours "
                   "(calendar_id, weekday, opens, closes) "
                   "select %s, d, '00:00', '24:00' from generate_series(0, 6) as d", (cal,))
        team = db.execute("insert into public.crm_sla_teams (name) values ('Enterprise') "
                          "returning id").fetchone()[0]
        # The team is the capped agents: its leads wait in the overflow queue when all of them
        # are at their cap (or away).
        capped = [a.id for a in self.agents.values() if a.cap is not None]
        db.execute("insert into public.crm_sla_team_members (team_id, agent_id) "
                   "select %s, unnest(%s::uuid[])", (team, capped))
        cw, tw = p.claim_window, p.contact_window
        policies = [
            ("Web", 10, {"source": "web"}, cw, tw, 0.5, None, None),
            ("Partner (calendar)", 20, {"source": "partner"}, cw * 1.25, tw, 0.6, cal, None),
            ("Enterprise (team)", 30, {"source": "enterprise"}, cw * 1.5, tw * 1.5, 0.5, None,
             team),
        ]
        for name, prio, match, c, t, warn, calendar, team_id in policies:
            db.execute(
                "insert into public.crm_sla_policies (name, priority, match, claim_window, "
                "contact_window, max_reassignments, warn_at, calendar_id, team_id) "
                "values (%s, %s, %s, %s, %s, 3, %s, %s, %s)",
                (name, prio, json.dumps(match), f"{c} seconds", f"{t} seconds", warn, calendar,
                 team_id))
        db.execute("vacuum analyze")
        return {"claim_window_s": cw, "contact_window_s": tw,
                "policies": [n for n, *_ in policies] + ["settings' defaults (phone)"],
                "capped_agents": sum(a.cap is not None for a in self.agents.values()),
                "habits": dict(Counter(a.habit for a in self.agents.values()))}

    # -- the table's state ----------------------------------------------------------------------
    def tables(self) -> dict:
        rows = self.db.execute(
            "select s.relname, s.n_live_tup, s.n_dead_tup, s.autovacuum_count, "
            "pg_total_relation_size(s.relid) from pg_stat_user_tables as s "
            "where s.schemaname = 'public' and s.relname = any(%s)", (list(TABLES),)).fetchall()
        return {r[0]: {"live": r[1], "dead": r[2], "autovacuums": r[3], "bytes": r[4]}
                for r in rows}

    def sample_rss(self, when: str) -> None:
        for name, proc in self.procs.items():
            with contextlib.suppress(OSError, ValueError):
                for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.rss[name][when] = int(line.split()[1]) * 1024

    # -- load -----------------------------------------------------------------------------------
    def intake(self) -> None:
        p, rng = self.plan, random.Random(self.plan.seed + 1)
        sources = [s for s, _ in SOURCES]
        weights = [w for _, w in SOURCES]
        owners = [a.id for a in self.agents.values() if a.cap is None]
        insert = ("insert into public.crm_leads (assigned_agent_id, full_name, email, source) "
                  "select * from unnest(%s::uuid[], %s::text[], %s::text[], %s::text[])")
        n = 0
        tokens = 0.0
        last = time.monotonic()
        with contextlib.closing(self.session("service_role")) as conn:
            while not self.stop.is_set():
                now = time.monotonic()
                tokens += (now - last) * p.rate
                last = now
                # The last 3 s of every 15 are held back and go in as one bulk INSERT.
                if (now - self.started) % 15 < 12:
                    take = int(tokens)
                    bulk = take > p.rate * 2
                    rows = ([rng.choice(owners) if rng.random() < 0.25 else None
                             for _ in range(take)], [f"Lead {n + i}" for i in range(take)],
                            [f"lead{n + i}@soak.example" for i in range(take)],
                            rng.choices(sources, weights, k=take))
                    try:
                        if bulk:
                            conn.execute(insert, rows)
                        else:
                            for row in zip(*rows, strict=True):
                                conn.execute(insert, [[v] for v in row])
                    except psycopg.Error as exc:
                        self.error(exc, "intake")
                    else:
                        with self.lock:
                            self.found.inserted += take
                            self.found.bulks += bulk
                            self.found.singles += 0 if bulk else take
                    tokens -= take
                    n += take
                time.sleep(0.05)

    def hear(self) -> None:
        """The agents' ears: every event on crm_sla (bulk ones read from the outbox)."""
        with contextlib.closing(connect(self.url)) as conn, \
                contextlib.closing(connect(self.url)) as reader:
            conn.execute("listen crm_sla")
            while not self.stop.is_set():
                for note in conn.notifies(timeout=0.3, stop_after=200):
                    body = json.loads(note.payload)
                    if body.get("event") == "batch":
                        events = [r[0] for r in reader.execute(
                            "select payload from public.crm_sla_outbox where id between %s and %s "
                            "order by id", (body["first_outbox_id"], body["last_outbox_id"]))]
                    else:
                        events = [body]
                    for event in events:
                        self.heard(event)

    def heard(self, event: dict) -> None:
        kind, lead_id, agent = event["event"], event.get("lead_id"), event.get("agent_id")
        if lead_id is None:
            return
        with self.lock:
            lead = self.leads.setdefault(lead_id, Lead())
            if kind in ("warning", "no_eligible_agent"):
                return  # the owner keeps what it was doing
            lead.version += 1
            if kind in ("assigned", "reassigned", "claimed"):
                lead.owner = agent
            lead.done = kind in ("contacted", "escalated")
            action = {"assigned": "claim", "reassigned": "claim", "claimed": "contact"}.get(kind)
            who = self.agents.get(agent or "")
            if action is None or who is None or event.get("expires_at") is None:
                return
            window = (datetime.fromisoformat(event["expires_at"])
                      - datetime.fromisoformat(event["at"])).total_seconds()
            delay = self.rng.uniform(*who.delays) * min(max(window, 0.0), 60.0)
            self.seq += 1
            heapq.heappush(self.actions, (time.monotonic() + delay, self.seq, action, lead_id,
                                          agent, lead.version))

    def act(self) -> None:
        """An agent's hands: claims and first contacts when they fall due."""
        with contextlib.closing(self.session("authenticated")) as conn:
            while not self.stop.is_set():
                with self.lock:
                    due = self.actions[0] if self.actions and (
                        self.actions[0][0] <= time.monotonic()) else None
                    if due:
                        heapq.heappop(self.actions)
                        _, _, action, lead_id, agent, version = due
                        lead = self.leads[lead_id]
                        if lead.version != version or self.agents[agent].away:
                            self.found.skipped += 1
                            due = None
                if due is None:
                    time.sleep(0.02)
                    continue
                fn = "claim_lead" if action == "claim" else "complete_first_action"
                try:
                    conn.execute("select set_config('request.jwt.claims', %s, false)",
                                 (json.dumps({"role": "authenticated", "sub": agent}),))
                    conn.execute(f"select public.{fn}(%s)", (lead_id,))
                except psycopg.Error as exc:
                    self.error(exc, action)
                else:
                    with self.lock:
                        if action == "claim":
                            self.found.claims += 1
                        else:
                            self.found.contacts += 1

    def manage(self) -> None:
        """The admin: a hand reassignment every 2 s (to an agent without a cap), and agents of
        the `away` habit going away and coming back."""
        uncapped = [a.id for a in self.agents.values() if a.cap is None]
        flippers = [a for a in self.agents.values() if a.habit == "away"]
        with contextlib.closing(self.session("authenticated", self.admin)) as conn:
            tick = 0
            while not self.stop.wait(1.0):
                tick += 1
                if tick % 2 == 0:
                    with self.lock:
                        open_ = [k for k, v in list(self.leads.items())[-500:]
                                 if not v.done and v.owner]
                    if open_:
                        lead = self.rng.choice(open_)
                        to = self.rng.choice([a for a in uncapped if a != self.leads[lead].owner])
                        try:
                            conn.execute("select public.reassign_lead(%s, %s, 'soak: by hand')",
                                         (lead, to))
                        except psycopg.Error as exc:
                            self.error(exc, "reassign_lead")
                        else:
                            with self.lock:
                                self.found.manual += 1
                if tick % 5 == 0:
                    for agent in flippers:
                        if self.rng.random() < 0.3:
                            agent.away = not agent.away
                            try:
                                self.db_flip(agent)
                            except psycopg.Error as exc:
                                self.error(exc, "away")
                            with self.lock:
                                self.found.away_flips += 1

    def db_flip(self, agent: Agent) -> None:
        with contextlib.closing(connect(self.url)) as conn:
            conn.execute("update public.crm_agents set accepting_leads = %s where id = %s",
                         (not agent.away, agent.id))

    def sample(self, counts, caps_enforced: bool) -> None:
        """Every second: the overflow queue, agents over their cap, dead tuples; a progress line
        every 5 s."""
        next_line = 5.0
        with contextlib.closing(connect(self.url)) as conn:
            while not self.stop.wait(1.0):
                t = time.monotonic() - self.started
                try:
                    queue = conn.execute(
                        "select count(*) from public.crm_leads where assigned_agent_id is null "
                        "and not first_action_completed").fetchone()[0]
                    over = conn.execute(
                        "select r.agent_id::text, r.max_open_leads, count(*) "
                        "from public.crm_sla_agent_routing as r "
                        "inner join public.crm_leads as l on r.agent_id = l.assigned_agent_id "
                        "where r.max_open_leads is not null and not l.first_action_completed "
                        "and l.sla_escalated_at is null "
                        "group by r.agent_id, r.max_open_leads "
                        "having count(*) > r.max_open_leads").fetchall()
                    dead = conn.execute(
                        "select n_live_tup, n_dead_tup from pg_stat_user_tables "
                        "where relid = 'public.crm_leads'::regclass").fetchone()
                except psycopg.Error as exc:
                    self.error(exc, "sampler")
                    continue
                with self.lock:
                    self.found.queue.append((round(t, 1), queue))
                    self.found.dead.append((round(t, 1), dead[0], dead[1]))
                    self.found.cap_samples += 1
                    self.found.cap_violations.extend(
                        {"t": round(t, 1), "agent": a, "cap": c, "open": n} for a, c, n in over)
                if t >= next_line:
                    next_line += 5.0
                    f = self.found
                    self.report(
                        f"{t:5.0f} s: {f.inserted:,} leads in ({f.bulks} bulk), "
                        f"{int(counts[0]):,} events, {int(counts[1]):,} webhooks, "
                        f"{f.claims:,} claims, {f.contacts:,} contacts, {f.manual} by hand, "
                        f"{f.board_messages:,} board updates, "
                        f"queue {queue}, over cap {len(over)}"
                        f"{'' if caps_enforced else ' (caps not enforced)'}, "
                        f"errors {dict(f.errors) or 0}")

    def watch_board(self, log: Path) -> None:
        """A manager's tab on the board: its Server-Sent Events stream, read to the end."""
        import re

        import httpx

        deadline = time.monotonic() + 20
        found = None
        while found is None and time.monotonic() < deadline and not self.stop.is_set():
            found = re.search(r"(http://\S+)/\?token=(\S+)", log.read_text())
            time.sleep(0.2)
        if found is None:
            self.error(HarnessError("the board never printed its address"), "board")
            return
        base, token = found.groups()
        while not self.stop.is_set():  # a page that falls behind is dropped: it reconnects
            try:
                with httpx.stream("GET", f"{base}/events", timeout=None,
                                  headers={"Authorization": f"Bearer {token}"}) as answer:
                    answer.raise_for_status()
                    for line in answer.iter_lines():
                        if line.startswith("data:"):
                            with self.lock:
                                self.found.board_messages += 1
            except httpx.HTTPError as exc:
                if not self.stop.is_set():
                    self.error(exc, "board")
                return
            with self.lock:
                self.found.board_reconnects += 1

    # -- processes --------------------------------------------------------------------------------
    def spawn(self, name: str, *args: str, log: Path) -> None:
        env = dict(os.environ, DATABASE_URL=self.url)
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", *args], cwd=REPO_ROOT, env=env,
            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)

    def end(self, name: str) -> str:
        proc = self.procs[name]
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return f"exit {proc.returncode}"


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50_s": percentile(values, 0.5), "p99_s": percentile(values, 0.99),
            "max_s": max(values)}


def thirds(samples: list[tuple[float, float]], seconds: float) -> tuple[list, list]:
    first = [v for t, v in samples if t < seconds / 3]
    last = [v for t, v in samples if t >= 2 * seconds / 3]
    return first, last


def grew(samples: list[tuple[float, float]], seconds: float) -> dict:
    """Did the median grow from the first third of the run to the last? (Growth: more than
    twice as long and a quarter of a second more, so that a noisy machine's jitter is not it.)"""
    first, last = thirds(samples, seconds)
    if len(first) < 5 or len(last) < 5:
        return {"grew": None, "first_p50_s": None, "last_p50_s": None}
    a, b = statistics.median(first), statistics.median(last)
    return {"grew": b > 2 * a + 0.25, "first_p50_s": a, "last_p50_s": b}


def analyse(db: psycopg.Connection, seen: dict, t0_wall: float, seconds: float,
            webhook: str) -> dict:
    """Lags and pass times from the outbox and what the observer saw."""
    receipt: dict[int, float] = {}
    for first, last, at in seen["receipts"]:
        for i in range(first, last + 1):
            receipt.setdefault(i, at)
    warn_at = dict(db.execute(
        "select l.id::text, case when p.id is null then s.warn_at::float8 "
        "when p.calendar_id is null then p.warn_at::float8 end "
        "from public.crm_leads as l cross join public.crm_sla_settings as s "
        "left join public.crm_sla_policies as p on l.sla_policy_id = p.id").fetchall())
    timer: dict[str, tuple[datetime, datetime]] = {}
    handled: set[str] = set()  # leads whose running timer's breach was acted on already
    deferred: list[float] = []  # flagged leads moved later, once an agent was eligible
    breach: list[tuple[float, float]] = []
    worst: list[dict] = []
    warning: list[tuple[float, float]] = []
    passes: dict[str, float] = {}
    missing = 0
    for oid, payload in db.execute(
            "select id, payload from public.crm_sla_outbox order by id"):
        kind, lead = payload["event"], payload.get("lead_id")
        got = receipt.get(oid)
        if got is None:
            missing += 1
            continue
        by_monitor = kind in ("escalated", "warning", "no_eligible_agent") or (
            kind == "reassigned" and payload.get("reason") != "manual")
        at = datetime.fromisoformat(payload["at"])
        if by_monitor:
            key = payload["at"]
            passes[key] = min(passes.get(key, got), got)
        if by_monitor and kind in BREACH_EVENTS and lead in timer and lead in handled:
            # Flagged at its breach (no eligible agent), moved now: not a lag of the monitor's.
            deferred.append(got - timer[lead][1].timestamp())
        elif by_monitor and kind in BREACH_EVENTS and lead in timer:
            expiry = timer[lead][1].timestamp()
            if expiry <= at.timestamp() + 0.001:  # its timer ended (not a queue lead's first)
                handled.add(lead)
                breach.append((expiry - t0_wall, got - expiry))
                worst.append({"lag_s": got - expiry, "pass_start_s": at.timestamp() - expiry,
                              "outbox_id": oid, "event": kind, "lead_id": lead,
                              "reason": payload.get("reason"), "stage": payload.get("stage"),
                              "expired": timer[lead][1].isoformat(), "at": payload["at"],
                              "t_s": round(expiry - t0_wall, 1)})
                worst = sorted(worst, key=lambda w: -w["lag_s"])[:20]
        if kind == "warning" and lead in timer and warn_at.get(lead) is not None:
            start, expiry = timer[lead]
            instant = start.timestamp() + warn_at[lead] * (expiry - start).total_seconds()
            warning.append((instant - t0_wall, got - instant))
        if kind in TIMER_EVENTS and payload.get("expires_at"):
            timer[lead] = (at, datetime.fromisoformat(payload["expires_at"]))
            handled.discard(lead)
        elif kind in ("contacted", "escalated"):
            timer.pop(lead, None)
    pass_times = [got - datetime.fromisoformat(at).timestamp() for at, got in passes.items()]
    arrivals = [(int(wid.split(".")[1]), at) for wid, at in seen["arrivals"]
                if wid.split(".")[0] == webhook]
    hook = [(receipt[o] - t0_wall, at - receipt[o]) for o, at in arrivals if o in receipt]
    return {
        "breach": breach, "worst_breaches": worst, "deferred": deferred, "warning": warning,
        "webhook": hook,
        "pass_times": pass_times,
        "unreceived_notifications": missing, "arrivals": arrivals,
    }


def checks(db: psycopg.Connection, soak: Soak, seen: dict, lags: dict, webhook: str,
           seconds: float, cron_failures: list[str], deliver_log: str, caps: bool,
           routing_explained: bool) -> list[tuple[str, bool | None, str]]:
    out: list[tuple[str, bool | None, str]] = []
    # 1. an owner, or in the queue for a reason
    unowned = [r[0] for r in db.execute(
        "select id::text from public.crm_leads where assigned_agent_id is null "
        "and not first_action_completed")]
    unexplained = []
    for lead in unowned:
        if routing_explained:
            eligible = db.execute("select count(*) from public.crm_sla_explain_routing(%s) "
                                  "where eligible", (lead,)).fetchone()[0]
            if eligible:
                unexplained.append(lead)
        elif not db.execute("select exists (select from public.crm_sla_outbox where lead_id = %s "
                            "and event = 'no_eligible_agent')", (lead,)).fetchone()[0]:
            unexplained.append(lead)
    total = db.execute("select count(*) from public.crm_leads").fetchone()[0]
    out.append(("every lead has an owner or waits in the queue for a reason", not unexplained,
                f"{total:,} leads, {len(unowned)} unowned, {len(unexplained)} without a reason"
                + (f" (e.g. {unexplained[0]})" if unexplained else "")))
    # 2. reassignment_count and the audit trail agree; the owner is the last row's to_agent_id
    bad = db.execute(
        """
        select count(*) filter (where coalesce(l.reassignment_count, 0) <> coalesce(a.n, 0)),
            count(*) filter (where a.n > 0 and l.assigned_agent_id is distinct from a.last_to)
        from public.crm_leads as l
        left join (
            select lead_id, count(*) as n,
                (array_agg(to_agent_id order by created_at desc, id desc))[1] as last_to
            from public.crm_lead_reassignments group by lead_id
        ) as a on l.id = a.lead_id
        """).fetchone()
    moved = db.execute("select count(*) from public.crm_lead_reassignments").fetchone()[0]
    out.append(("reassignment_count = audit rows, owner = last row's to_agent_id",
                bad == (0, 0), f"{moved:,} audit rows; {bad[0]} counts differ, "
                f"{bad[1]} owners differ"))
    # 3. caps
    f = soak.found
    if caps:
        out.append(("no agent above its cap (sampled every second)", not f.cap_violations,
                    f"{f.cap_samples} samples, {len(f.cap_violations)} agent-samples over"
                    + (f" (e.g. {f.cap_violations[0]})" if f.cap_violations else "")))
    else:
        out.append(("no agent above its cap (sampled every second)", None,
                    f"not checked: this engine has no caps yet (crm_sla_explain_routing "
                    f"missing); {len(f.cap_violations)} agent-samples over"))
    # 4. webhooks: every event exactly once
    wanted = {r[0] for r in db.execute(
        "select outbox_id from public.crm_sla_webhook_deliveries where webhook_id = %s",
        (webhook,))}
    got = Counter(o for o, _ in lags["arrivals"])
    dup = sum(1 for n in got.values() if n > 1)
    lost = len(wanted - set(got))
    extra = len(set(got) - wanted)
    out.append(("every webhook event received exactly once (receiver-side ids)",
                dup == 0 and lost == 0 and extra == 0 and bool(wanted),
                f"{len(wanted):,} events; {lost} never received, {dup} received twice, "
                f"{extra} unexpected"))
    # 5. no deadlock or serialization failure anywhere
    deadlocks = soak.deadlocks_end - soak.deadlocks_start
    ours = {c: n for c, n in f.errors.items() if c in NOT_ALLOWED}
    cron_bad = [m for m in cron_failures if "deadlock" in m or "serializ" in m]
    log_bad = [ln for ln in deliver_log.splitlines() if "deadlock" in ln or "serializ" in ln
               or "40P01" in ln or "40001" in ln]
    out.append(("no deadlock or serialization failure in any session",
                not ours and deadlocks == 0 and not cron_bad and not log_bad,
                f"pg_stat_database.deadlocks +{deadlocks}; soak sessions {ours or 'none'}; "
                f"pg_cron runs {len(cron_bad)}; crm-sla deliver {len(log_bad)}"))
    # 6. lag did not grow
    growth = {k: grew(lags[k], seconds) for k in ("breach", "webhook")}
    flat = all(g["grew"] is not True for g in growth.values())
    known = all(g["grew"] is not None for g in growth.values())
    out.append(("lag did not grow from the first third to the last", flat if known else None,
                "; ".join(f"{k} p50 {_fmt(g['first_p50_s'])} -> {_fmt(g['last_p50_s'])}"
                          for k, g in growth.items())))
    return out


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def _lag(figures: dict) -> str:
    if not figures.get("n"):
        return "none"
    return (f"p50 {_fmt(figures['p50_s'])}, p99 {_fmt(figures['p99_s'])}, "
            f"max {_fmt(figures['max_s'])} ({figures['n']:,})")


def _mb(n: int | None) -> str:
    return "-" if n is None else f"{n / 1048576:.1f} MB"


def run(url: str, minutes: float = 10, rate: float = 50, agents: int = 40, seed: int = 17,
        out: Path | None = None, report: Callable[[str], None] | None = None) -> dict:
    """Runs the soak against the server of `url`; returns the JSON written. Raises HarnessError
    when an end check fails."""
    if report is None:
        def report(msg: str) -> None:
            print(f"soak: {msg}", file=sys.stderr, flush=True)
    if minutes <= 0 or rate <= 0 or agents < 4:
        raise HarnessError("soak needs --minutes > 0, --rate > 0 and --agents >= 4")
    plan = Plan(minutes, rate, agents, seed)
    started = datetime.now(UTC)
    header = {"started_at": started.isoformat(), "target": redact(url), "machine": machine(),
              **versions(url), "minutes": minutes, "rate": rate, "agents": agents, "seed": seed}
    folder = out or RESULTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    logs = folder / f"soak-{started.strftime('%Y%m%dT%H%M%SZ')}"
    with scratch_database(url, report, kind="soak") as scratch:
        header["scratch_database"] = psycopg.conninfo.conninfo_to_dict(scratch)["dbname"]
        try:
            result = _run(scratch, plan, header, logs, report)
        except psycopg.Error as exc:
            raise HarnessError(f"soak failed: {describe_db_error(exc)}") from None
    path = folder / f"soak-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(render(result))
    print(f"\nfigures written to {path}")
    failed = [c["check"] for c in result["checks"] if c["passed"] is False]
    if failed:
        raise HarnessError(f"soak: {len(failed)} check(s) failed: {'; '.join(failed)}")
    return result


def _run(url: str, plan: Plan, header: dict, logs: Path, report) -> dict:
    soak = Soak(url, plan, report)
    db = soak.db
    header["setup"] = soak.setup()
    caps = soak.engine_has("crm_sla_explain_routing")
    header["engine"] = {"routing_v2": caps}
    ctx = mp.get_context("spawn")
    ready, stop_obs, counts = ctx.Queue(), ctx.Event(), ctx.Array("d", 2)
    logs.mkdir(parents=True, exist_ok=True)
    seen_path = logs / "observer.json"
    observer = ctx.Process(target=observe, args=(url, ready, stop_obs, counts, str(seen_path)),
                           daemon=True)
    observer.start()
    port = ready.get(timeout=30)
    webhook = db.execute("insert into public.crm_sla_webhooks (url) values (%s) returning id::text",
                         (f"http://127.0.0.1:{port}/soak",)).fetchone()[0]
    soak.spawn("deliver", "deliver", log=logs / "deliver.log")
    soak.spawn("board", "board", "--port", "0", log=logs / "board.log")
    info, jobid = schedule.schedule_monitor(url)
    if jobid is None:
        raise HarnessError(f"the soak needs pg_cron: {info.reason}")
    cron_url = with_database(url, info.cron_database)
    # Until pg_cron's first run: the same procedure in a session of our own.
    bridge = threading.Thread(target=_bridge, args=(url, cron_url, jobid, soak), daemon=True)
    time.sleep(2.0)  # the subprocesses are up and listening
    soak.deadlocks_start = _deadlocks(db)
    start_tables = soak.tables()
    soak.sample_rss("start")
    soak.started = time.monotonic()
    t0_wall = time.time()
    report(f"running {plan.minutes:g} min at {plan.rate:g} leads/s with {plan.agents} agents "
           f"(windows {plan.claim_window:g} s / {plan.contact_window:g} s); pg_cron job {jobid} "
           "takes the monitor over at its first run")
    threads = [threading.Thread(target=t, daemon=True) for t in
               (soak.hear, soak.act, soak.act, soak.act, soak.manage)]
    threads.append(threading.Thread(target=soak.sample, args=(counts, caps), daemon=True))
    viewer = threading.Thread(target=soak.watch_board, args=(logs / "board.log",), daemon=True)
    viewer.start()
    bridge.start()
    for t in threads:
        t.start()
    time.sleep(0.5)
    intake = threading.Thread(target=soak.intake, daemon=True)
    intake.start()
    try:
        while time.monotonic() - soak.started < plan.seconds:
            time.sleep(0.5)
            for name, proc in soak.procs.items():
                if proc.poll() is not None:
                    raise HarnessError(f"{name} ended early ({proc.returncode}); see {logs}")
    finally:
        soak.sample_rss("end")
        soak.stop.set()
        for t in (intake, *threads):
            t.join(15)
    elapsed = time.monotonic() - soak.started
    report("load stopped; pausing the monitor and waiting for the last deliveries")
    pause = connect(url)
    with contextlib.closing(pause):
        from harness import monitor

        with monitor.paused(pause, by="crm-sla soak"):
            header["routed_after_the_load"] = _settle(db)
            deadline = time.monotonic() + 60
            while db.execute("select count(*) from public.crm_sla_webhook_deliveries "
                             "where status = 'pending'").fetchone()[0]:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            time.sleep(1.0)  # the last POSTs' answers and notifications
            stop_obs.set()
            observer.join(30)
            ended = {name: soak.end(name) for name in list(soak.procs)}
            soak.deadlocks_end = _deadlocks(db)
            end_tables = soak.tables()
            schedule.unschedule_monitor(url)
            with contextlib.closing(connect(cron_url)) as cron:
                runs = cron.execute(
                    "select status, coalesce(return_message, ''), "
                    "extract(epoch from end_time - start_time) from cron.job_run_details "
                    "where jobid = %s", (jobid,)).fetchall()
                cron.execute("delete from cron.job_run_details where jobid = %s", (jobid,))
            seen = json.loads(seen_path.read_text())
            lags = analyse(db, seen, t0_wall, elapsed, webhook)
            header["engine"]["policies_chosen"] = _policies_used(db)
            deliver_log = (logs / "deliver.log").read_text()
            result_checks = checks(
                db, soak, seen, lags, webhook, elapsed,
                [m for s, m, _ in runs if s == "failed"], deliver_log, caps, caps)
    return assemble(header, plan, soak, lags, result_checks, start_tables, end_tables, runs,
                    ended, elapsed)


def _settle(db: psycopg.Connection) -> int:
    """With the load stopped and the scheduled monitor paused: passes of our own until one routes
    no waiting lead, so that a lead still unowned has no eligible agent (a slot freed by the last
    scheduled pass is taken). Returns how many leads these passes routed."""
    total = 0
    for _ in range(10):
        result = db.execute("select public.process_sla_timers()").fetchone()[0]
        total += int(result.get("routed", 0))
        moved = sum(int(result.get(k, 0)) for k in ("unclaimed", "no_contact", "escalated"))
        if not result.get("routed") and not moved:  # a move frees a slot for the next pass
            break
    return total


def _policies_used(db: psycopg.Connection) -> bool:
    return db.execute("select exists (select from public.crm_leads "
                      "where sla_policy_id is not null)").fetchone()[0]


def _deadlocks(db: psycopg.Connection) -> int:
    return db.execute("select deadlocks from pg_stat_database "
                      "where datname = current_database()").fetchone()[0]


def _bridge(url: str, cron_url: str, jobid: int, soak: Soak) -> None:
    """The monitor in a session of our own until pg_cron has started its job (pg_cron 1.4 may
    skip the first minute after a job is made): the same procedure, ending a second before each
    minute so that pg_cron's call finds the lock free, then watching whether pg_cron started."""
    try:
        with contextlib.closing(connect(url)) as conn, \
                contextlib.closing(connect(cron_url)) as cron:
            while not soak.stop.is_set():
                now = time.time()
                boundary = (now // 60 + 1) * 60
                if boundary - now > 1.5:
                    conn.execute("call public.run_sla_monitor(%s::interval)",
                                 (f"{boundary - now - 1.0:.3f} seconds",))
                while time.time() < boundary + 1.5:
                    if cron.execute("select exists (select from cron.job_run_details "
                                    "where jobid = %s)", (jobid,)).fetchone()[0]:
                        soak.bridged = time.monotonic() - soak.started
                        return
                    time.sleep(0.1)
    except psycopg.Error as exc:
        soak.error(exc, "monitor (bridge)")


def assemble(header, plan, soak, lags, result_checks, start_tables, end_tables, runs, ended,
             elapsed) -> dict:
    goals = Goals()
    f = soak.found
    breach = percentiles([v for _, v in lags["breach"]])
    warning = percentiles([v for _, v in lags["warning"]])
    hook = percentiles([v for _, v in lags["webhook"]])
    passes = percentiles(lags["pass_times"])
    growth = {k: grew(lags[k], elapsed) for k in ("breach", "webhook")}
    # Bounded: autovacuum keeps up, so the dead tuples of crm_leads (sampled every second) do
    # not keep growing: the last third's peak is within 1.5 x the middle third's + 1,000.
    middle = [d for t, _, d in f.dead if elapsed / 3 <= t < 2 * elapsed / 3]
    last = [d for t, _, d in f.dead if t >= 2 * elapsed / 3]
    bounded = None if not middle or not last else max(last) <= 1.5 * max(middle) + 1000
    queue = [n for _, n in f.queue]
    goal_rows = [
        ("breach lag p99 <= 1 s", breach.get("p99_s"), goals.breach_p99_s),
        ("webhook lag p99 <= 2 s", hook.get("p99_s"), goals.webhook_p99_s),
        ("monitor pass p99 <= 50 ms", passes.get("p99_s"), goals.pass_p99_s),
    ]
    goal_list = [{"goal": g, "met": None if v is None else v <= limit, "value_s": v}
                 for g, v, limit in goal_rows]
    goal_list.append({"goal": "no lag growth",
                      "met": None if any(g["grew"] is None for g in growth.values())
                      else not any(g["grew"] for g in growth.values())})
    goal_list.append({"goal": "dead tuples bounded (crm_leads: last third's peak <= 1.5 x the "
                      "middle third's + 1000)",
                      "met": bounded})
    durations = [float(d) for _, _, d in runs if d is not None]
    return {
        **header, "seconds": round(elapsed, 1),
        "load": {"leads": f.inserted, "single_inserts": f.singles, "bulk_inserts": f.bulks,
                 "claims": f.claims, "contacts": f.contacts, "by_hand": f.manual,
                 "away_flips": f.away_flips, "actions_skipped": f.skipped,
                 "board_updates": f.board_messages, "board_reconnects": f.board_reconnects},
        "breach_lag": breach, "worst_breaches": lags["worst_breaches"],
        "flagged_then_moved": percentiles(lags["deferred"]), "warning_lag": warning,
        "webhook_lag": hook,
        "monitor_pass": {**passes, "how": "commit (notification arrival) minus the pass's "
                         "transaction start, passes that wrote events"},
        "pg_cron_runs": {"n": len(runs), "failed": sum(1 for s, *_ in runs if s == "failed"),
                         "took_over_after_s": soak.bridged,
                         "longest_s": max(durations, default=None)},
        "lag_growth": growth,
        "overflow_queue": {"max": max(queue, default=0), "mean": statistics.fmean(queue)
                           if queue else 0, "samples": f.queue},
        "dead_tuples_crm_leads": f.dead,
        "tables_start": start_tables, "tables_end": end_tables,
        "rss_bytes": dict(soak.rss), "processes": ended,
        "errors_by_sqlstate": dict(f.errors),
        "unreceived_notifications": lags["unreceived_notifications"],
        "checks": [{"check": c, "passed": ok, "detail": d} for c, ok, d in result_checks],
        "goals": goal_list,
    }


def render(r: dict) -> str:
    m = r["machine"]
    lines = [f"crm-sla soak: {r['minutes']:g} min at {r['rate']:g} leads/s, {r['agents']} agents; "
             f"PostgreSQL {r['postgres']}, pg_cron {r['pg_cron']}; {m['nproc']} cores, {m['cpu']}"]
    q = r["overflow_queue"]
    queue_line = " ".join(str(n) for _, n in q["samples"][:: max(1, len(q["samples"]) // 12)])
    ld = r["load"]
    rows = [
        ("load", f"{ld['leads']:,} leads ({ld['bulk_inserts']} bulk INSERTs), "
                 f"{ld['claims']:,} claims, {ld['contacts']:,} contacts, {ld['by_hand']} by hand, "
                 f"{ld['board_updates']:,} board updates read "
                 f"({ld.get('board_reconnects', 0)} reconnects)"),
        ("breach lag", _lag(r["breach_lag"])),
        ("warning lag", _lag(r["warning_lag"]) if r["warning_lag"]["n"]
         else "no warning events from this engine"),
        ("flagged, moved later", _lag(r["flagged_then_moved"]) + " (breach to the move, once "
         "an agent was eligible)" if r["flagged_then_moved"].get("n") else "none"),
        ("webhook lag", _lag(r["webhook_lag"])),
        ("monitor pass", _lag(r["monitor_pass"])),
        ("pg_cron runs", f"{r['pg_cron_runs']['n']} ({r['pg_cron_runs']['failed']} failed); "
         + ("the monitor ran in the soak's session until pg_cron's first run, "
            f"{r['pg_cron_runs']['took_over_after_s']:.0f} s in"
            if r["pg_cron_runs"]["took_over_after_s"] is not None
            else "pg_cron never ran within the run: the monitor ran in the soak's session")),
        ("overflow queue", f"max {q['max']}, mean {q['mean']:.1f}; over time: {queue_line}"),
    ]
    for name in TABLES:
        a, b = r["tables_start"].get(name), r["tables_end"].get(name)
        if a and b:
            rows.append((f"{name}", f"live {a['live']:,} -> {b['live']:,}, dead {a['dead']:,} -> "
                         f"{b['dead']:,}, {_mb(a['bytes'])} -> {_mb(b['bytes'])}, "
                         f"autovacuum x{b['autovacuums'] - a['autovacuums']}"))
    for name, rss in r["rss_bytes"].items():
        rows.append((f"RSS {name}", f"{_mb(rss.get('start'))} -> {_mb(rss.get('end'))}"))
    rows.append(("errors by SQLSTATE", ", ".join(f"{k} x{v}" for k, v in
                                                 sorted(r["errors_by_sqlstate"].items()))
                 or "none"))
    out = [*lines, table.render(("measure", "figure"), rows), ""]
    out.append(table.render(
        ("end check", "result", "detail"),
        [(c["check"], {True: "passed", False: "FAILED", None: "skipped"}[c["passed"]],
          c["detail"]) for c in r["checks"]]))
    out.append("")
    out.append(table.render(
        ("goal", "result", "figure"),
        [(g["goal"], {True: "met", False: "MISSED", None: "-"}[g["met"]],
          _fmt(g.get("value_s")) if g.get("value_s") is not None else "") for g in r["goals"]]))
    return "\n".join(out)
