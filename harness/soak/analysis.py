"""What the run shows: lags and pass times from the outbox and what the observer saw, and the
end checks (nothing lost, nothing double-delivered, no agent over its cap, no deadlock, no
growing lag)."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime

import psycopg

from harness.bench.common import percentile
from harness.soak.load import Soak
from harness.soak.plan import BREACH_EVENTS, BREACH_REASONS, NOT_ALLOWED, TIMER_EVENTS


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
    shifted: set[str] = set()  # leads whose running timer was paused: its warning moved too
    deferred: list[float] = []  # flagged leads moved later, once an agent was eligible
    breach: list[tuple[float, float]] = []
    worst: list[dict] = []
    warning: list[tuple[float, float]] = []
    step: list[tuple[float, float]] = []
    passes: dict[str, float] = {}
    missing = 0
    for oid, payload in db.execute(
            "select id, payload from public.crm_sla_outbox order by id"):
        kind, lead = payload["event"], payload.get("lead_id")
        got = receipt.get(oid)
        if got is None:
            missing += 1
            continue
        moved = kind in ("reassigned", "escalated")
        # A breach acted on (not a decline, a hand-over or a move by hand), and what the monitor
        # wrote (breaches, warnings, steps, absences' hand-overs).
        breach_event = kind in BREACH_EVENTS and (
            not moved or payload.get("reason") in BREACH_REASONS)
        by_monitor = breach_event or kind in ("warning", "step") or (
            moved and payload.get("reason") == "unavailable")
        at = datetime.fromisoformat(payload["at"])
        if by_monitor:
            key = payload["at"]
            passes[key] = min(passes.get(key, got), got)
        if breach_event and lead in timer and lead in handled:
            # Flagged at its breach (no eligible agent), moved now: not a lag of the monitor's.
            deferred.append(got - timer[lead][1].timestamp())
        elif breach_event and lead in timer:
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
        if kind == "step":  # from the instant it was due (payload.step_at)
            instant = datetime.fromisoformat(payload["step_at"]).timestamp()
            step.append((instant - t0_wall, got - instant))
        if kind == "warning" and lead in timer and warn_at.get(lead) is not None \
                and lead not in shifted:
            start, expiry = timer[lead]
            instant = start.timestamp() + warn_at[lead] * (expiry - start).total_seconds()
            warning.append((instant - t0_wall, got - instant))
        if kind in TIMER_EVENTS:
            handled.discard(lead)
            if payload.get("expires_at"):
                timer[lead] = (at, datetime.fromisoformat(payload["expires_at"]))
                shifted.discard(lead)
            else:  # its timer starts paused: the deadline comes with `resumed`
                timer.pop(lead, None)
                shifted.add(lead)
        elif kind == "paused":
            shifted.add(lead)
        elif kind == "resumed" and payload.get("expires_at"):
            # The deadline moved by the time paused: a breach lags from the new one.
            timer[lead] = (at, datetime.fromisoformat(payload["expires_at"]))
            shifted.add(lead)
        elif kind in ("contacted", "escalated"):
            timer.pop(lead, None)
    pass_times = [got - datetime.fromisoformat(at).timestamp() for at, got in passes.items()]
    arrivals = [(int(wid.split(".")[1]), at) for wid, at in seen["arrivals"]
                if wid.split(".")[0] == webhook]
    hook = [(receipt[o] - t0_wall, at - receipt[o]) for o, at in arrivals if o in receipt]
    return {
        "breach": breach, "worst_breaches": worst, "deferred": deferred, "warning": warning,
        "step": step,
        "webhook": hook,
        "pass_times": pass_times,
        "unreceived_notifications": missing, "arrivals": arrivals,
    }


def checks(db: psycopg.Connection, soak: Soak, seen: dict, lags: dict, webhook: str,
           seconds: float, cron_failures: list[str],
           deliver_log: str) -> list[tuple[str, bool | None, str]]:
    out: list[tuple[str, bool | None, str]] = []
    # 1. an owner, or in the queue for a reason
    unowned = [r[0] for r in db.execute(
        "select id::text from public.crm_leads where assigned_agent_id is null "
        "and not first_action_completed")]
    unexplained = []
    for lead in unowned:
        eligible = db.execute("select count(*) from public.crm_sla_explain_routing(%s) "
                              "where eligible", (lead,)).fetchone()[0]
        if eligible:
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
    out.append(("no agent above its cap (sampled every second)", not f.cap_violations,
                f"{f.cap_samples} samples, {len(f.cap_violations)} agent-samples over"
                + (f" (e.g. {f.cap_violations[0]})" if f.cap_violations else "")))
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
                "; ".join(f"{k} p50 {fmt(g['first_p50_s'])} -> {fmt(g['last_p50_s'])}"
                          for k, g in growth.items())))
    return out


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def lag(figures: dict) -> str:
    if not figures.get("n"):
        return "none"
    return (f"p50 {fmt(figures['p50_s'])}, p99 {fmt(figures['p99_s'])}, "
            f"max {fmt(figures['max_s'])} ({figures['n']:,})")
