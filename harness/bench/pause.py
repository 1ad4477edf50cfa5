"""8. Stop the clock: an UPDATE of a non-SLA column (email) of leads on a policy with `pause_when`
against the same UPDATE while the policy has none, as the service role, pipelined one statement a
lead. The same leads serve both paths (the policy's pause_when is set or cleared between them),
rounds taking turns, so that pages, HOT room and the machine's load hit both alike. The condition
names another column (phone), so every UPDATE evaluates it and none pauses: this is the cost every
edit of such a lead pays."""

from __future__ import annotations

import contextlib
import statistics
import time

from harness.bench.common import Row, count
from harness.bench.lab import Lab
from harness.errors import HarnessError

CONDITION = '{"phone": "waiting on customer"}'
LEADS = """
    insert into public.crm_leads (assigned_agent_id, full_name, email, source)
    select (%s::uuid[])[1 + i %% %s], 'Lead ' || i, 'lead' || i || '@bench.example', 'bench-pause'
    from generate_series(1, %s) as i
"""
SET_CONDITION = ("update public.crm_sla_policies set pause_when = %s::jsonb "
                 "where name = 'Bench pause'")
UPDATE = "update public.crm_leads set email = %s where id = %s"


def measure(lab: Lab) -> list[Row]:
    s = lab.sizes
    n = s.claims
    lab.reset()
    lab.db.execute("insert into public.crm_sla_policies (name, match) "
                   "values ('Bench pause', '{\"source\": \"bench-pause\"}')")
    lab.db.execute(LEADS, (lab.agents, len(lab.agents), n))
    ids = [r[0] for r in lab.db.execute("select id from public.crm_leads order by id")]
    lab.analyze()
    times: dict[str, list[float]] = {"pause": [], "plain": []}
    with contextlib.closing(lab.service()) as conn:
        # Round 0 warms the session up (the trigger function compiled, its plans cached): it is
        # not counted. Then as many rounds with each path first as second (the second path of a
        # round finds the pages full of the first one's dead row versions).
        for r in range(2 * s.rounds + 1):
            lab.report(f"pause: round {r}, {n:,} non-SLA updates each way")
            for path in ("pause", "plain") if r % 2 == 0 else ("plain", "pause"):
                lab.db.execute(SET_CONDITION, (CONDITION if path == "pause" else None,))
                start = time.perf_counter()
                with conn.pipeline():
                    for k, lead in enumerate(ids):
                        conn.execute(UPDATE, (f"r{r}.{path}.{k}@bench.example", lead))
                if r:
                    times[path].append(time.perf_counter() - start)
        # The condition is live: a lead whose phone says so stops its clock.
        lab.db.execute(SET_CONDITION, (CONDITION,))
        conn.execute("update public.crm_leads set phone = 'waiting on customer' where id = %s",
                     (ids[0],))
    wrong = lab.db.execute(
        "select count(*) filter (where sla_policy_id is null) + count(*) filter ("
        "where (sla_paused_at is not null) <> (phone is not distinct from 'waiting on customer'))"
        " from public.crm_leads").fetchone()[0]
    lab.reset()
    lab.db.execute("delete from public.crm_sla_policies where name = 'Bench pause'")
    if wrong:
        raise HarnessError(f"{wrong} bench leads had the wrong policy or pause")
    rate = {p: n / statistics.median(v) for p, v in times.items()}
    # Each round's two paths ran back to back: the median of their ratios is what the
    # machine's changing load disturbs least.
    ratio = statistics.median(
        p / q for p, q in zip(times["pause"], times["plain"], strict=True))
    return [Row(
        "pause_non_sla_update", "8 non-SLA UPDATE, policy with pause_when",
        f"{count(rate['pause'])} updates/s", f"{count(rate['plain'])} /s (no pause_when)",
        ratio, "ratio <= 1.15", ratio <= 1.15,
        {"updates_per_path": n, "rounds": 2 * s.rounds, "updates_per_s": rate,
         "round_s": times})]
