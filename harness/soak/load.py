"""The load: intake as the service role, simulated agents who hear of their leads and claim,
decline and contact them (or not) as their habit says, an admin reassigning by hand, agents going
away and coming back and booking absences of their own, a sampler of the overflow queue, caps and
dead tuples, and a manager's tab on the board. Everything it sees goes into its Findings."""

from __future__ import annotations

import contextlib
import heapq
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg

from harness.errors import HarnessError
from harness.paths import REPO_ROOT
from harness.soak.plan import (
    ACCOUNTS,
    DECLINE_SHARE,
    HABITS,
    MANAGERS,
    NOT_ALLOWED,
    PAUSE_WHEN,
    SNOOZE_SHARE,
    SOURCES,
    STEPS,
    TABLES,
    WAIT_SHARE,
    Plan,
)
from harness.target import connect


@dataclass
class Agent:
    id: str
    habit: str
    delays: tuple[float, float]
    cap: int | None
    away: bool = False
    absent: tuple[float, float] = (0.0, 0.0)  # the latest absence booked: [starts, ends), epoch s

    def out(self) -> bool:
        """Away, or inside its absence: it does nothing."""
        return self.away or self.absent[0] <= time.time() < self.absent[1]


@dataclass
class Lead:
    owner: str | None = None
    version: int = 0
    done: bool = False
    window: float = 0.0  # seconds, of the timer its owner last heard of


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
    absences: int = 0
    declines: int = 0
    declines_refused: int = 0
    waits: int = 0  # status set to PAUSE_WHEN's (the timer pauses) and cleared later
    snoozes: int = 0
    # note -> (lead, decliner) of every decline_lead call that returned: one audit row each
    declined: dict[str, tuple[str, str]] = field(default_factory=dict)
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
        # The first MANAGERS agents manage the others (the ladder's manager chain); they take
        # leads too.
        managers = ids[:MANAGERS]
        for i, (agent, habit) in enumerate(zip(ids, habits, strict=False)):
            cap = (4 + i % 5) if i % 3 == 0 else None
            self.agents[agent] = Agent(agent, habit, delays[habit], cap)
            db.execute("insert into public.crm_sla_agent_routing "
                       "(agent_id, weight, max_open_leads, manager_id) values (%s, %s, %s, %s)",
                       (agent, 1 + i % 3, cap, None if i < MANAGERS else managers[i % MANAGERS]))
        cal = db.execute(
            "insert into public.crm_sla_calendars (name, time_zone) "
            "values ('Around the clock (New York)', 'America/New_York') returning id").fetchone()[0]
        db.execute("insert into public.crm_sla_calendar_hours "
                   "(calendar_id, weekday, opens, closes) "
                   "select %s, d, '00:00', '24:00' from generate_series(0, 6) as d", (cal,))
        team = db.execute("insert into public.crm_sla_teams (name, manager_id) "
                          "values ('Enterprise', %s) returning id", (managers[0],)).fetchone()[0]
        # The team is the capped agents: its leads wait in the overflow queue when all of them
        # are at their cap (or away).
        capped = [a.id for a in self.agents.values() if a.cap is not None]
        db.execute("insert into public.crm_sla_team_members (team_id, agent_id) "
                   "select %s, unnest(%s::uuid[])", (team, capped))
        cw, tw = p.claim_window, p.contact_window
        # name, priority, match, claim and contact windows, warn_at, calendar, team, on_breach,
        # owner_key
        policies = [
            ("Web (ladder)", 10, {"source": "web"}, cw, tw, 0.5, None, None, "reassign", None),
            ("Partner (calendar, to the manager)", 20, {"source": "partner"}, cw * 1.25, tw, 0.6,
             cal, None, "manager", None),
            ("Enterprise (team)", 30, {"source": "enterprise"}, cw * 1.5, tw * 1.5, 0.5, None,
             team, "reassign", None),
            ("Accounts (owner, flag)", 40, {"source": "account"}, cw, tw, 0.5, None, None, "flag",
             "email"),
        ]
        # The CRM's own status column: a lead waiting on the customer stops the clock (every
        # policy's pause_when), and owners may snooze their leads (not those without a policy).
        db.execute("alter table public.crm_leads add column if not exists status text")
        for name, prio, match, c, t, warn, calendar, team_id, on_breach, key in policies:
            db.execute(
                "insert into public.crm_sla_policies (name, priority, match, claim_window, "
                "contact_window, max_reassignments, warn_at, calendar_id, team_id, on_breach, "
                "owner_key, pause_when, owner_may_snooze) "
                "values (%s, %s, %s, %s, %s, 3, %s, %s, %s, %s, %s, %s, true)",
                (name, prio, json.dumps(match), f"{c} seconds", f"{t} seconds", warn, calendar,
                 team_id, on_breach, key, json.dumps(PAUSE_WHEN)))
        db.execute(
            "insert into public.crm_sla_policy_steps (policy_id, stage, at, notify, name) "
            "select p.id, s.stage, s.at, s.notify, s.name from public.crm_sla_policies as p "
            "cross join unnest(%s::text[], %s::numeric[], %s::text[], %s::text[]) "
            "as s (stage, at, notify, name) where p.name = 'Web (ladder)'",
            [list(c) for c in zip(*STEPS, strict=True)])
        # Ownership routing looks the key up: the CRM indexes it (crm_sla_owner_key_advice).
        db.execute("create index if not exists soak_crm_leads_email on public.crm_leads (email)")
        db.execute("vacuum analyze")
        return {"claim_window_s": cw, "contact_window_s": tw,
                "policies": [n for n, *_ in policies] + ["settings' defaults (phone)"],
                "capped_agents": sum(a.cap is not None for a in self.agents.values()),
                "managers": MANAGERS, "steps": [list(s) for s in STEPS], "pause_when": PAUSE_WHEN,
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
        # phone 'given' marks a lead inserted with its owner (not routed: the absence check
        # leaves its first owner out); `account` leads share ACCOUNTS emails (ownership routing).
        insert = ("insert into public.crm_leads (assigned_agent_id, full_name, email, source, "
                  "phone) select o, n, e, s, case when o is not null then 'given' end "
                  "from unnest(%s::uuid[], %s::text[], %s::text[], %s::text[]) as t (o, n, e, s)")
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
                    picked = rng.choices(sources, weights, k=take)
                    rows = ([rng.choice(owners) if rng.random() < 0.25 else None
                             for _ in range(take)], [f"Lead {n + i}" for i in range(take)],
                            [f"account{rng.randrange(ACCOUNTS)}@soak.example"
                             if source == "account" else f"lead{n + i}@soak.example"
                             for i, source in enumerate(picked)],
                            picked)
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
        """The agents' ears: every event on crm_sla, read from the outbox (a notification carries
        ids only), one query for all the notifications that arrived together."""
        with contextlib.closing(connect(self.url)) as conn, \
                contextlib.closing(connect(self.url)) as reader:
            conn.execute("listen crm_sla")
            while not self.stop.is_set():
                ranges: list[tuple[int, int]] = []
                for note in conn.notifies(timeout=0.05, stop_after=500):
                    body = json.loads(note.payload)
                    if body.get("event") == "batch":
                        ranges.append((body["first_outbox_id"], body["last_outbox_id"]))
                    elif "outbox_id" in body:  # it names its event; the payload is in the outbox
                        ranges.append((body["outbox_id"], body["outbox_id"]))
                    # else {"event": "inserted"}: leads wait in the queue (for the board)
                if not ranges:
                    continue
                # By id (= any: the primary key's index; a join on ranges was planned as a
                # scan of the whole outbox, seconds once it held 100,000 events).
                ids = [i for first, last in ranges for i in range(first, last + 1)]
                for (event,) in reader.execute(
                        "select payload from public.crm_sla_outbox where id = any(%s::bigint[]) "
                        "order by id", (ids,)):
                    self.heard(event)

    def heard(self, event: dict) -> None:
        kind, lead_id, agent = event["event"], event.get("lead_id"), event.get("agent_id")
        if lead_id is None:
            return
        with self.lock:
            lead = self.leads.setdefault(lead_id, Lead())
            if kind not in ("assigned", "reassigned", "claimed", "contacted", "escalated"):
                return  # warning, step, breached, ...: the owner keeps what it was doing
            lead.version += 1
            if kind in ("assigned", "reassigned", "claimed"):
                lead.owner = agent
            lead.done = kind in ("contacted", "escalated")
            action = {"assigned": "claim", "reassigned": "claim", "claimed": "contact"}.get(kind)
            who = self.agents.get(agent or "")
            if action is None or who is None or event.get("expires_at") is None:
                return
            lead.window = min(max((datetime.fromisoformat(event["expires_at"])
                                   - datetime.fromisoformat(event["at"])).total_seconds(), 0.0),
                              60.0)
            delay = self.rng.uniform(*who.delays) * lead.window
            # Now and then the owner snoozes a new lead first, or, claimed, waits on the
            # customer (the status that stops the clock) before the first contact.
            if action == "claim" and self.rng.random() < SNOOZE_SHARE:
                action, delay = "snooze", 0.1 * lead.window
            elif action == "contact" and self.rng.random() < WAIT_SHARE:
                action, delay = "wait", 0.2 * lead.window
            self.later(delay, action, lead_id, agent, lead.version)

    def later(self, delay: float, action: str, lead_id: str, agent: str, version: int) -> None:
        """Plans an action (the caller holds the lock)."""
        self.seq += 1
        heapq.heappush(self.actions, (time.monotonic() + delay, self.seq, action, lead_id, agent,
                                      version))

    def act(self) -> None:
        """An agent's hands: claims (a few declined instead, each with a note of its own) and
        first contacts when they fall due."""
        rng = random.Random(self.plan.seed + threading.get_ident())
        with contextlib.closing(self.session("authenticated")) as conn, \
                contextlib.closing(self.session("service_role")) as crm:
            while not self.stop.is_set():
                with self.lock:
                    due = self.actions[0] if self.actions and (
                        self.actions[0][0] <= time.monotonic()) else None
                    if due:
                        heapq.heappop(self.actions)
                        _, _, action, lead_id, agent, version = due
                        lead = self.leads[lead_id]
                        if action == "reply":
                            pass  # the customer answers whoever owns the lead now
                        elif lead.version != version or self.agents[agent].out():
                            self.found.skipped += 1
                            due = None
                if due is None:
                    time.sleep(0.02)
                    continue
                if action == "claim" and rng.random() < DECLINE_SHARE:
                    self.decline(conn, lead_id, agent)
                    continue
                if action in ("snooze", "wait", "reply"):
                    self.pause(conn, crm, action, lead_id, agent, version)
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

    def pause(self, conn: psycopg.Connection, crm: psycopg.Connection, action: str,
              lead_id: str, agent: str, version: int) -> None:
        """Stopping the clock: the owner snoozes its lead for 2-6 s (crm_sla_snooze; refused for
        a lead without a policy) and claims it after; or sets the lead's status to the one that
        pauses its timer (`wait`), and the customer replies 2-6 s later (`reply`: the CRM, as
        the service role, clears the status), after which the owner goes on to contact."""
        length = self.rng.uniform(2, 6)
        try:
            if action == "reply":
                crm.execute("update public.crm_leads set status = null where id = %s", (lead_id,))
            else:
                conn.execute("select set_config('request.jwt.claims', %s, false)",
                             (json.dumps({"role": "authenticated", "sub": agent}),))
                if action == "snooze":
                    conn.execute("select public.crm_sla_snooze(%s, public.sla_now() + %s * "
                                 "interval '1 second', 'soak: call me later')", (lead_id, length))
                else:
                    conn.execute("update public.crm_leads set status = %s where id = %s",
                                 (PAUSE_WHEN["status"], lead_id))
        except psycopg.Error as exc:
            self.error(exc, action)
            return
        with self.lock:
            lead = self.leads[lead_id]
            who = self.agents[agent]
            if action == "snooze":
                self.found.snoozes += 1
                then = "claim"
            elif action == "wait":
                self.found.waits += 1
                self.later(length, "reply", lead_id, agent, version)
                return
            else:
                then = "contact"
            if lead.version == version:
                self.later(length * (action == "snooze") + self.rng.uniform(*who.delays)
                           * lead.window, then, lead_id, agent, version)

    def decline(self, conn: psycopg.Connection, lead_id: str, agent: str) -> None:
        """The owner hands the lead back (decline_lead) with a note no other decline has, so that
        the end check finds its one audit row. SL007 (nobody else eligible now) is a refusal."""
        with self.lock:
            self.seq += 1
            note = f"soak decline {self.seq}"
        try:
            conn.execute("select set_config('request.jwt.claims', %s, false)",
                         (json.dumps({"role": "authenticated", "sub": agent}),))
            conn.execute("select public.decline_lead(%s, %s)", (lead_id, note))
        except psycopg.Error as exc:
            self.error(exc, "decline")
            with self.lock:
                self.found.declines_refused += 1
        else:
            with self.lock:
                self.found.declines += 1
                self.found.declined[note] = (lead_id, agent)

    def manage(self) -> None:
        """The admin: a hand reassignment every 2 s (to an agent without a cap), and agents of
        the `away` habit going away and coming back; now and then an agent books an absence of
        its own (out of office, starting a few seconds later)."""
        uncapped = [a.id for a in self.agents.values() if a.cap is None]
        flippers = [a for a in self.agents.values() if a.habit == "away"]
        every = max(2, round(120 / self.plan.agents))  # 40 agents: an absence every 3 s
        with contextlib.closing(self.session("authenticated", self.admin)) as conn, \
                contextlib.closing(self.session("authenticated")) as own:
            tick = 0
            while not self.stop.wait(1.0):
                tick += 1
                if tick % every == 0:
                    self.book_absence(own)
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

    def book_absence(self, conn: psycopg.Connection) -> None:
        """An agent not out already books an absence as itself (row-level security: its own
        rows): from 2-4 s from now, for 6-15 s. Its unclaimed leads are handed over when it
        starts, and the router passes it over until it ends."""
        now = time.time()
        free = [a for a in self.agents.values() if not a.out() and a.absent[1] < now]
        if not free:
            return
        agent = self.rng.choice(free)
        lead_in, length = self.rng.uniform(2, 4), self.rng.uniform(6, 15)
        try:
            conn.execute("select set_config('request.jwt.claims', %s, false)",
                         (json.dumps({"role": "authenticated", "sub": agent.id}),))
            starts, ends = conn.execute(
                "insert into public.crm_sla_agent_absences (agent_id, starts_at, ends_at, reason) "
                "values (%s, public.sla_now() + %s * interval '1 second', "
                "public.sla_now() + %s * interval '1 second', 'soak: out of office') "
                "returning extract(epoch from starts_at)::float8, "
                "extract(epoch from ends_at)::float8",
                (agent.id, lead_in, lead_in + length)).fetchone()
        except psycopg.Error as exc:
            self.error(exc, "absence")
            return
        agent.absent = (starts, ends)
        with self.lock:
            self.found.absences += 1

    def db_flip(self, agent: Agent) -> None:
        with contextlib.closing(connect(self.url)) as conn:
            conn.execute("update public.crm_agents set accepting_leads = %s where id = %s",
                         (not agent.away, agent.id))

    def sample(self, counts) -> None:
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
                        f"queue {queue}, over cap {len(over)}, "
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
