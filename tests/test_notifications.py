"""What LISTEN crm_sla tells anyone who asks (row-level security does not reach it): event names
and ids only, the rest read by id through row-level security; and `crm-sla status` says how full
pg_notify's queue is, warning above half, since a listener that never reads fills it."""

from __future__ import annotations

import json

import psycopg

from harness import status
from harness.testing import connect
from tests.cli import crm_sla

IDS_ONLY = {"event", "outbox_id", "lead_id", "agent_id"}


def test_notifications_carry_event_names_and_ids_only(world):
    ann, bob = world.agents("Ann", "Bob")
    # Any role may LISTEN, anon included: row-level security has no say in it.
    listener = psycopg.connect(world.url, autocommit=True)
    listener.execute("set role anon")
    listener.execute("listen crm_sla")
    lead = world.lead(ann, full_name="Dana Secret", email="dana@example.com")
    world.travel("6 minutes")
    world.monitor()
    notes = [json.loads(n.payload) for n in listener.notifies(timeout=2, stop_after=2)]
    listener.close()
    assert [n["event"] for n in notes] == ["assigned", "reassigned"]
    assert all(set(n) == IDS_ONLY for n in notes), notes
    assert [(n["lead_id"], n["agent_id"]) for n in notes] == [(str(lead), str(ann)),
                                                              (str(lead), str(bob))]
    # The rest is in the outbox, by id, for those its row-level security lets read it.
    row = world.db.execute("select payload from public.crm_sla_outbox where id = %s",
                           (notes[1]["outbox_id"],)).fetchone()["payload"]
    assert (row["reason"], row["from_agent_id"], row["stage"]) == (
        "unclaimed", str(ann), "claim_window")


def test_status_shows_the_notification_queue_and_warns_above_half(world):
    world.agent("Ann")
    # A listener that never reads: it holds a transaction open, so its notifications stay queued.
    idle = psycopg.connect(world.url)
    idle.execute("listen crm_sla")
    idle.commit()
    idle.execute("select 1")  # idle in transaction from here on
    try:
        for _ in range(6):  # 600 notifications of ~150 bytes: a dozen of the queue's 8 kB pages
            world.db.execute("insert into public.crm_leads (full_name) "
                             "select 'Lead ' || g from generate_series(1, 100) as g")
        with connect(world.url) as conn:
            used = conn.execute("select pg_notification_queue_usage() as u").fetchone()["u"]
        assert used > 0
        report = status.collect(world.url)
        assert report["notification_queue"] == {"usage": report["notification_queue"]["usage"],
                                                "warning": False}
        assert report["notification_queue"]["usage"] > 0
        text = status.render(report)
        assert "notify queue < 0.01 % of pg_notify's queue in use" in text
        assert "WARNING" not in text
        # Above half, it warns (filling 4 GB for real is more than a test should do).
        report["notification_queue"] = {"usage": 0.62, "warning": True}
        line = next(ln for ln in status.render(report).splitlines()
                    if ln.startswith("notify queue"))
        assert "62.00 %" in line and "WARNING above 50%" in line and "idle in transaction" in line
    finally:
        idle.close()
    cli = crm_sla("status", url=world.url)
    assert cli.returncode == 0, cli.stderr
    assert "notify queue" in cli.stdout
    data = json.loads(crm_sla("status", "--json", url=world.url).stdout)
    assert set(data["notification_queue"]) == {"usage", "warning"}
