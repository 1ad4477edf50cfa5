"""Concurrency: two monitors at once, claims racing the monitor, intake during monitor runs, and
monitor runs killed half-way. Nothing may be double-reassigned, lost, or disagree with its audit."""

from __future__ import annotations

import random
import threading
import time

import psycopg
import pytest

from harness import status
from harness.testing import connect


def run_together(*fns, timeout: float = 60):
    """Start every fn at the same moment in its own thread; return results (or exceptions)."""
    barrier = threading.Barrier(len(fns))
    results: list = [None] * len(fns)

    def runner(i, fn):
        barrier.wait()
        try:
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 - reported to the test
            results[i] = exc

    threads = [threading.Thread(target=runner, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return results


def assert_leads_agree_with_audit(world) -> None:
    rows = world.db.execute(
        """
        select l.id, l.assigned_agent_id, coalesce(l.reassignment_count, 0) as count,
               (select count(*) from public.crm_lead_reassignments a where a.lead_id = l.id)
                   as audit_rows,
               (select a.to_agent_id from public.crm_lead_reassignments a where a.lead_id = l.id
                order by a.created_at desc, a.id desc limit 1) as last_to
        from public.crm_leads l
        """
    ).fetchall()
    for row in rows:
        assert row["count"] == row["audit_rows"], row
        if row["audit_rows"]:
            assert row["assigned_agent_id"] == row["last_to"], row


def drain(url: str) -> dict:
    totals = {"unclaimed": 0, "no_contact": 0}
    with connect(url) as conn:
        for _ in range(50):
            result = conn.execute("select public.process_sla_timers() as r").fetchone()["r"]
            totals["unclaimed"] += result["unclaimed"]
            totals["no_contact"] += result["no_contact"]
            if result["remaining"] == 0:
                break
    return totals


def test_two_monitors_at_once_reassign_each_lead_once(world):
    world.settings(monitor_batch_size=50)
    owner = world.agent("Owner", accepting=False)
    world.agents("A", "B", "C", "D", "E")
    world.db.execute(
        "insert into public.crm_leads (assigned_agent_id, full_name) "
        "select %s, 'Lead ' || n from generate_series(1, 400) as n", (owner,))
    world.travel("5 minutes")
    first, second = run_together(lambda: drain(world.url), lambda: drain(world.url))
    assert not isinstance(first, Exception), first
    assert not isinstance(second, Exception), second
    assert first["unclaimed"] + second["unclaimed"] == 400
    per_lead = world.db.execute(
        "select lead_id, count(*) as n from public.crm_lead_reassignments group by lead_id"
    ).fetchall()
    assert len(per_lead) == 400 and {r["n"] for r in per_lead} == {1}
    assert_leads_agree_with_audit(world)


@pytest.mark.parametrize("round_", range(25))
def test_claim_racing_the_monitor_has_exactly_one_outcome(world, round_):
    ann, bob = world.agents("Ann", "Bob")
    lead = world.lead(ann)
    world.travel("5 minutes")

    def claim():
        with world.as_agent(ann) as conn:
            time.sleep(random.random() / 500)
            return conn.execute("select lead_claimed from public.claim_lead(%s)", (lead,)
                                ).fetchone()["lead_claimed"]

    def monitor():
        with connect(world.url) as conn:
            time.sleep(random.random() / 500)
            return conn.execute("select public.process_sla_timers() as r").fetchone()["r"]

    claimed, result = run_together(claim, monitor)
    assert not isinstance(result, Exception), result
    row = world.row(lead)
    audit = world.audit(lead)
    if claimed is True:  # the claim won: Ann keeps it, late
        assert row["assigned_agent_id"] == ann and row["lead_claimed"]
        assert row["claim_sla_breached"] and audit == []
        assert result["unclaimed"] == 0
    else:  # the monitor won: Bob has it, unclaimed, and Ann was told why
        assert isinstance(claimed, psycopg.Error), claimed
        assert claimed.diag.sqlstate == "SL004"
        assert row["assigned_agent_id"] == bob and not row["lead_claimed"]
        assert len(audit) == 1 and audit[0]["to_agent_id"] == bob
        assert result["unclaimed"] == 1
    assert_leads_agree_with_audit(world)


def test_intake_claims_manual_moves_and_monitors_together_never_fail(world):
    world.settings(monitor_batch_size=20)
    team = world.agents("A", "B", "C", "D")
    admin = world.agent("Boss", role="admin")
    for _ in range(60):
        world.lead()
    world.travel("5 minutes")
    stop = time.monotonic() + 3

    def intake():
        made = 0
        with world.as_service() as conn:
            while time.monotonic() < stop:
                conn.execute("insert into public.crm_leads (full_name) values ('new')")
                made += 1
        return made

    def claims():
        with world.as_service() as conn:
            while time.monotonic() < stop:
                conn.execute(
                    "update public.crm_leads set lead_claimed = true where id = "
                    "(select id from public.crm_leads where not lead_claimed "
                    "order by random() limit 1)")

    def manual():
        with world.as_agent(admin) as conn:
            while time.monotonic() < stop:
                row = conn.execute("select id, assigned_agent_id from public.crm_leads "
                                   "order by random() limit 1").fetchone()
                target = random.choice([a for a in team if a != row["assigned_agent_id"]])
                try:
                    conn.execute("select public.reassign_lead(%s, %s)", (row["id"], target))
                except psycopg.Error as exc:
                    # The monitor may have moved it to that very agent since we read it.
                    if exc.diag.sqlstate != "SL008":
                        raise

    def monitor():
        with connect(world.url) as conn:
            while time.monotonic() < stop:
                conn.execute("select public.process_sla_timers()")

    results = run_together(intake, intake, claims, manual, monitor, monitor)
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    made = results[0] + results[1]
    assert world.scalar("select count(*) from public.crm_leads") == 60 + made
    unowned = "select count(*) from public.crm_leads where assigned_agent_id is null"
    assert world.scalar(unowned) == 0
    assert_leads_agree_with_audit(world)


def test_a_monitor_killed_half_way_leaves_leads_consistent(world):
    world.settings(monitor_batch_size=200)
    owner = world.agent("Owner", accepting=False)
    world.agents("A", "B", "C")
    world.db.execute(
        "insert into public.crm_leads (assigned_agent_id) "
        "select %s from generate_series(1, 600)", (owner,))
    world.travel("5 minutes")
    killed = 0
    for delay in (0.001, 0.005, 0.01, 0.02, 0.05):
        victim = connect(world.url)
        pid = victim.info.backend_pid
        timer = threading.Timer(delay, lambda p=pid: world.db.execute(
            "select pg_terminate_backend(%s)", (p,)))
        timer.start()
        try:
            victim.execute("select public.process_sla_timers()")
        except psycopg.OperationalError:
            killed += 1
        timer.join()
        victim.close()
        assert_leads_agree_with_audit(world)
    assert killed >= 1
    drain(world.url)
    assert world.scalar(
        "select count(*) from public.crm_leads where assigned_agent_id = %s", (owner,)) == 0
    assert_leads_agree_with_audit(world)


def test_leads_locked_elsewhere_never_fill_the_batch(world):
    """An agent (or anyone) holding row locks on its own overdue leads keeps them for as long as
    it holds the locks, but the pass neither waits for them nor lets them fill its batch: it
    moves the other due leads and reports the locked ones as skipped_locked, not as done."""
    world.settings(monitor_batch_size=2)
    ann, bob = world.agents("Ann", "Bob")
    held = [world.lead(ann) for _ in range(3)]  # due first: they would fill every batch
    world.travel("1 minute")
    others = [world.lead(ann) for _ in range(3)]
    world.travel("5 minutes")
    with connect(world.url) as holder:
        holder.execute("begin")
        holder.execute("select 1 from public.crm_leads where id = any(%s) for update", (held,))
        with connect(world.url) as monitor:
            # A pass that waited for the locks would fail here instead of hanging the suite.
            monitor.execute("set lock_timeout = '2s'")
            first = monitor.execute("select public.process_sla_timers() as r").fetchone()["r"]
            second = monitor.execute("select public.process_sla_timers() as r").fetchone()["r"]
        report = status.collect(world.url)
        holder.rollback()
    assert report["leads"]["locked_overdue"] == 3
    assert "locked       3 overdue lead(s) held by another session" in status.render(report)
    assert (first["unclaimed"], first["skipped_locked"], first["remaining"]) == (2, 3, 1)
    assert (second["unclaimed"], second["skipped_locked"], second["remaining"]) == (1, 3, 0)
    assert {world.row(lead)["assigned_agent_id"] for lead in others} == {bob}
    assert {world.row(lead)["assigned_agent_id"] for lead in held} == {ann}
    world.settings(monitor_batch_size=10)
    after = world.monitor()  # the locks are gone: the next pass takes them
    assert (after["unclaimed"], after["skipped_locked"]) == (3, 0)
    assert_leads_agree_with_audit(world)
