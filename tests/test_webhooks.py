"""Webhooks (docs/events.md): `crm-sla deliver` POSTs each event to each
webhook that wants it, signed as Standard Webhooks says, retries on the schedule of
crm_sla_settings.webhook_retry_delays, then gives up (dead); several workers deliver each event
once; a worker killed mid-delivery loses nothing. Against a real HTTP server (tests/receiver.py)
and real `crm-sla deliver` processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from harness.paths import REPO_ROOT
from tests.cli import assert_one_line_error, crm_sla
from tests.receiver import Receiver


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def workers(world):
    """Starts `crm-sla deliver` processes on the test's database; ends them afterwards."""
    started: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", "deliver", *args],
            env=dict(os.environ, DATABASE_URL=world.url), cwd=REPO_ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(proc)
        assert "waiting for events" in proc.stdout.readline()  # it LISTENs from here on
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def add_webhook(world, receiver: Receiver, *options: str, url: str | None = None) -> str:
    proc = crm_sla("webhooks", "add", url or receiver.url, *options, url=world.url)
    assert proc.returncode == 0, proc.stderr
    fields = dict(line.split(None, 1) for line in proc.stdout.splitlines() if line[:1].islower()
                  and len(line.split(None, 1)) == 2)
    receiver.secrets[fields["id"]] = fields["secret"]
    return fields["id"]


def deliver_once(world) -> subprocess.CompletedProcess:
    proc = crm_sla("deliver", "--once", url=world.url)
    assert proc.returncode == 0, proc.stderr
    return proc


def deliveries(world) -> list[dict]:
    return world.db.execute(
        "select * from public.crm_sla_webhook_deliveries order by outbox_id, webhook_id").fetchall()


def test_an_event_is_posted_signed(world, receiver):
    hook = add_webhook(world, receiver)
    ana = world.agent("Ana")
    lead = world.lead(ana)
    deliver_once(world)
    [got] = receiver.wait_for(1)
    [event] = world.db.execute("select * from public.crm_sla_outbox").fetchall()
    assert got.signature_ok
    assert got.webhook_id == f"{hook}.{event['id']}"
    assert abs(got.timestamp - time.time()) < 60
    assert got.payload == event["payload"] and got.payload["lead_id"] == str(lead)
    [row] = deliveries(world)
    assert (row["status"], row["attempts"]) == ("delivered", 1) and row["delivered_at"]


def test_a_webhook_gets_only_events_written_after_it_was_created(world, receiver):
    ana = world.agent("Ana")
    world.lead(ana)
    add_webhook(world, receiver)
    later = world.lead(ana)
    deliver_once(world)
    assert [r.payload["lead_id"] for r in receiver.wait_for(1)] == [str(later)]
    assert len(deliveries(world)) == 1


def test_a_webhook_gets_only_the_events_it_asked_for(world, receiver):
    add_webhook(world, receiver, "--events", "reassigned,escalated")
    ana, _ben = world.agents("Ana", "Ben")
    world.lead(ana)
    world.travel("6 minutes")
    world.monitor()
    deliver_once(world)
    assert [r.payload["event"] for r in receiver.wait_for(1)] == ["reassigned"]


def test_inactive_webhooks_queue_nothing(world, receiver):
    hook = add_webhook(world, receiver)
    world.db.execute("update public.crm_sla_webhooks set is_active = false where id = %s",
                     (hook,))
    world.lead(world.agent("Ana"))
    assert deliveries(world) == []


def test_retries_then_success_with_the_same_webhook_id(world, receiver, workers):
    world.settings(webhook_retry_delays=["100 milliseconds", "200 milliseconds", "1 hour"])
    receiver.statuses = [500, 503]
    add_webhook(world, receiver)
    workers()
    world.lead(world.agent("Ana"))
    got = receiver.wait_for(3)
    assert len(got) == 3 and all(r.signature_ok for r in got)
    assert len({r.webhook_id for r in got}) == 1
    assert got[1].at - got[0].at >= 0.1 and got[2].at - got[1].at >= 0.2
    deadline = time.monotonic() + 5
    while deliveries(world)[0]["status"] == "pending" and time.monotonic() < deadline:
        time.sleep(0.05)
    [row] = deliveries(world)
    assert (row["status"], row["attempts"]) == ("delivered", 3)
    assert row["last_error"].startswith("HTTP 503")


def test_dead_after_the_last_retry(world, receiver, workers):
    world.settings(webhook_retry_delays=["100 milliseconds", "100 milliseconds"])
    receiver.statuses = [500] * 10
    add_webhook(world, receiver)
    workers()
    world.lead(world.agent("Ana"))
    receiver.wait_for(3)
    deadline = time.monotonic() + 5
    while deliveries(world)[0]["status"] == "pending" and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # a fourth attempt would come 100 ms after the third
    [row] = deliveries(world)
    assert (row["status"], row["attempts"]) == ("dead", 3)
    assert row["next_attempt_at"] is None and row["last_error"].startswith("HTTP 500")
    assert len(receiver.received) == 3


def test_each_retry_waits_its_own_delay_of_the_schedule(world, receiver):
    """Attempt n's failure schedules the next attempt webhook_retry_delays[n] later (plus at
    most 10 % jitter), read off the stored next_attempt_at; the last failure is dead. Delays of
    hours apart tell the schedule from any fixed or repeated delay with no timing assertion."""
    delays = [1, 3, 7, 15]  # hours
    world.settings(webhook_retry_delays=[f"{h} hours" for h in delays])
    receiver.statuses = [500] * 10
    add_webhook(world, receiver)
    world.lead(world.agent("Ana"))
    for attempt, hours in enumerate(delays, start=1):
        deliver_once(world)
        row = world.db.execute(
            "select attempts, status, extract(epoch from next_attempt_at - now()) / 3600 as wait "
            "from public.crm_sla_webhook_deliveries").fetchone()
        assert (row["attempts"], row["status"]) == (attempt, "pending")
        assert hours - 0.02 <= float(row["wait"]) <= hours * 1.1 + 0.02, (attempt, row["wait"])
        world.db.execute("update public.crm_sla_webhook_deliveries "
                         "set next_attempt_at = now() - interval '1 second'")
    deliver_once(world)
    [row] = deliveries(world)
    assert (row["attempts"], row["status"], row["next_attempt_at"]) == (len(delays) + 1, "dead",
                                                                        None)
    assert len(receiver.received) == len(delays) + 1


def test_an_unreachable_endpoint_is_retried_later(world, receiver):
    receiver.close()  # nothing listens on its port any more
    add_webhook(world, receiver)
    world.lead(world.agent("Ana"))
    deliver_once(world)
    [row] = deliveries(world)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "ConnectError" in row["last_error"]
    wait = world.scalar("select extract(epoch from next_attempt_at - now()) "
                        "from public.crm_sla_webhook_deliveries")
    assert 3 < float(wait) <= 5  # the first delay of the default schedule


def test_a_slow_endpoint_times_out_after_ten_seconds(world, receiver):
    from harness import deliver

    assert deliver.TIMEOUT_SECONDS == 10.0
    receiver.stall_seconds = 2.0
    deliver.TIMEOUT_SECONDS = 0.5  # the same path, shorter
    try:
        add_webhook(world, receiver)
        world.lead(world.agent("Ana"))
        totals = deliver.Worker(world.url).run(once=True, report=lambda _m: None)
    finally:
        deliver.TIMEOUT_SECONDS = 10.0
    assert totals.failed == 1
    assert deliveries(world)[0]["last_error"].startswith("timeout")


def test_two_workers_deliver_each_event_exactly_once(world, receiver, workers):
    receiver.stall_seconds = 0.005
    add_webhook(world, receiver)
    add_webhook(world, receiver)
    world.agents("Ana", "Ben")
    for _ in range(3):
        world.db.execute("insert into public.crm_leads (full_name) "
                         "select 'Lead ' || g from generate_series(1, 40) as g")
    expected = 2 * 120
    workers()
    workers()
    got = receiver.wait_for(expected, timeout=60)
    time.sleep(0.5)
    counts = Counter(r.webhook_id for r in receiver.received)
    assert len(counts) == expected and set(counts.values()) == {1}
    assert all(r.signature_ok for r in got)
    assert {r["status"] for r in deliveries(world)} == {"delivered"}


def test_a_worker_killed_mid_delivery_loses_nothing(world, receiver, workers):
    receiver.stall_seconds = 3.0
    add_webhook(world, receiver)
    world.lead(world.agent("Ana"))
    first = workers()
    receiver.wait_for(1)
    first.send_signal(signal.SIGKILL)  # mid-POST: the endpoint has not answered yet
    first.wait(10)
    [row] = deliveries(world)
    assert (row["status"], row["attempts"]) == ("pending", 0)
    receiver.stall_seconds = 0.0
    deliver_once(world)
    got = receiver.wait_for(2)
    assert len(got) == 2 and got[0].webhook_id == got[1].webhook_id  # the receiver can dedupe
    assert deliveries(world)[0]["status"] == "delivered"


def test_the_worker_wakes_on_the_event_and_stops_on_sigterm(world, receiver, workers):
    add_webhook(world, receiver)
    proc = workers()
    time.sleep(0.3)  # asleep: nothing pending, so it would sleep a minute without LISTEN
    start = time.time()
    world.lead(world.agent("Ana"))
    [got] = receiver.wait_for(1, timeout=10)
    assert got.at - start < 2.0
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=5)
    assert proc.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


# -- managing webhooks ---------------------------------------------------------------------

@pytest.mark.parametrize(("args", "words"), [
    (["ftp://example.com/x"], ["not an http:// or https:// URL", "SL010"]),
    (["example.com/hook"], ["SL010"]),
    (["https://example.com/x", "--events", "assigned,brunch"], ["brunch", "SL010", "Hint"]),
    (["https://example.com/x", "--secret", "not-a-secret"], ["whsec_", "SL010"]),
    (["https://example.com/x", "--secret", "whsec_c2hvcnQ="], ["24 to 64 bytes", "SL010"]),
    (["https://example.com/x", "--events", ","], ["--events"]),
])
def test_bad_webhooks_are_refused_in_one_line(world, args, words):
    proc = crm_sla("webhooks", "add", *args, url=world.url)
    assert_one_line_error(proc, *words)
    assert world.scalar("select count(*) from public.crm_sla_webhooks") == 0


def test_add_list_remove(world, receiver):
    hook = add_webhook(world, receiver, "--events", "warning,reassigned")
    listed = crm_sla("webhooks", "list", url=world.url)
    assert hook in listed.stdout and "warning,reassigned" in listed.stdout
    assert receiver.secrets[hook] not in listed.stdout
    assert crm_sla("webhooks", "remove", hook, url=world.url).returncode == 0
    assert "no webhooks" in crm_sla("webhooks", "list", url=world.url).stdout
    assert_one_line_error(crm_sla("webhooks", "remove", hook, url=world.url), "no webhook")
    assert_one_line_error(crm_sla("webhooks", "remove", "nope", url=world.url), "UUID")


def test_a_secret_given_in_sql_is_checked_and_a_missing_one_generated(world):
    row = world.db.execute("insert into public.crm_sla_webhooks (url) values "
                           "('https://example.com/a') returning secret").fetchone()
    assert row["secret"].startswith("whsec_") and len(row["secret"]) == 6 + 44
    with pytest.raises(psycopg.Error) as err:
        world.db.execute("update public.crm_sla_webhooks set url = 'javascript:alert(1)'")
    assert err.value.sqlstate == "SL010"


def test_status_shows_pending_and_dead_deliveries(world, receiver):
    from harness import status

    hook = add_webhook(world, receiver)
    world.lead(world.agent("Ana"))
    world.lead(world.agent("Ben"))
    world.db.execute("update public.crm_sla_webhook_deliveries set status = 'dead', "
                     "next_attempt_at = null where outbox_id = (select min(outbox_id) "
                     "from public.crm_sla_webhook_deliveries where webhook_id = %s)", (hook,))
    report = status.collect(world.url)
    assert report["deliveries"]["pending"] == 1 and report["deliveries"]["dead"] == 1
    assert report["deliveries"]["oldest_pending_seconds"] >= 0
    assert "deliveries: 1 pending (oldest" in status.render(report)


@pytest.mark.parametrize("who", ["agent", "anon"])
def test_only_admins_and_the_service_role_see_webhooks(world, receiver, who):
    add_webhook(world, receiver)
    admin = world.agent("Boss", role="admin")
    ana = world.agent("Ana")
    world.lead(ana)
    with world.as_agent(admin) as conn:
        assert conn.execute("select count(*) as n from public.crm_sla_webhooks").fetchone()["n"]
    with world.as_service() as conn:
        assert conn.execute(
            "select count(*) as n from public.crm_sla_webhook_deliveries").fetchone()["n"] == 1
    role = world.as_agent(ana) if who == "agent" else world.as_anon()
    with role as conn:
        for table in ("crm_sla_webhooks", "crm_sla_webhook_deliveries"):
            try:
                n = conn.execute(f"select count(*) as n from public.{table}").fetchone()["n"]
            except psycopg.errors.InsufficientPrivilege:
                n = 0
            assert n == 0
        with pytest.raises(psycopg.Error):
            conn.execute("insert into public.crm_sla_webhooks (url) values ('https://e.com/x')")


def test_the_purge_keeps_recent_and_unfinished_events(world, receiver):
    add_webhook(world, receiver)
    ana = world.agent("Ana")
    old_done, old_pending, recent = (world.lead(ana) for _ in range(3))
    world.db.execute("update public.crm_sla_webhook_deliveries as d set status = 'delivered' "
                     "from public.crm_sla_outbox as o where o.id = d.outbox_id "
                     "and o.lead_id <> %s", (old_pending,))
    world.db.execute("update public.crm_sla_outbox set created_at = now() - interval '31 days' "
                     "where lead_id in (%s, %s)", (old_done, old_pending))
    world.db.execute("call public.crm_sla_purge_outbox(1)")
    kept = {r["lead_id"] for r in world.db.execute("select lead_id from public.crm_sla_outbox")}
    assert kept == {old_pending, recent}
    assert world.scalar("select count(*) from public.crm_sla_webhook_deliveries") == 2


@pytest.mark.pg_cron
def test_the_daily_purge_job_runs_the_outbox_purge_in_the_crm_database(world):
    from harness import schedule
    from harness.target import with_database
    from harness.testing import connect

    info = schedule.probe(world.url)
    try:
        schedule.schedule_purge(world.url)
        with connect(with_database(world.url, info.cron_database)) as cron:
            job = cron.execute("select * from cron.job where jobname = %s",
                               (schedule.outbox_purge_job_name(info.crm_database),)).fetchone()
        assert (job["database"], job["schedule"]) == (info.crm_database, schedule.PURGE_SCHEDULE)
        world.lead(world.agent("Ana"))
        world.settings(outbox_keep_days=1)
        world.db.execute("update public.crm_sla_outbox set created_at = now() - interval '2 days'")
        world.db.execute(job["command"])
        assert world.scalar("select count(*) from public.crm_sla_outbox") == 0
    finally:
        schedule.unschedule_monitor(world.url)
    with connect(with_database(world.url, info.cron_database)) as cron:
        assert cron.execute("select count(*) as n from cron.job where jobname like %s",
                            (f"%:{info.crm_database}",)).fetchone()["n"] == 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_worker_does_not_spin_while_another_sends(world, receiver, workers):
    receiver.stall_seconds = 3.0
    add_webhook(world, receiver)
    first = workers()
    world.lead(world.agent("Ana"))
    receiver.wait_for(1)  # the first worker holds the delivery while its POST hangs
    second = workers()
    before = cpu_seconds(second.pid)
    time.sleep(1.5)
    assert cpu_seconds(second.pid) - before < 0.3
    assert len(receiver.wait_for(2, timeout=5)) == 1  # and it did not send it too
    assert first.poll() is None


def test_a_worker_connects_again_after_losing_the_database(world, receiver, workers):
    add_webhook(world, receiver)
    proc = workers()
    world.db.execute("select pg_terminate_backend(pid) from pg_stat_activity "
                     "where application_name = 'crm-sla deliver' "
                     "and datname = current_database()")
    world.lead(world.agent("Ana"))  # its notification went to the lost connection
    assert len(receiver.wait_for(1, timeout=10)) == 1
    assert proc.poll() is None
