"""`crm-sla bench` (`make bench`): the engine measured against raw SQL, side by side in one run.

Every run works in a scratch database that it creates on the target server (the embedded cluster,
or the server in DATABASE_URL) and drops at the end, so real data is never touched; no monitor is
scheduled there except by `--latency`, which unschedules it again. Each workload is measured next
to its baseline in the same run, rounds interleaved so that a noisy neighbour hits both alike:

1. intake: leads inserted in batches through the SLA triggers, against the same INSERTs with the
   triggers disabled (owner given, and unowned leads that the weighted router routes);
2. idle monitor: one `process_sla_timers()` pass with nothing due, at three table sizes (about 1%
   of leads open), and the plan auto_explain saw inside it;
3. backlog: due leads (claim and contact stages mixed) cleared by the monitor, against one
   hand-written statement doing the same writes (the floor); then a large backlog, batch by batch;
4. claims: `claim_lead()` against a plain UPDATE of lead_claimed, both as the service role;
5. breach and warning latency (`--latency`, a few minutes): expiries spread over three minutes
   under the real pg_cron schedule, each lead warning 3 s before its expiry;
6. webhook latency (`--latency`): events from commit to receipt by a local HTTP endpoint, with
   `crm-sla deliver` running.

It prints one table and writes the figures as JSON to bench-results/ (git-ignored). Timings are
never asserted anywhere: `make test` runs `--quick` once only to keep this file working.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from harness import monitor, schedule, table
from harness.engine import SYSTEM_ACTOR
from harness.errors import HarnessError
from harness.paths import REPO_ROOT
from harness.target import connect, describe_db_error, redact, using_embedded, with_database

RESULTS_DIR = REPO_ROOT / "bench-results"
SEED_INDEXES = ("idx_crm_leads_claim_timer_expires", "idx_crm_leads_contact_timer_expires")
AGENTS = 50


@dataclass(frozen=True)
class Sizes:
    intake: int  # leads per path
    intake_batch: int
    rounds: int  # of the backlog and claims workloads, each against its baseline
    idle: tuple[int, ...]
    idle_calls: int
    backlog: int
    big_backlog: int
    claims: int
    latency_leads: int = 360
    latency_spread: float = 180.0  # seconds over which the windows expire
    webhook_events: int = 300


FULL = Sizes(intake=50_000, intake_batch=1_000, rounds=3, idle=(10_000, 100_000, 1_000_000),
             idle_calls=300, backlog=10_000, big_backlog=100_000, claims=10_000)
QUICK = Sizes(intake=2_000, intake_batch=500, rounds=1, idle=(1_000, 5_000, 20_000),
              idle_calls=30, backlog=1_000, big_backlog=3_000, claims=500)


@dataclass
class Row:
    """One line of the table (and of the JSON)."""

    key: str  # stable id, e.g. "intake_owner_given"
    workload: str
    figure: str
    baseline: str = "-"
    ratio: float | None = None
    target: str = "-"
    met: bool | None = None
    data: dict = field(default_factory=dict)


def _fmt_int(n: float) -> str:
    return f"{n:,.0f}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms" if seconds < 0.01 else f"{seconds * 1000:,.1f} ms"


def _s(seconds: float) -> str:
    return f"{seconds:,.2f} s"


def _pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by the nearest-rank method."""
    ordered = sorted(values)
    rank = max(1, round(q * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def machine() -> dict:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu": cpu}


# -- the scratch database ---------------------------------------------------------------------


@contextlib.contextmanager
def scratch_database(url: str, report: Callable[[str], None], kind: str = "bench"
                     ) -> Iterator[str]:
    """A new, migrated database on the server of `url` (made the way the test suite makes its
    own: harness.scratch.ScratchServer), dropped on the way out, whatever happens, together with
    its template and any API role the migrations had to create. `url` itself is only used to
    issue CREATE and DROP DATABASE. Nothing is scheduled in the new database (but by --latency,
    which unschedules its job again), and DROP ... WITH (FORCE) ends whatever is left there.
    """
    from harness.scratch import ScratchServer

    server = ScratchServer(url, embedded=using_embedded())
    try:
        name = server.create(template=server.migrated_template(), kind=kind)
        report(f"scratch database {name} created and migrated")
        yield server.url_for(name)
    finally:
        with connect(url) as admin:
            # pg_cron 1.4 in libpq mode: while a job runs anywhere in the cluster, DROP DATABASE
            # waits for it to end (its launcher does not answer the drop's ProcSignalBarrier).
            busy = [r[0] for r in admin.execute(
                "select distinct datname from pg_stat_activity where application_name = 'pg_cron' "
                "and backend_type = 'client backend' and state = 'active' "
                "and not datname like 'crm_sla_%%'")]
        report("dropping the scratch database" + (
            f" (waits for the pg_cron job running in {', '.join(busy)} to end its minute: "
            "pg_cron 1.4 holds up DROP DATABASE)" if busy else ""))
        start = time.monotonic()
        server.close()
        if time.monotonic() - start > 1:
            report(f"dropped after {time.monotonic() - start:.0f} s")


# -- the bench --------------------------------------------------------------------------------


class Bench:
    def __init__(self, url: str, sizes: Sizes, report: Callable[[str], None]):
        self.url = url
        self.sizes = sizes
        self.report = report
        self.db = connect(url)  # the tables' owner: a trusted session
        self.agents: list = []

    def close(self) -> None:
        self.db.close()

    # -- helpers ----------------------------------------------------------------------------
    def service(self) -> psycopg.Connection:
        conn = connect(self.url)
        conn.execute("set role service_role")
        return conn

    def triggers(self, on: bool, minimal: bool = False, outbox: bool = True) -> None:
        """The SLA triggers on crm_leads on or off (user triggers only: foreign keys keep being
        checked); `minimal` turns on the bench's minimal intake trigger instead; `outbox` False
        leaves out the trigger that writes intake's events."""
        self.db.execute(
            f"alter table public.crm_leads {'enable' if on else 'disable'} trigger user")
        if on and not outbox:
            self.db.execute(
                "alter table public.crm_leads disable trigger crm_leads_400_announce_intake")
        if on or minimal:
            self.db.execute(
                "alter table public.crm_leads "
                f"{'enable' if minimal else 'disable'} trigger bench_minimal_intake")

    def reset(self) -> None:
        """No leads, no audit rows, a fresh routing queue, the wall clock, default settings."""
        self.db.execute("truncate public.crm_leads cascade")
        self.db.execute("truncate public.crm_sla_outbox cascade")
        self.db.execute("delete from public.crm_sla_agent_state")
        self.db.execute("select public.sla_clock_reset()")
        self.db.execute(
            "update public.crm_sla_settings set claim_window = default, contact_window = default, "
            "max_reassignments = default, monitor_batch_size = default")

    def analyze(self) -> None:
        self.db.execute("vacuum analyze public.crm_leads")
        self.db.execute("vacuum analyze public.crm_lead_reassignments")

    def setup(self) -> None:
        self.db.execute(
            "insert into public.crm_agents (full_name, email) "
            "select 'Agent ' || i, 'agent' || i || '@bench.example' from generate_series(1, %s) i",
            (AGENTS,))
        self.db.execute("insert into public.crm_agents (full_name, email, role) "
                        "values ('Admin', 'admin@bench.example', 'admin')")
        self.agents = [r[0] for r in self.db.execute(
            "select id from public.crm_agents where role = 'agent' order by id")]
        # Weighted routing (weights 1, 2, 3 in turn) for every workload that routes.
        self.db.execute(
            "insert into public.crm_sla_agent_routing (agent_id, weight) "
            "select id, 1 + (row_number() over (order by id)) % 3 from public.crm_agents "
            "where role = 'agent'")
        self.db.execute(self.PLPGSQL_FLOOR)
        self.triggers(True)

    # The least any PL/pgSQL intake trigger costs: it writes the three claim-timer columns, from
    # now(), and does nothing else (no settings, no SLA clock, no guard, no routing). Exists only
    # in the scratch database, and fires only while the intake bench measures it.
    PLPGSQL_FLOOR = """
        create function public.bench_minimal_intake() returns trigger language plpgsql as $$
        begin
            new.claim_timer_started_at := now();
            new.claim_timer_expires_at := now() + interval '5 minutes';
            new.claim_window_expires_at := new.claim_timer_expires_at;
            return new;
        end
        $$;
        create trigger bench_minimal_intake before insert on public.crm_leads
        for each row execute function public.bench_minimal_intake();
    """

    def insert_leads(self, n: int, claimed_every: int = 0) -> None:
        """n leads through the real trigger path, owners spread over the agents; every
        `claimed_every`-th one claimed (its contact window running)."""
        self.db.execute(
            "insert into public.crm_leads (assigned_agent_id, full_name, email, source) "
            "select (%s::uuid[])[1 + i %% %s], 'Lead ' || i, 'lead' || i || '@bench.example', "
            "'bench' from generate_series(1, %s) i",
            (self.agents, len(self.agents), n))
        if claimed_every:
            self.db.execute(
                "update public.crm_leads set lead_claimed = true where id in ("
                "select id from (select id, row_number() over (order by id) as k "
                "from public.crm_leads) as x where x.k %% %s = 0)", (claimed_every,))

    # -- 1. intake ----------------------------------------------------------------------------
    INSERT = (
        "insert into public.crm_leads (assigned_agent_id, full_name, email, phone, source) "
        "select * from unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], %s::text[])")

    def intake(self) -> list[Row]:
        """Leads inserted in batches by the service role: through the triggers, owner given or
        not, against the same INSERTs (owner given) with the triggers off, and with only the
        minimal PL/pgSQL trigger (for reference). The paths take turns batch by batch, so that
        whatever else the machine is doing hits them alike; a path's throughput is its median
        batch, a ratio the median of the batch-by-batch ratios."""
        s = self.sizes
        paths = ("raw", "engine", "unowned", "minimal", "no_outbox")
        times: dict[str, list[float]] = {p: [] for p in paths}
        empty = ([], [], [], [], [])
        self.reset()
        with contextlib.closing(self.service()) as conn:
            for b in range(s.intake // s.intake_batch):
                if b % 10 == 0:
                    self.report(f"intake: {s.intake:,} leads each way, batches of "
                                f"{s.intake_batch:,}: batch {b + 1}")
                k = range(b * s.intake_batch, (b + 1) * s.intake_batch)
                data = ([f"Lead {i}" for i in k], [f"lead{i}@bench.example" for i in k],
                        [f"+1555{i:07d}" for i in k], ["web"] * s.intake_batch)
                owners = [self.agents[i % len(self.agents)] for i in k]
                order = paths if b % 2 == 0 else tuple(reversed(paths))
                for path in order:
                    self.triggers(path in ("engine", "unowned", "no_outbox"),
                                  minimal=path == "minimal", outbox=path != "no_outbox")
                    conn.execute(self.INSERT, empty)  # plans again after the ALTER, untimed
                    batch = ([None] * len(owners) if path == "unowned" else owners, *data)
                    start = time.perf_counter()
                    conn.execute(self.INSERT, batch)
                    times[path].append(time.perf_counter() - start)
        self.triggers(True)
        self.reset()

        def ratio(path: str, base: str = "raw") -> float:
            return statistics.median(r / e for r, e in zip(times[base], times[path],
                                                            strict=True))

        rate = {p: s.intake_batch / statistics.median(times[p]) for p in paths}
        data = {"leads_per_path": s.intake, "batch": s.intake_batch, "leads_per_s": rate,
                "batch_s": times}
        given = ratio("engine")
        outbox = ratio("engine", base="no_outbox")
        routed = ratio("unowned")
        return [
            Row("intake_owner_given", "1 intake, owner given",
                f"{_fmt_int(rate['engine'])} leads/s",
                f"{_fmt_int(rate['raw'])} leads/s (triggers off)", given, "ratio >= 0.85",
                given >= 0.85, data),
            Row("intake_round_robin", "1 intake, unowned (routed, weighted)",
                f"{_fmt_int(rate['unowned'])} leads/s",
                f"{_fmt_int(rate['raw'])} leads/s (triggers off, owner given)",
                routed, "ratio >= 0.5", routed >= 0.5, data={"see": "intake_owner_given"}),
            Row("intake_minimal_trigger", "1 intake, minimal PL/pgSQL trigger",
                f"{_fmt_int(rate['minimal'])} leads/s",
                f"{_fmt_int(rate['raw'])} leads/s (triggers off)", ratio("minimal"),
                "reference", data={"see": "intake_owner_given"}),
            Row("intake_outbox_cost", "1 intake, with its events (outbox)",
                f"{_fmt_int(rate['engine'])} leads/s",
                f"{_fmt_int(rate['no_outbox'])} leads/s (without the outbox trigger)",
                outbox, "ratio >= 0.8", outbox >= 0.8, data={"see": "intake_owner_given"}),
        ]

    # -- 2. idle monitor ------------------------------------------------------------------------
    def grow(self, have: int, want: int) -> None:
        """Adds leads up to `want`, as the engine would have left them: 1% open (half waiting for
        a claim, half for a first contact, with hour-long windows so that nothing falls due or
        warns while measuring), the rest done long ago. Written directly, triggers off: a million
        leads through the trigger path is the intake bench's business."""
        self.triggers(False)
        try:
            self.db.execute(
                """
                insert into public.crm_leads (
                    assigned_agent_id, full_name, email, source, created_at,
                    lead_claimed, first_action_completed,
                    claim_timer_started_at, claim_timer_expires_at, claim_window_expires_at,
                    contact_timer_started_at, contact_timer_expires_at, sla_warn_at
                )
                select
                    (%(agents)s::uuid[])[1 + i %% %(n)s], 'Lead ' || i, 'lead' || i || '@b.example',
                    'bench', t.created, t.claimed, not t.open,
                    t.created, t.created + t.window, t.created + t.window,
                    case when t.claimed then t.created end,
                    case when t.claimed then t.created + t.window end,
                    case when t.open then t.created + t.window * 0.8 end
                from generate_series(%(lo)s::bigint, %(hi)s::bigint) as i
                cross join lateral (
                    select
                        i %% 100 = 0 as open,
                        i %% 100 <> 0 or i %% 200 = 0 as claimed,
                        case when i %% 100 = 0 then now()
                            else now() - (i %% 90) * interval '1 day' - interval '1 hour'
                        end as created,
                        case when i %% 100 = 0 then interval '1 hour'
                            else interval '5 minutes'
                        end as window
                ) as t
                """,
                {"agents": self.agents, "n": len(self.agents), "lo": have + 1, "hi": want})
        finally:
            self.triggers(True)
        self.analyze()

    def idle_pass_times(self, calls: int) -> list[float]:
        """Server-side execution time of one idle pass (each its own transaction), in seconds."""
        out = []
        for i in range(calls + 10):
            plan = self.db.execute(
                "explain (analyze, timing off, summary) select public.process_sla_timers()"
            ).fetchall()
            if i >= 10:  # the first ones compile and plan
                text = "\n".join(r[0] for r in plan)
                out.append(float(re.search(r"Execution Time: ([\d.]+) ms", text).group(1)) / 1000)
        return out

    def idle_plan(self) -> tuple[list[str], list[str], str]:
        """The plans of the statements inside one idle pass, as auto_explain logged them (needs a
        superuser to LOAD it); otherwise EXPLAIN of the same due-lead tests. Returns (plans,
        index names seen, how)."""
        plans: list[str] = []
        with contextlib.closing(connect(self.url)) as conn:
            try:
                conn.execute("load 'auto_explain'")
                conn.execute("set auto_explain.log_min_duration = 0")
                conn.execute("set auto_explain.log_nested_statements = on")
                conn.execute("set client_min_messages = log")
                conn.add_notice_handler(lambda d: plans.append(d.message_primary or ""))
                conn.execute("select public.process_sla_timers()")
                how = "auto_explain inside process_sla_timers()"
            except psycopg.Error:
                plans = [r[0] for r in conn.execute(
                    """
                    explain select
                        exists (select from public.crm_leads as l
                            where l.claim_timer_expires_at <= public.sla_now()
                                and l.claim_timer_expires_at is not null
                                and l.lead_claimed = false),
                        exists (select from public.crm_leads as l
                            where l.contact_timer_expires_at <= public.sla_now()
                                and l.contact_timer_expires_at is not null
                                and l.first_action_completed = false)
                    """).fetchall()]
                plans = ["\n".join(plans)]
                how = "EXPLAIN of the due-lead tests (auto_explain needs a superuser)"
        plans = [p for p in plans if "crm_leads" in p]
        seen = sorted(set(re.findall(r"using (\w+)", "\n".join(plans))))
        return plans, seen, how

    def idle(self) -> list[Row]:
        s = self.sizes
        self.reset()
        have = 0
        medians: dict[int, float] = {}
        rows = []
        plans, seen, how = [], [], ""
        for size in s.idle:
            self.report(f"idle monitor: growing the table to {size:,} leads")
            self.grow(have, size)
            have = size
            self.report(f"idle monitor: {s.idle_calls} passes at {size:,} leads")
            times = self.idle_pass_times(s.idle_calls)
            medians[size] = statistics.median(times)
            plans, seen, how = self.idle_plan()
            rows.append(Row(
                f"idle_{size}", f"2 idle monitor pass, {size:,} leads",
                f"{_ms(medians[size])} median", data={
                    "leads": size, "open": self.db.execute(
                        "select count(*) from public.crm_leads where not first_action_completed"
                    ).fetchone()[0],
                    "calls": len(times), "median_s": medians[size],
                    "p95_s": _pct(times, 0.95), "indexes_in_plan": seen}))
        small, big = s.idle[0], s.idle[-1]
        ratio = medians[big] / medians[small]
        top = rows[-1]
        top.baseline = f"{_ms(medians[small])} at {small:,}"
        top.ratio = ratio
        top.target = "<= 2 ms, ratio <= 1.5"
        uses_seed_indexes = all(ix in seen for ix in SEED_INDEXES)
        top.met = medians[big] <= 0.002 and ratio <= 1.5 and uses_seed_indexes
        due_test = [p for p in plans if "min(l.claim_timer_expires_at)" in p] or plans
        rows.append(Row(
            "idle_plan", f"2 idle monitor plan, {big:,} leads",
            ", ".join(ix for ix in SEED_INDEXES if ix in seen) or "no seed index",
            target="seed's partial indexes", met=uses_seed_indexes,
            data={"how": how, "indexes": seen, "plan": "\n".join(due_test), "plans": plans}))
        self.reset()
        self.analyze()
        return rows

    # -- 3. backlog -----------------------------------------------------------------------------
    def build_backlog(self, n: int) -> None:
        """n due leads among the agents: about half waiting for a claim, half for a contact."""
        self.reset()
        self.insert_leads(n, claimed_every=2)
        self.db.execute("select public.sla_clock_travel(interval '6 minutes')")
        self.analyze()

    def drain(self) -> tuple[float, list[float], dict]:
        """Monitor passes until the backlog is gone: (total s, each pass's s, summed counts)."""
        passes: list[float] = []
        start = time.perf_counter()
        totals = monitor.drain(self.db, passes)
        counts = {k: totals[k] for k in ("unclaimed", "no_contact", "escalated",
                                         "no_eligible_agent")}
        return time.perf_counter() - start, passes, counts

    # The floor: what the monitor writes for a backlog (the lead UPDATE and the audit INSERT),
    # as one hand-written statement with a plain round robin and no batching.
    FLOOR = f"""
        with due as (
            select
                l.id, l.assigned_agent_id as owner,
                case when l.lead_claimed then 'contact_window' else 'claim_window' end as stage,
                row_number() over (order by l.id) as k
            from public.crm_leads as l
            where (l.claim_timer_expires_at <= public.sla_now()
                    and l.claim_timer_expires_at is not null and l.lead_claimed = false)
                or (l.contact_timer_expires_at <= public.sla_now()
                    and l.contact_timer_expires_at is not null
                    and l.first_action_completed = false)
        ),
        agents as (
            select array_agg(a.id order by a.id) as ids, count(*)::int as n
            from public.crm_agents as a
            where a.role = 'agent' and a.is_active and a.accepting_leads
        ),
        picked as (
            select d.id, d.stage,
                case when g.ids[1 + d.k % g.n] = d.owner then g.ids[1 + (d.k + 1) % g.n]
                    else g.ids[1 + d.k % g.n] end as to_agent
            from due as d cross join agents as g
        ),
        moved as (
            update public.crm_leads as l
            set previous_agent_id = l.assigned_agent_id,
                assigned_agent_id = p.to_agent,
                reassignment_count = coalesce(l.reassignment_count, 0) + 1,
                reassignment_reason = case p.stage when 'claim_window' then 'unclaimed'
                    else 'no_contact' end,
                reassigned_at = public.sla_now(),
                lead_claimed = false,
                first_action_completed = false,
                claim_timer_started_at = public.sla_now(),
                claim_timer_expires_at = public.sla_now()
                    + (select s.claim_window from public.crm_sla_settings as s),
                claim_window_expires_at = public.sla_now()
                    + (select s.claim_window from public.crm_sla_settings as s),
                contact_timer_started_at = null,
                contact_timer_expires_at = null,
                claim_sla_breached = l.claim_sla_breached or p.stage = 'claim_window',
                contact_sla_breached = l.contact_sla_breached or p.stage = 'contact_window',
                sla_breached = true
            from picked as p
            where l.id = p.id
            returning l.id, l.previous_agent_id, l.assigned_agent_id, l.reassignment_reason,
                p.stage, l.reassigned_at
        )
        insert into public.crm_lead_reassignments (
            lead_id, from_agent_id, to_agent_id, reassigned_by, reason, stage, created_at
        )
        select m.id, m.previous_agent_id, m.assigned_agent_id,
            '{SYSTEM_ACTOR}', m.reassignment_reason, m.stage,
            m.reassigned_at
        from moved as m
    """

    def floor(self) -> float:
        start = time.perf_counter()
        cur = self.db.execute(self.FLOOR)
        elapsed = time.perf_counter() - start
        if cur.rowcount <= 0:
            raise HarnessError("the backlog floor statement moved no lead")
        return elapsed

    def caps(self, n: int | None) -> None:
        """Every agent's cap on open leads (None: no caps). The backlog bench sets caps that the
        backlog never reaches, so that the monitor counts them as it routes and moves every lead."""
        self.db.execute("update public.crm_sla_agent_routing set max_open_leads = %s", (n,))

    def backlog(self) -> list[Row]:
        s = self.sizes
        n = s.backlog
        self.caps(2 * max(n, s.big_backlog) // AGENTS + 10)
        runs: dict[str, list[float]] = {"monitor": [], "floor": []}
        details = {}
        for r in range(s.rounds):
            self.report(f"backlog: round {r + 1}, {n:,} due leads, monitor then floor")
            self.build_backlog(n)
            total, passes, counts = self.drain()
            moved = counts["unclaimed"] + counts["no_contact"]
            if moved != n:
                raise HarnessError(f"the monitor moved {moved} of {n} due leads")
            runs["monitor"].append(total)
            details = {"passes": len(passes), "counts": counts}
            self.build_backlog(n)
            runs["floor"].append(self.floor())
        monitor, floor = statistics.median(runs["monitor"]), statistics.median(runs["floor"])
        ratio = monitor / floor
        rows = [Row(
            "backlog", f"3 backlog, {n:,} due leads (weighted, capped)",
            f"{_s(monitor)} ({details['passes']} passes)",
            f"{_s(floor)} (one statement)", ratio, "<= 1.5 x floor", ratio <= 1.5,
            {"due": n, "monitor_s": monitor, "floor_s": floor, "monitor_runs_s": runs["monitor"],
             "floor_runs_s": runs["floor"], **details})]

        big = s.big_backlog
        self.report(f"backlog: {big:,} due leads, pass by pass")
        self.build_backlog(big)
        batch = self.db.execute("select monitor_batch_size from public.crm_sla_settings"
                                ).fetchone()[0]
        total, passes, counts = self.drain()
        rows.append(Row(
            "backlog_big", f"3 backlog, {big:,} due leads",
            f"{_s(total)}; longest batch {_ms(max(passes))}",
            f"{len(passes)} passes of <= {batch:,}", target="-",
            data={"due": big, "total_s": total, "passes": len(passes), "batch_size": batch,
                  "longest_pass_s": max(passes), "median_pass_s": statistics.median(passes),
                  "counts": counts}))
        self.caps(None)
        self.reset()
        self.analyze()
        return rows

    # -- 4. claims ------------------------------------------------------------------------------
    def claims(self) -> list[Row]:
        s = self.sizes
        calls = {
            "claim_lead": "select public.claim_lead(%s)",
            "update": "update public.crm_leads set lead_claimed = true where id = %s",
        }
        times: dict[str, list[float]] = {k: [] for k in calls}
        with contextlib.closing(self.service()) as conn:
            for r in range(s.rounds):
                self.report(f"claims: round {r + 1} of {s.rounds}, {s.claims:,} claims each way")
                for path, stmt in calls.items():
                    self.reset()
                    self.insert_leads(s.claims)
                    self.analyze()
                    ids = [(row[0],) for row in self.db.execute(
                        "select id from public.crm_leads order by created_at, id")]
                    start = time.perf_counter()
                    with conn.pipeline():
                        for params in ids:
                            conn.execute(stmt, params)
                    times[path].append(time.perf_counter() - start)
                    left = self.db.execute(
                        "select count(*) from public.crm_leads where not lead_claimed").fetchone()
                    if left[0]:
                        raise HarnessError(f"{left[0]} leads were left unclaimed by {path}")
        fn = s.claims / statistics.median(times["claim_lead"])
        raw = s.claims / statistics.median(times["update"])
        self.reset()
        return [Row(
            "claims", "4 claims (service role)", f"{_fmt_int(fn)} claims/s (claim_lead)",
            f"{_fmt_int(raw)} /s (plain UPDATE)", fn / raw, "-", None,
            {"claims": s.claims, "rounds": s.rounds, "claim_lead_per_s": fn, "update_per_s": raw,
             "claim_lead_round_s": times["claim_lead"], "update_round_s": times["update"]})]

    # -- 6. SLA policies and calendars -----------------------------------------------------------
    OFFICE = """
        insert into public.crm_sla_calendars (name, time_zone) values (%s, 'Europe/Berlin')
        returning id
    """

    def office(self, name: str, holidays: int) -> str:
        """A Monday-to-Friday 9-to-5 calendar with `holidays` holidays, one every fifth day from
        2020 on (1,500 of them reach 2040)."""
        cal = self.db.execute(self.OFFICE, (name,)).fetchone()[0]
        self.db.execute("insert into public.crm_sla_calendar_hours select %s, d, '09:00', "
                        "'17:00' from generate_series(1, 5) as d", (cal,))
        self.db.execute("insert into public.crm_sla_holidays (calendar_id, day) select %s, "
                        "date '2020-01-01' + 5 * i from generate_series(0, %s - 1) as i",
                        (cal, holidays))
        return cal

    ADD_CALLS = """
        select max(public.sla_business_add(
            %s, timestamptz '2026-11-02 08:00+01' + i * interval '37 minutes',
            (array['5 minutes', '30 minutes', '2 hours', '3 days']::interval[])[1 + i %% 4]))
        from generate_series(1, %s) as i
    """

    def policies(self) -> list[Row]:
        """sla_business_add on a calendar with one holiday against one with 1,500 (the same
        calls, rounds taking turns); then intake of leads that all match a business-hours policy
        against the same INSERTs with no active policy (the settings' defaults), batch by
        batch."""
        s = self.sizes
        calls = 400 if s is QUICK else 4_000
        few, many = self.office("Bench few holidays", 1), self.office("Bench 1,500 holidays",
                                                                        1_500)
        times: dict[str, list[float]] = {"few": [], "many": []}
        for r in range(2 * s.rounds + 1):
            self.report(f"policies: sla_business_add, round {r + 1}, {calls:,} calls each")
            for key, cal in (("few", few), ("many", many))[:: 1 if r % 2 == 0 else -1]:
                start = time.perf_counter()
                self.db.execute(self.ADD_CALLS, (cal, calls))
                times[key].append(time.perf_counter() - start)
        per_call = {k: statistics.median(v) / calls for k, v in times.items()}
        add_ratio = per_call["many"] / per_call["few"]

        self.reset()
        self.db.execute("insert into public.crm_sla_policies (name, match, calendar_id, "
                        "is_active) values ('Bench office hours', '{\"source\": \"web\"}', "
                        "%s, false)", (few,))
        intake: dict[str, list[float]] = {"default": [], "policy": []}
        empty = ([], [], [], [], [])
        with contextlib.closing(self.service()) as conn:
            for b in range(s.intake // s.intake_batch):
                if b % 10 == 0:
                    self.report(f"policies: intake, {s.intake:,} leads each way, batch {b + 1}")
                k = range(b * s.intake_batch, (b + 1) * s.intake_batch)
                batch = ([self.agents[i % len(self.agents)] for i in k],
                         [f"Lead {i}" for i in k], [f"lead{i}@bench.example" for i in k],
                         [f"+1555{i:07d}" for i in k], ["web"] * s.intake_batch)
                order = ("default", "policy") if b % 2 == 0 else ("policy", "default")
                for path in order:
                    self.db.execute("update public.crm_sla_policies set is_active = %s",
                                    (path == "policy",))
                    conn.execute(self.INSERT, empty)
                    start = time.perf_counter()
                    conn.execute(self.INSERT, batch)
                    intake[path].append(time.perf_counter() - start)
        matched = self.db.execute("select count(*) filter (where sla_policy_id is not null), "
                                  "count(*) from public.crm_leads").fetchone()
        self.reset()
        self.db.execute("delete from public.crm_sla_policies")
        if matched[0] * 2 != matched[1]:
            raise HarnessError(f"{matched[0]} of {matched[1]} bench leads got the policy")
        rate = {p: s.intake_batch / statistics.median(v) for p, v in intake.items()}
        intake_ratio = statistics.median(
            d / p for d, p in zip(intake["default"], intake["policy"], strict=True))
        return [
            Row("business_add_holidays", "6 sla_business_add, 1,500 holidays",
                f"{per_call['many'] * 1e6:,.0f} us a call",
                f"{per_call['few'] * 1e6:,.0f} us (1 holiday)", add_ratio, "ratio <= 1.2",
                add_ratio <= 1.2,
                {"calls": calls, "round_s": times, "per_call_s": per_call}),
            Row("intake_business_hours", "6 intake, business-hours policy",
                f"{_fmt_int(rate['policy'])} leads/s",
                f"{_fmt_int(rate['default'])} leads/s (no policy)", intake_ratio,
                "ratio >= 0.75", intake_ratio >= 0.75,
                {"leads_per_path": s.intake, "batch": s.intake_batch, "leads_per_s": rate,
                 "batch_s": intake}),
        ]

    # -- 5. breach latency ----------------------------------------------------------------------
    def latency(self) -> list[Row]:
        s = self.sizes
        self.reset()
        info, jobid = schedule.schedule_monitor(self.url)
        if jobid is None:
            return [Row("latency", "5 breach latency", f"not measured: {info.reason}",
                        target="p95 <= 0.5 s")]
        every, command = info.plan
        try:
            with contextlib.closing(connect(with_database(self.url, info.cron_database))) as cron:
                self.report(f"latency: waiting for pg_cron to start `{command}` (up to a minute)")
                deadline = time.monotonic() + 90
                while not cron.execute(
                        "select 1 from cron.job_run_details where jobid = %s", (jobid,)
                ).fetchone():
                    if time.monotonic() > deadline:
                        raise HarnessError("pg_cron never started the monitor job")
                    time.sleep(0.5)
            self.insert_leads(s.latency_leads, claimed_every=2)
            # Half wait for a claim, half for a contact; their windows end one after another over
            # the next three minutes, each warning 3 s before its end, between other leads' ends
            # (written directly: the table owner may set timers).
            self.db.execute(
                """
                update public.crm_leads as l
                set claim_timer_expires_at = case when l.lead_claimed
                        then l.claim_timer_expires_at else x.due end,
                    claim_window_expires_at = case when l.lead_claimed
                        then l.claim_window_expires_at else x.due end,
                    contact_timer_expires_at = case when l.lead_claimed then x.due end,
                    sla_warn_at = x.due - interval '3 seconds',
                    sla_warned_at = null
                from (
                    select id, clock_timestamp() + interval '5 seconds'
                        + (row_number() over (order by id) - 1) * %s * interval '1 second' as due
                    from public.crm_leads
                ) as x
                where l.id = x.id
                """, (s.latency_spread / s.latency_leads,))
            expiry = dict(self.db.execute(
                "select id, case when lead_claimed then contact_timer_expires_at "
                "else claim_timer_expires_at end from public.crm_leads").fetchall())
            self.report(f"latency: {len(expiry)} windows expire over the next "
                        f"{s.latency_spread:.0f} s; waiting for the monitor")
            deadline = time.monotonic() + s.latency_spread + 90
            while True:
                left = self.db.execute(
                    "select count(*) from public.crm_leads where reassignment_count = 0"
                ).fetchone()[0]
                if left == 0:
                    break
                if time.monotonic() > deadline:
                    raise HarnessError(f"{left} expired leads were never reassigned")
                time.sleep(2)
            moved = dict(self.db.execute(
                "select lead_id, min(created_at) from public.crm_lead_reassignments "
                "group by lead_id").fetchall())
            # When each warning was written (the pass's SLA clock, as for the reassignments).
            warned = dict(self.db.execute(
                "select lead_id, min((payload ->> 'at')::timestamptz) from public.crm_sla_outbox "
                "where event = 'warning' group by lead_id").fetchall())
        finally:
            schedule.unschedule_monitor(self.url)
            with contextlib.closing(connect(with_database(self.url, info.cron_database))) as cron:
                cron.execute("delete from cron.job_run_details where jobid = %s", (jobid,))
        waits = [(moved[i] - expiry[i]).total_seconds() for i in expiry]
        p50, p95, worst = _pct(waits, 0.5), _pct(waits, 0.95), max(waits)
        warn_waits = [(warned[i] - expiry[i] + timedelta(seconds=3)).total_seconds()
                      for i in expiry if i in warned]
        rows = [Row(
            "latency", "5 breach latency (pg_cron)",
            f"p50 {_ms(p50)}, p95 {_ms(p95)}, max {_ms(worst)}",
            f"{len(waits)} leads over {s.latency_spread:.0f} s", target="p95 <= 0.5 s",
            met=p95 <= 0.5, data={"leads": len(waits), "p50_s": p50, "p95_s": p95, "max_s": worst,
                                 "pg_cron_schedule": every, "pg_cron_command": command})]
        if len(warn_waits) < len(expiry):
            rows.append(Row("warning_latency", "5 warning latency (pg_cron)",
                            f"{len(expiry) - len(warn_waits)} of {len(expiry)} leads not warned",
                            target="p95 <= 0.5 s", met=False))
        else:
            w50, w95, wmax = _pct(warn_waits, 0.5), _pct(warn_waits, 0.95), max(warn_waits)
            rows.append(Row(
                "warning_latency", "5 warning latency (pg_cron)",
                f"p50 {_ms(w50)}, p95 {_ms(w95)}, max {_ms(wmax)}",
                f"{len(warn_waits)} leads over {s.latency_spread:.0f} s", target="p95 <= 0.5 s",
                met=w95 <= 0.5, data={"leads": len(warn_waits), "p50_s": w50, "p95_s": w95,
                                      "max_s": wmax}))
        return rows


    # -- 6. webhook latency ---------------------------------------------------------------------
    def webhook_latency(self) -> list[Row]:
        """Leads inserted one a statement, a few dozen a second, each an `assigned` event that a
        `crm-sla deliver` worker (a thread here) POSTs to an HTTP endpoint on 127.0.0.1: the time
        from the INSERT's commit to the request's arrival."""
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from threading import Thread

        from harness import deliver

        arrived: dict[int, float] = {}

        class Endpoint(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                at = time.time()
                self.rfile.read(int(self.headers["content-length"]))
                arrived[int(self.headers["webhook-id"].split(".")[1])] = at
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        n = self.sizes.webhook_events
        self.reset()
        server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
        Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        self.db.execute("insert into public.crm_sla_webhooks (url) values (%s)", (url,))
        worker = deliver.Worker(self.url)
        thread = Thread(target=worker.run, kwargs={"report": lambda _m: None}, daemon=True)
        thread.start()
        committed: dict[int, float] = {}
        try:
            time.sleep(0.5)  # the worker is listening
            for i in range(n):
                if i % 100 == 0:
                    self.report(f"webhooks: {n} events, one a statement: event {i + 1}")
                self.db.execute(
                    "insert into public.crm_leads (assigned_agent_id, full_name) values (%s, %s)",
                    (self.agents[i % len(self.agents)], f"Lead {i}"))
                committed[self.db.execute("select max(id) from public.crm_sla_outbox"
                                          ).fetchone()[0]] = time.time()
                time.sleep(0.03)
            deadline = time.monotonic() + 30
            while len(arrived) < n and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            worker.stopping = True
            self.db.execute("select pg_notify('crm_sla', '{}')")
            thread.join(15)
            server.shutdown()
            server.server_close()
            self.db.execute("delete from public.crm_sla_webhooks")
            self.reset()
        waits = [arrived[i] - t for i, t in committed.items() if i in arrived]
        if len(waits) < n:
            raise HarnessError(f"only {len(waits)} of {n} webhooks arrived")
        p50, p95, worst = _pct(waits, 0.5), _pct(waits, 0.95), max(waits)
        return [Row(
            "webhook_latency", "6 webhook latency (crm-sla deliver)",
            f"p50 {_ms(p50)}, p95 {_ms(p95)}, max {_ms(worst)}",
            f"{n} events, commit to receipt", target="p95 <= 1 s", met=p95 <= 1.0,
            data={"events": n, "p50_s": p50, "p95_s": p95, "max_s": worst})]


# -- running and printing ---------------------------------------------------------------------


def versions(url: str) -> dict:
    with connect(url) as conn:
        pg = conn.execute("show server_version").fetchone()[0]
    info = schedule.probe(url)
    return {"postgres": pg, "pg_cron": info.version if info.available else f"none ({info.reason})"}


def render(rows: list[Row], header: dict) -> str:
    m = header["machine"]
    title = (f"crm-sla bench ({header['mode']}): PostgreSQL {header['postgres']}, pg_cron "
             f"{header['pg_cron']}; {m['nproc']} cores, {m['cpu']}")
    body = table.render(
        ("workload", "figure", "baseline", "ratio", "target", "result"),
        [(r.workload, r.figure, r.baseline, None if r.ratio is None else f"{r.ratio:.2f}",
          r.target, None if r.met is None else ("met" if r.met else "MISSED")) for r in rows])
    return f"{title}\n{body}"


def run(url: str, quick: bool = False, latency: bool = False, out: Path | None = None,
        report: Callable[[str], None] | None = None) -> tuple[list[Row], Path]:
    """Runs the bench against the server of `url`; returns the rows and the JSON file written."""
    if report is None:
        def report(msg: str) -> None:
            print(f"bench: {msg}", file=sys.stderr, flush=True)
    sizes = QUICK if quick else FULL
    started = datetime.now(UTC)
    header = {"mode": "quick" if quick else "full", "started_at": started.isoformat(),
              "target": redact(url), "machine": machine(), **versions(url),
              "sizes": asdict(sizes)}
    rows: list[Row] = []
    with scratch_database(url, report) as scratch:
        header["scratch_database"] = psycopg.conninfo.conninfo_to_dict(scratch)["dbname"]
        bench = Bench(scratch, sizes, report)
        try:
            bench.setup()
            steps = [bench.intake, bench.idle, bench.backlog, bench.claims, bench.policies]
            if latency:
                steps.extend([bench.latency, bench.webhook_latency])
            for step in steps:
                rows.extend(step())
        except psycopg.Error as exc:
            raise HarnessError(f"bench failed: {describe_db_error(exc)}") from None
        finally:
            bench.close()
    header["seconds"] = round((datetime.now(UTC) - started).total_seconds(), 1)
    folder = out or RESULTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bench-{started.strftime('%Y%m%dT%H%M%SZ')}-{header['mode']}.json"
    path.write_text(json.dumps({**header, "rows": [asdict(r) for r in rows]}, indent=2,
                               default=str) + "\n")
    print(render(rows, header))
    for row in rows:
        if row.key == "idle_plan":
            print(f"\n{row.workload} ({row.data['how']}):")
            print("\n".join("    " + line for line in row.data["plan"].splitlines()))
    print(f"\nfigures written to {path}")
    return rows, path
