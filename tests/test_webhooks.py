"""Webhooks (docs/events.md): `crm-sla deliver` POSTs each event to each
webhook that wants it, signed as Standard Webhooks says, retries on the schedule of
crm_sla_settings.webhook_retry_delays, then gives up (dead); several workers deliver each event
once; a worker killed mid-delivery loses nothing. Against a real HTTP server (tests/receiver.py)
and real `crm-sla deliver` processes."""

from __future__ import annotations

import base64
import datetime
import email.utils
import gzip
import os
import resource
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from standardwebhooks import Webhook

from harness.paths import REPO_ROOT
from tests.cli import assert_one_line_error, crm_sla
from tests.receiver import Receiver


@pytest.fixture(autouse=True)
def loopback_allowed(world):
    """The receivers listen on 127.0.0.1, which the deliverer refuses unless allowed."""
    world.settings(webhook_allow_private=True)


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
    assert 4 < float(wait) <= 5 * 1.1  # the first delay of the default schedule, with jitter


def test_a_slow_endpoint_times_out_at_the_deadline(world, receiver, monkeypatch):
    from harness import deliver

    assert deliver.DEADLINE_SECONDS == 15.0
    receiver.stall_seconds = 2.0
    monkeypatch.setattr(deliver, "DEADLINE_SECONDS", 0.5)  # the same path, shorter
    add_webhook(world, receiver)
    world.lead(world.agent("Ana"))
    totals = deliver.Worker(world.url).run(once=True, report=lambda _m: None)
    assert totals.failed == 1
    assert deliveries(world)[0]["last_error"].startswith("timeout")


def test_a_name_lookup_that_never_answers_is_cut_at_the_deadline(world, receiver, monkeypatch):
    """A resolver that hangs (a black-holed DNS server) costs the POST its deadline: the lookup is
    the delivery's failure, retried later, and the worker goes on."""
    import socket

    from harness import deliver, outbound

    real = socket.getaddrinfo
    release = threading.Event()

    def hanging(host, *args, **kwargs):
        if host == "hangs.example.com":
            release.wait(30)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(outbound.socket, "getaddrinfo", hanging)
    monkeypatch.setattr(deliver, "DEADLINE_SECONDS", 1.0)
    add_webhook(world, receiver, url="http://hangs.example.com/crm")
    world.lead(world.agent("Ana"))
    start = time.monotonic()
    try:
        totals = deliver.Worker(world.url).run(once=True, report=lambda _m: None)
    finally:
        release.set()
    assert time.monotonic() - start < 5
    assert totals.failed == 1
    [row] = deliveries(world)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["last_error"].startswith("timeout")


def test_an_answer_dripping_a_byte_at_a_time_is_cut_at_the_deadline(world, receiver,
                                                                    monkeypatch):
    """A 200 whose body never ends: each read gets a byte in time, the POST as a whole does not."""
    from harness import deliver

    receiver.drip_seconds = 0.3
    monkeypatch.setattr(deliver, "DEADLINE_SECONDS", 2.0)
    add_webhook(world, receiver)
    world.lead(world.agent("Ana"))
    start = time.monotonic()
    totals = deliver.Worker(world.url).run(once=True, report=lambda _m: None)
    assert time.monotonic() - start < 6
    assert totals.failed == 1
    [row] = deliveries(world)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["last_error"].startswith("timeout")


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
    [row] = deliveries(world)  # leased: the attempt counted, due again when the lease ends
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert world.scalar("select next_attempt_at > now() + interval '1 minute' "
                        "from public.crm_sla_webhook_deliveries")
    world.db.execute("update public.crm_sla_webhook_deliveries set next_attempt_at = now()")
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
    (["http://hooks.example.com:443:8443/x"], ["443:8443", "SL010", "Hint"]),
    (["http://[1:2:3]/x"], ["not an IPv6 address", "SL010"]),
    (["https://example.com:0/x"], ["port 0", "SL010"]),
    (["https://example.com/x", "--secret", "whsec_" + base64.b64encode(bytes(32)).decode()],
     ["not all zero", "SL010", "Hint"]),
    (["https://example.com/x", "--secret", "whsec_" + base64.b64encode(b"k" * 32).decode()
      + " whsec_c2hvcnQ="], ["24 to 64 bytes", "SL010"]),
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


# -- hardening: no stored row and no endpoint stops the worker (SPEC "Release 0.2.0 and
# hardening") ------------------------------------------------------------------------------

def insert_unchecked(world, url: str, secret: str) -> None:
    """A webhook stored before the checks existed (the validate trigger bypassed)."""
    world.db.execute("alter table public.crm_sla_webhooks "
                     "disable trigger crm_sla_webhooks_100_validate")
    try:
        world.db.execute("insert into public.crm_sla_webhooks (url, secret) values (%s, %s)",
                         (url, secret))
    finally:
        world.db.execute("alter table public.crm_sla_webhooks "
                         "enable trigger crm_sla_webhooks_100_validate")


def test_a_stored_row_the_client_cannot_use_fails_its_delivery_not_the_worker(world, receiver):
    good = add_webhook(world, receiver)
    insert_unchecked(world, "http://hooks.example.com:443:8443/x", receiver.secrets[good])
    insert_unchecked(world, receiver.url, "whsec_!!!")
    world.lead(world.agent("Ana"))
    deliver_once(world)
    assert len(receiver.wait_for(1)) == 1
    rows = {r["webhook_id"]: r for r in deliveries(world)}
    assert rows.pop(uuid.UUID(good))["status"] == "delivered"
    errors = sorted(r["last_error"] for r in rows.values())
    assert [(r["status"], r["attempts"]) for r in rows.values()] == [("pending", 1)] * 2
    assert errors[0].startswith("EmptyWebhookSecretError"), errors  # the library's, as it is
    assert errors[1].startswith("URL refused: not an http"), errors


def gzip_bomb(size: int = 2 * 1024 * 1024) -> bytes:
    """`size` bytes of gzip (members one after another) that expand to about 1000 times that."""
    member = gzip.compress(bytes(64 * 1024 * 1024), compresslevel=9)
    return member * (size // len(member))


def limit_memory() -> None:
    one_gib = 1024 ** 3
    resource.setrlimit(resource.RLIMIT_AS, (one_gib, one_gib))


def test_a_compressed_answer_is_never_expanded(world, receiver):
    receiver.statuses = [500]
    receiver.answer_headers = {"content-encoding": "gzip"}
    receiver.answer_body = gzip_bomb()
    assert len(receiver.answer_body) > 1_900_000
    add_webhook(world, receiver)
    world.lead(world.agent("Ana"))
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "deliver", "--once"],
                          env=dict(os.environ, DATABASE_URL=world.url), cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60, preexec_fn=limit_memory)
    assert proc.returncode == 0, proc.stderr[-2000:]
    [got] = receiver.wait_for(1)
    assert got.headers["accept-encoding"] == "identity"
    [row] = deliveries(world)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["last_error"].startswith("HTTP 500")


def test_a_webhook_can_be_deleted_while_its_post_is_in_flight(world, receiver, workers):
    receiver.stall_seconds = 4.0
    hook = add_webhook(world, receiver)
    world.lead(world.agent("Ana"))
    proc = workers()
    receiver.wait_for(1)  # the POST is in flight
    with world.db.transaction():
        world.db.execute("set local lock_timeout = '1s'")
        world.db.execute("delete from public.crm_sla_webhooks where id = %s", (hook,))
    assert deliveries(world) == []
    time.sleep(4.5)  # the endpoint answers; the outcome has nothing left to record
    assert proc.poll() is None and deliveries(world) == []


def test_sigterm_stops_the_worker_whatever_the_endpoint_does(world, receiver, workers):
    receiver.drip_seconds = 3.0  # a 200 that never ends, within every read timeout
    add_webhook(world, receiver)
    proc = workers()
    world.lead(world.agent("Ana"))
    receiver.wait_for(1)
    time.sleep(1)
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert time.monotonic() - start < 20
    assert proc.returncode == 0 and "stopped" in out and "Traceback" not in err, err
    [row] = deliveries(world)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "stopped" in row["last_error"]


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "::1", "10.1.2.3", "172.16.0.1", "172.31.255.254",
    "192.168.1.1", "169.254.169.254", "169.254.1.1", "fc00::1", "fd12::1", "fe80::1", "0.0.0.0",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "::",
])
def test_private_loopback_link_local_and_metadata_addresses_are_blocked(address):
    from harness import outbound

    assert outbound.blocked(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "172.32.0.1", "2606:4700::1",
                                     "::ffff:93.184.216.34", "192.169.0.1"])
def test_public_addresses_are_not_blocked(address):
    from harness import outbound

    assert not outbound.blocked(address)


def test_private_addresses_are_refused_after_resolving_unless_allowed(world, receiver):
    world.settings(webhook_allow_private=False)
    assert world.scalar("select column_default from information_schema.columns "
                        "where table_name = 'crm_sla_settings' "
                        "and column_name = 'webhook_allow_private'") == "false"
    port = receiver.url.split(":")[2].split("/")[0]
    for url in (receiver.url, f"http://localhost:{port}/hooks/sla",
                f"http://[::ffff:127.0.0.1]:{port}/x", "http://169.254.169.254/latest/meta-data"):
        add_webhook(world, receiver, url=url)
    world.lead(world.agent("Ana"))
    deliver_once(world)
    rows = deliveries(world)
    assert len(rows) == 4 and receiver.received == []
    for row in rows:
        assert (row["status"], row["attempts"]) == ("pending", 1)
        assert row["last_error"].startswith("address refused:") and \
            "webhook_allow_private is false" in row["last_error"], row["last_error"]
    world.settings(webhook_allow_private=True)
    world.db.execute("update public.crm_sla_webhook_deliveries set next_attempt_at = now()")
    world.db.execute("delete from public.crm_sla_webhooks where url like '%169.254%'")
    deliver_once(world)
    assert {r["status"] for r in deliveries(world)} == {"delivered"}
    assert len(receiver.wait_for(3)) == 3


def test_410_gone_deactivates_the_webhook_and_stops_its_deliveries(world, receiver,
                                                                   monkeypatch):
    from harness import deliver

    monkeypatch.setattr(deliver, "BATCH", 1)
    receiver.statuses = [410]
    hook = add_webhook(world, receiver)
    ana = world.agent("Ana")
    world.lead(ana)
    world.lead(ana)
    deliver.Worker(world.url).run(once=True, report=lambda _m: None)
    assert len(receiver.received) == 1
    row = world.db.execute("select is_active, deactivated_reason from public.crm_sla_webhooks "
                           "where id = %s", (hook,)).fetchone()
    assert row["is_active"] is False and "410 Gone" in row["deactivated_reason"]
    assert sorted((r["status"], r["attempts"]) for r in deliveries(world)) == [
        ("pending", 0), ("pending", 1)]
    world.db.execute("update public.crm_sla_webhook_deliveries set next_attempt_at = now()")
    deliver_once(world)
    assert len(receiver.received) == 1
    from harness import status

    report = status.collect(world.url)
    assert report["deliveries"]["deactivated"] == 1
    assert "1 deactivated" in status.render(report)


def retry_wait(world) -> float:
    """The stored wait before the next attempt, in seconds (from now: the attempt just made)."""
    return float(world.scalar("select extract(epoch from next_attempt_at - now()) "
                              "from public.crm_sla_webhook_deliveries"))


@pytest.mark.parametrize(("status", "retry_after", "low", "high"), [
    (429, "3600", 3600, 3960),  # longer than the schedule's delay: used
    (503, "99999", 7200, 7920),  # capped at the schedule's longest delay
    (429, "5", 60, 66),  # shorter: the schedule's delay
    (503, None, 60, 66),  # an HTTP date an hour ahead (set below)
    (500, "3600", 60, 66),  # only 429 and 503 are listened to
])
def test_retry_after_is_honoured_within_the_schedule(world, receiver, status, retry_after, low,
                                                     high):
    world.settings(webhook_retry_delays=["1 minute", "2 hours"])
    receiver.statuses = [status]
    if retry_after is None:
        retry_after = email.utils.format_datetime(
            datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1), usegmt=True)
        low, high = 3590, 3960
    receiver.answer_headers = {"retry-after": retry_after}
    add_webhook(world, receiver)
    world.lead(world.agent("Ana"))
    deliver_once(world)
    assert low - 2 <= retry_wait(world) <= high + 2


def test_several_secrets_sign_one_v1_signature_each(world, receiver):
    stranger = Webhook(f"whsec_{base64.b64encode(os.urandom(32)).decode()}")
    secrets = [f"whsec_{base64.b64encode(os.urandom(32)).decode()}" for _ in range(2)]
    hook = add_webhook(world, receiver, "--secret", " ".join(secrets))
    world.lead(world.agent("Ana"))
    deliver_once(world)
    [got] = receiver.wait_for(1)
    signature = got.headers["webhook-signature"]
    assert len(signature.split(" ")) == 2 and all(s.startswith("v1,") for s in signature.split())
    headers = {k: got.headers[k] for k in ("webhook-id", "webhook-timestamp",
                                           "webhook-signature")}
    for secret in secrets:  # each key alone verifies it (a receiver mid-rotation has one)
        assert Webhook(secret).verify(got.body, headers) == got.payload
    with pytest.raises(Exception, match="No matching signature"):
        stranger.verify(got.body, headers)
    assert got.webhook_id.startswith(hook) and got.signature_ok


@pytest.mark.parametrize("who", ["service_role", "admin"])
def test_no_api_role_reads_the_secret(world, receiver, who):
    add_webhook(world, receiver)
    admin = world.agent("Boss", role="admin")
    role = world.as_service() if who == "service_role" else world.as_agent(admin)
    with role as conn:
        row = conn.execute("select id, url, events, is_active, created_at, deactivated_reason "
                           "from public.crm_sla_webhooks").fetchone()
        assert row["url"] == receiver.url
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as err:
            conn.execute("select secret from public.crm_sla_webhooks")
        assert err.value.sqlstate == "42501"
    with world.as_anon() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("select url from public.crm_sla_webhooks")


def test_the_list_hides_credentials_in_urls(world, receiver):
    add_webhook(world, receiver, url="https://user:s3cret-pass@hooks.example.com/x")
    listed = crm_sla("webhooks", "list", url=world.url)
    assert listed.returncode == 0, listed.stderr
    assert "https://***@hooks.example.com/x" in listed.stdout
    assert "s3cret-pass" not in listed.stdout and "user:" not in listed.stdout


def test_the_reconnect_backoff_starts_over_after_a_success(world, receiver, workers):
    add_webhook(world, receiver)
    proc = workers()

    def drop_and_wait_for_reconnect():
        dropped = world.scalar("select clock_timestamp() from (select pg_terminate_backend(pid) "
                               "from pg_stat_activity where application_name = 'crm-sla deliver' "
                               "and datname = current_database()) as t limit 1")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.1)
            if world.scalar("select count(*) from pg_stat_activity where application_name = "
                            "'crm-sla deliver' and datname = current_database() "
                            "and backend_start > %s", (dropped,)) == 2:
                time.sleep(0.3)  # both connections made: it is serving again
                return
        raise AssertionError("the worker did not connect again")

    drop_and_wait_for_reconnect()
    drop_and_wait_for_reconnect()
    world.lead(world.agent("Ana"))
    assert len(receiver.wait_for(1, timeout=10)) == 1
    proc.send_signal(signal.SIGTERM)
    out, _err = proc.communicate(timeout=20)
    waits = [line.rsplit("in ", 1)[1] for line in out.splitlines() if "connecting again" in line]
    assert waits == ["0.5 s", "0.5 s"], out


def test_the_purge_drops_events_waiting_only_on_inactive_webhooks(world, receiver):
    active = add_webhook(world, receiver)
    inactive = add_webhook(world, receiver)
    ana = world.agent("Ana")
    waits_on_inactive, waits_on_active = world.lead(ana), world.lead(ana)
    world.db.execute("update public.crm_sla_webhooks set is_active = false where id = %s",
                     (inactive,))
    world.db.execute(
        "update public.crm_sla_webhook_deliveries as d set status = 'delivered' "
        "from public.crm_sla_outbox as o where o.id = d.outbox_id "
        "and (d.webhook_id = %s and o.lead_id = %s)", (active, waits_on_inactive))
    world.db.execute("update public.crm_sla_outbox set created_at = now() - interval '31 days'")
    world.db.execute("call public.crm_sla_purge_outbox(1)")
    kept = {r["lead_id"] for r in world.db.execute("select lead_id from public.crm_sla_outbox")}
    assert kept == {waits_on_active}
    assert {(str(r["webhook_id"]), r["status"]) for r in deliveries(world)} == {
        (active, "pending"), (inactive, "pending")}
