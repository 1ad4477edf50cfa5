"""8. Stop the clock: an UPDATE of a non-SLA column (email) of leads on a policy with `pause_when`
against the same UPDATE of leads on a policy without one, both as the service role, pipelined one
statement a lead, rounds taking turns. The condition names another column (phone), so every
UPDATE evaluates it and none pauses: this is the cost every edit of such a lead pays."""

from __future__ import annotations

import contextlib
import statistics
import time

from harness.bench.common import Row, count
from harness.bench.lab import Lab
from harness.errors import HarnessError

POLICIES = """
    insert into public.crm_sla_policies (name, match, pause_when) values
        ('Bench pause', '{"source": "bench-pause"}', '{"phone": "waiting on customer"}'),
        ('Bench plain', '{"source": "bench-plain"}', null)
"""
LEADS = """
    insert into public.crm_leads (assigned_agent_id, full_name, email, source)
    select (%s::uuid[])[1 + i %% %s], 'Lead ' || i, 'lead' || i || '@bench.example', %s
    from generate_series(1, %s) as i
"""
UPDATE = "update public.crm_leads set email = %s where id = %s"


def measure(lab: Lab) -> list[Row]:
    s = lab.sizes
    n = s.claims
    lab.reset()
    lab.db.execute(POLICIES)
    ids: dict[str, list] = {}
    for path in ("pause", "plain"):
        lab.db.execute(LEADS, (lab.agents, len(lab.agents), f"bench-{path}", n))
        ids[path] = [r[0] for r in lab.db.execute(
            "select id from public.crm_leads where source = %s order by id", (f"bench-{path}",))]
    lab.analyze()
    times: dict[str, list[float]] = {"pause": [], "plain": []}
    with contextlib.closing(lab.service()) as conn:
        for r in range(2 * s.rounds + 1):
            lab.report(f"pause: round {r + 1}, {n:,} non-SLA updates each way")
            for path in ("pause", "plain") if r % 2 == 0 else ("plain", "pause"):
                start = time.perf_counter()
                with conn.pipeline():
                    for k, lead in enumerate(ids[path]):
                        conn.execute(UPDATE, (f"r{r}.{k}@bench.example", lead))
                times[path].append(time.perf_counter() - start)
        # The condition is live: a lead whose phone says so stops its clock.
        conn.execute("update public.crm_leads set phone = 'waiting on customer' where id = %s",
                     (ids["pause"][0],))
    wrong = lab.db.execute(
        "select count(*) filter (where sla_policy_id is null) + count(*) filter ("
        "where (sla_paused_at is not null) <> (phone = 'waiting on customer' and source = "
        "'bench-pause')) from public.crm_leads").fetchone()[0]
    lab.reset()
    lab.db.execute("delete from public.crm_sla_policies where name like 'Bench %'")
    if wrong:
        raise HarnessError(f"{wrong} bench leads had the wrong policy or pause")
    rate = {p: n / statistics.median(v) for p, v in times.items()}
    ratio = statistics.median(times["pause"]) / statistics.median(times["plain"])
    return [Row(
        "pause_non_sla_update", "8 non-SLA UPDATE, policy with pause_when",
        f"{count(rate['pause'])} updates/s", f"{count(rate['plain'])} /s (no pause_when)",
        ratio, "ratio <= 1.15", ratio <= 1.15,
        {"updates_per_path": n, "rounds": 2 * s.rounds + 1, "updates_per_s": rate,
         "round_s": times})]
