"""The bench's scratch database as the workloads use it: agents with weighted routing, leads
written in bulk, the SLA triggers switched on and off, and a reset between workloads."""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from harness.bench.common import Sizes
from harness.target import connect

AGENTS = 50

# Intake as the service role sends it: one statement a batch, arrays unnested.
INSERT = (
    "insert into public.crm_leads (assigned_agent_id, full_name, email, phone, source) "
    "select * from unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], %s::text[])")
EMPTY_BATCH = ([], [], [], [], [])

# The least any PL/pgSQL intake trigger costs: it writes the three claim-timer columns, from
# now(), and does nothing else (no settings, no SLA clock, no guard, no routing). Exists only in
# the scratch database, and fires only while the intake bench measures it.
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


class Lab:
    def __init__(self, url: str, sizes: Sizes, report: Callable[[str], None]):
        self.url = url
        self.sizes = sizes
        self.report = report
        self.db = connect(url)  # the tables' owner: a trusted session
        self.agents: list = []

    def close(self) -> None:
        self.db.close()

    def service(self) -> psycopg.Connection:
        conn = connect(self.url)
        conn.execute("set role service_role")
        return conn

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
        self.db.execute(PLPGSQL_FLOOR)
        self.triggers(True)

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

    def batches(self) -> range:
        """The intake batches' numbers (each of `sizes.intake_batch` leads)."""
        return range(self.sizes.intake // self.sizes.intake_batch)

    def batch(self, b: int, owned: bool = True) -> tuple[list, ...]:
        """Batch b's parameters for INSERT: web leads, owners spread over the agents (or none)."""
        n = self.sizes.intake_batch
        k = range(b * n, (b + 1) * n)
        owners = [self.agents[i % len(self.agents)] for i in k] if owned else [None] * n
        return (owners, [f"Lead {i}" for i in k], [f"lead{i}@bench.example" for i in k],
                [f"+1555{i:07d}" for i in k], ["web"] * n)

    def insert_leads(self, n: int, claimed_every: int = 0) -> None:
        """n leads through the real trigger path, owners spread over the agents; every
        `claimed_every`-th one claimed (its contact window running)."""
        self.db.execute(
            "insert into public.crm_leads (assigned_agent_id, full_name, email, source) "
            "select (%s::uuid[])[1 + i %% %s], 'Lead ' || i, 'lead' || i || '@bench.example', "
            "'bench' from generate_series(1, %s) i",
            (self.agents, len(self.agents), n))
        if claimed_every:
            # Statistics first: after a reset the table looks empty to the planner, which then
            # joins the claims below in a nested loop (minutes at 100,000 leads, not a second).
            self.db.execute("analyze public.crm_leads")
            self.db.execute(
                "update public.crm_leads set lead_claimed = true where id in ("
                "select id from (select id, row_number() over (order by id) as k "
                "from public.crm_leads) as x where x.k %% %s = 0)", (claimed_every,))
