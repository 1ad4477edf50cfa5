"""8. Ownership routing: unowned leads inserted in batches under a policy whose owner_key is an
indexed column (each lead looks up its account's owner), against the same INSERTs under the same
policy without owner_key (weighted fair order only)."""

from __future__ import annotations

import contextlib
import statistics
import time

from harness.bench.common import Row, count
from harness.bench.lab import EMPTY_BATCH, INSERT, Lab
from harness.errors import HarnessError

ACCOUNT_LEADS = 4  # leads an account sends over the run: a key value repeats this often

# The index `crm-sla status` advises for an owner_key column.
INDEX = ("create index if not exists bench_crm_leads_email_idx "
         "on public.crm_leads using hash (email)")


def batch(lab: Lab, b: int) -> tuple[list, ...]:
    """Batch b of unowned web leads; their emails are accounts that come back ACCOUNT_LEADS times
    over the run, in later batches (so the owner of the account's previous lead is found)."""
    n = lab.sizes.intake_batch
    accounts = max(1, lab.sizes.intake // ACCOUNT_LEADS)
    k = range(b * n, (b + 1) * n)
    return ([None] * n, [f"Lead {i}" for i in k],
            [f"account{i % accounts}@bench.example" for i in k],
            [f"+1555{i:07d}" for i in k], ["web"] * n)


def measure(lab: Lab) -> list[Row]:
    """The two paths take turns batch by batch (the policy's owner_key set for one, NULL for the
    other), so that whatever else the machine is doing hits them alike; a path's throughput is
    its median batch, the ratio the median of the batch-by-batch ratios. The index the advice of
    `crm-sla status` names is there for both paths."""
    s = lab.sizes
    lab.reset()
    lab.db.execute(INDEX)
    lab.db.execute("insert into public.crm_sla_policies (name, match) "
                   "values ('Bench accounts', '{\"source\": \"web\"}')")
    times: dict[str, list[float]] = {"none": [], "owner_key": []}
    with contextlib.closing(lab.service()) as conn:
        for b in lab.batches():
            if b % 10 == 0:
                lab.report(f"ownership: intake, {s.intake:,} leads each way, batch {b + 1}")
            for path in ("none", "owner_key") if b % 2 == 0 else ("owner_key", "none"):
                lab.db.execute("update public.crm_sla_policies set owner_key = %s",
                               ("email" if path == "owner_key" else None,))
                conn.execute(INSERT, EMPTY_BATCH)
                start = time.perf_counter()
                conn.execute(INSERT, batch(lab, b))
                times[path].append(time.perf_counter() - start)
    waiting = lab.db.execute("select count(*) from public.crm_leads "
                             "where assigned_agent_id is null").fetchone()[0]
    lab.reset()
    lab.db.execute("delete from public.crm_sla_policies")
    lab.db.execute("drop index if exists public.bench_crm_leads_email_idx")
    if waiting:
        raise HarnessError(f"{waiting} bench leads were left without an owner")
    rate = {p: s.intake_batch / statistics.median(v) for p, v in times.items()}
    ratio = statistics.median(
        n / k for n, k in zip(times["none"], times["owner_key"], strict=True))
    return [Row("intake_owner_key", "8 intake, owner_key (indexed column)",
                f"{count(rate['owner_key'])} leads/s",
                f"{count(rate['none'])} leads/s (no owner_key)", ratio, "ratio >= 0.8",
                ratio >= 0.8, {"leads_per_path": s.intake, "batch": s.intake_batch,
                               "account_leads": ACCOUNT_LEADS, "leads_per_s": rate,
                               "batch_s": times})]
