"""The real scheduler: pg_cron (living in another database) runs the monitor in the CRM database.
The one test here that waits on the wall clock."""

from __future__ import annotations

import time

import psycopg.conninfo
import pytest

from harness import schedule
from harness.target import with_database
from harness.testing import connect

pytestmark = pytest.mark.cron


def cron_conn(world):
    info = schedule.probe(world.url)
    assert info.available, info.reason
    return connect(with_database(world.url, info.cron_database)), info


def wait_for(predicate, timeout: float, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return None


def test_scheduling_twice_keeps_one_job_in_the_crm_database(world):
    conn, info = cron_conn(world)
    dbname = psycopg.conninfo.conninfo_to_dict(world.url)["dbname"]
    try:
        _, first = schedule.schedule_monitor(world.url)
        _, second = schedule.schedule_monitor(world.url)
        jobs = conn.execute("select * from cron.job where jobname = %s",
                            (f"crm-sla-monitor:{dbname}",)).fetchall()
        assert first == second and len(jobs) == 1
        assert jobs[0]["database"] == dbname != info.cron_database
        assert (jobs[0]["schedule"], jobs[0]["command"]) == info.plan
    finally:
        assert schedule.unschedule_monitor(world.url)
        conn.close()


def test_pg_cron_really_reassigns_an_expired_lead_within_seconds(world):
    conn, _info = cron_conn(world)
    ann, bob = world.agents("Ann", "Bob")
    world.settings(claim_window="8 seconds")
    try:
        _, jobid = schedule.schedule_monitor(world.url)
        # The job starts on the next minute; wait until its loop is running.
        started = wait_for(lambda: conn.execute(
            "select 1 from cron.job_run_details where jobid = %s", (jobid,)).fetchone(), 75)
        assert started, "pg_cron never started the monitor job"
        leads = [world.lead(ann) for _ in range(3)]
        expiries = {lead: world.row(lead)["claim_timer_expires_at"] for lead in leads}
        # Within the job's 59-second loop, not at the next minute's run.
        moved = wait_for(lambda: all(world.row(lead)["assigned_agent_id"] == bob
                                     for lead in leads), 40)
        assert moved, "the scheduled monitor did not reassign the expired leads"
        for lead in leads:
            [audit] = world.audit(lead)
            assert audit["reassigned_by"].int == 0 and audit["reason"] == "unclaimed"
            latency = (audit["created_at"] - expiries[lead]).total_seconds()
            print(f"breach-to-reassignment latency: {latency:.2f}s")
            assert 0 <= latency < 0.5  # the loop sleeps until the instant (docs/scheduling.md)
    finally:
        schedule.unschedule_monitor(world.url)
        conn.close()
