"""docs/reference.md's lifecycle table, row by row, through the functions and plain UPDATEs."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
import pytest

from harness.testing import SYSTEM_ACTOR, near

FIVE = timedelta(minutes=5)


def test_lead_inserted_with_owner_starts_claim_timer(world):
    ann = world.agent("Ann")
    lead = world.row(world.lead(ann))
    assert lead["assigned_agent_id"] == ann
    assert near(lead["claim_timer_started_at"], world.now())
    assert lead["claim_timer_expires_at"] == lead["claim_timer_started_at"] + FIVE
    assert lead["claim_window_expires_at"] == lead["claim_timer_expires_at"]
    assert lead["contact_timer_started_at"] is None
    assert lead["contact_timer_expires_at"] is None
    assert not lead["lead_claimed"] and not lead["claim_sla_breached"]
    assert lead["reassignment_count"] == 0
    assert world.audit() == []


def test_unowned_lead_is_routed_on_insert_without_audit_row(world):
    ann, bob = world.agents("Ann", "Bob")
    first = world.row(world.lead())
    second = world.row(world.lead())
    assert {first["assigned_agent_id"], second["assigned_agent_id"]} == {ann, bob}
    assert first["claim_timer_expires_at"] is not None
    assert world.audit() == []


def test_routing_never_picks_inactive_busy_admins_or_the_system_actor(world):
    world.agent("Gone", active=False)
    world.agent("Busy", accepting=False)
    world.agent("Boss", role="admin")
    only = world.agent("Only")
    for _ in range(4):
        assert world.row(world.lead())["assigned_agent_id"] == only


def test_unowned_lead_waits_for_an_agent_then_the_monitor_routes_it(world):
    lead = world.lead()
    assert world.row(lead)["assigned_agent_id"] is None
    assert world.monitor()["routed"] == 0
    ann = world.agent("Ann")
    world.travel("1 minute")
    result = world.monitor()
    assert result["routed"] == 1
    row = world.row(lead)
    assert row["assigned_agent_id"] == ann
    assert near(row["claim_timer_started_at"], world.now())
    assert world.audit(lead) == []


def test_claim_by_owner_starts_contact_timer(world):
    ann = world.agent("Ann")
    lead = world.lead(ann)
    world.travel("2 minutes")
    with world.as_agent(ann) as conn:
        claimed = conn.execute("select * from public.claim_lead(%s)", (lead,)).fetchone()
    assert claimed["lead_claimed"]
    row = world.row(lead)
    assert near(row["contact_timer_started_at"], world.now())
    assert near(row["contact_timer_expires_at"], world.now() + FIVE)
    assert not row["claim_sla_breached"] and not row["sla_breached"]


def test_claim_by_plain_update_has_the_same_effect(world):
    ann = world.agent("Ann")
    lead = world.lead(ann)
    world.travel("1 minute")
    with world.as_agent(ann) as conn:
        conn.execute("update public.crm_leads set lead_claimed = true where id = %s", (lead,))
    row = world.row(lead)
    assert row["lead_claimed"]
    assert near(row["contact_timer_started_at"], world.now())
    assert near(row["contact_timer_expires_at"], world.now() + FIVE)


def test_service_role_claims_with_plain_update(world):
    ann = world.agent("Ann")
    lead = world.lead(ann)
    with world.as_service() as conn:
        conn.execute("update public.crm_leads set lead_claimed = true where id = %s", (lead,))
    assert near(world.row(lead)["contact_timer_expires_at"], world.now() + FIVE)


def test_late_claim_sets_claim_breach(world):
    ann, _bob = world.agents("Ann", "Bob")
    lead = world.lead(ann)
    world.travel("6 minutes")
    with world.as_agent(ann) as conn:
        conn.execute("select public.claim_lead(%s)", (lead,))
    row = world.row(lead)
    assert row["lead_claimed"] and row["claim_sla_breached"] and row["sla_breached"]
    assert row["assigned_agent_id"] == ann  # claimed before the monitor ran: it stays
    assert world.monitor()["unclaimed"] == 0


def test_first_action_in_time_completes_the_contact_timer(world):
    ann, _bob = world.agents("Ann", "Bob")
    lead = world.lead(ann)
    with world.as_agent(ann) as conn:
        conn.execute("select public.claim_lead(%s)", (lead,))
        world.travel("4 minutes")
        done = conn.execute("select * from public.complete_first_action(%s)", (lead,)).fetchone()
    assert done["first_action_completed"] and not done["contact_sla_breached"]
    world.travel("1 hour")
    assert world.monitor()["no_contact"] == 0
    assert world.row(lead)["assigned_agent_id"] == ann


def test_late_first_action_sets_contact_breach(world):
    ann = world.agent("Ann")
    lead = world.lead(ann)
    with world.as_agent(ann) as conn:
        conn.execute("update public.crm_leads set lead_claimed = true where id = %s", (lead,))
        world.travel("5 minutes 1 second")
        conn.execute(
            "update public.crm_leads set first_action_completed = true where id = %s", (lead,))
    row = world.row(lead)
    assert row["contact_sla_breached"] and row["sla_breached"] and not row["claim_sla_breached"]


@pytest.mark.parametrize("action, flag, event", [
    ("claim_lead", "claim_sla_breached", "claimed"),
    ("complete_first_action", "contact_sla_breached", "contacted"),
])
def test_a_late_claim_or_first_action_in_a_long_transaction_is_late(world, action, flag, event):
    """Timed when the statement runs, not when its transaction began: a transaction opened while
    the window was still running, that acts after the window ran out, is late."""
    ann = world.agent("Ann")
    with world.as_agent(ann) as conn:
        conn.execute("begin")
        conn.execute("select public.sla_now()")  # the transaction (and its now()) starts here
        lead = world.lead(ann)  # a moment later: its claim window runs from then
        if action == "complete_first_action":
            world.db.execute("update public.crm_leads set lead_claimed = true where id = %s",
                             (lead,))
        world.travel("5 minutes")  # the window runs out while the transaction is open
        conn.execute(f"select public.{action}(%s)", (lead,))
        conn.execute("commit")
    row = world.row(lead)
    assert row[flag] and row["sla_breached"]
    assert world.scalar("select late from public.crm_lead_sla_events "
                        "where lead_id = %s and event = %s", (lead, event)) is True


def test_first_action_without_claim_claims_too(world):
    ann = world.agent("Ann")
    lead = world.lead(ann)
    with world.as_agent(ann) as conn:
        conn.execute("select public.complete_first_action(%s)", (lead,))
    row = world.row(lead)
    assert row["lead_claimed"] and row["first_action_completed"]
    assert near(row["contact_timer_started_at"], world.now())


def test_claim_window_expired_reassigns_unclaimed(world):
    ann, bob = world.agents("Ann", "Bob")
    lead = world.lead(ann)
    world.travel("5 minutes")
    result = world.monitor()
    assert result["unclaimed"] == 1 and result["no_contact"] == 0
    row = world.row(lead)
    now = row["reassigned_at"]
    assert near(now, world.now())
    assert row["assigned_agent_id"] == bob
    assert row["previous_agent_id"] == ann
    assert row["reassignment_count"] == 1
    assert row["reassignment_reason"] == "unclaimed"
    assert now == datetime.fromisoformat(result["at"])  # the time of the pass that moved it
    assert row["claim_sla_breached"] and row["sla_breached"] and not row["contact_sla_breached"]
    assert not row["lead_claimed"]
    assert row["claim_timer_started_at"] == now
    assert row["claim_timer_expires_at"] == row["claim_timer_started_at"] + FIVE
    assert row["claim_window_expires_at"] == row["claim_timer_started_at"] + FIVE
    assert row["contact_timer_started_at"] is None and row["contact_timer_expires_at"] is None
    [audit] = world.audit(lead)
    assert (audit["from_agent_id"], audit["to_agent_id"]) == (ann, bob)
    assert audit["reassigned_by"] == SYSTEM_ACTOR
    assert (audit["reason"], audit["stage"]) == ("unclaimed", "claim_window")
    assert audit["created_at"] == now


def test_claim_window_not_yet_expired_is_left_alone(world):
    ann, _bob = world.agents("Ann", "Bob")
    lead = world.lead(ann)
    world.travel("4 minutes 59 seconds")
    assert world.monitor()["unclaimed"] == 0
    assert world.row(lead)["assigned_agent_id"] == ann


def test_contact_window_expired_reassigns_no_contact(world):
    ann, bob = world.agents("Ann", "Bob")
    lead = world.lead(ann)
    with world.as_agent(ann) as conn:
        conn.execute("select public.claim_lead(%s)", (lead,))
    world.travel("5 minutes")
    result = world.monitor()
    assert result["no_contact"] == 1 and result["unclaimed"] == 0
    row = world.row(lead)
    now = row["reassigned_at"]
    assert near(now, world.now())
    assert (row["assigned_agent_id"], row["previous_agent_id"]) == (bob, ann)
    assert row["reassignment_reason"] == "no_contact"
    assert row["contact_sla_breached"] and row["sla_breached"] and not row["claim_sla_breached"]
    assert not row["lead_claimed"] and not row["first_action_completed"]
    assert row["contact_timer_started_at"] is None and row["contact_timer_expires_at"] is None
    assert row["claim_timer_expires_at"] == row["claim_timer_started_at"] + FIVE
    [audit] = world.audit(lead)
    assert (audit["reason"], audit["stage"]) == ("no_contact", "contact_window")
    assert audit["reassigned_by"] == SYSTEM_ACTOR


def test_breach_flags_stay_set_for_the_next_owner(world):
    ann, _bob, _cid = world.agents("Ann", "Bob", "Cid")
    lead = world.lead(ann)
    world.travel("5 minutes")
    world.monitor()
    with world.as_agent(world.row(lead)["assigned_agent_id"]) as conn:
        conn.execute("select public.claim_lead(%s)", (lead,))
        conn.execute("select public.complete_first_action(%s)", (lead,))
    row = world.row(lead)
    assert row["claim_sla_breached"] and row["sla_breached"]
    assert not row["contact_sla_breached"]


def test_changed_windows_apply_to_new_timers(world):
    ann, bob = world.agents("Ann", "Bob")
    world.settings(claim_window="2 minutes", contact_window="10 minutes")
    lead = world.lead(ann)
    assert near(world.row(lead)["claim_timer_expires_at"], world.now() + timedelta(minutes=2))
    world.travel("2 minutes")
    world.monitor()
    assert world.row(lead)["assigned_agent_id"] == bob
    with world.as_agent(bob) as conn:
        conn.execute("select public.claim_lead(%s)", (lead,))
    assert near(world.row(lead)["contact_timer_expires_at"], world.now() + timedelta(minutes=10))


def test_manual_reassignment_by_admin(world):
    ann, bob = world.agents("Ann", "Bob")
    boss = world.agent("Boss", role="admin")
    lead = world.lead(ann)
    with world.as_agent(ann) as conn:
        conn.execute("select public.claim_lead(%s)", (lead,))
    world.travel("1 minute")
    with world.as_agent(boss) as conn:
        moved = conn.execute(
            "select * from public.reassign_lead(%s, %s, %s)", (lead, bob, "customer asked for Bob")
        ).fetchone()
    assert moved["assigned_agent_id"] == bob
    row = world.row(lead)
    now = row["reassigned_at"]
    assert near(now, world.now())
    assert row["previous_agent_id"] == ann and row["reassignment_reason"] == "manual"
    assert row["reassignment_count"] == 1
    assert not row["lead_claimed"] and row["contact_timer_expires_at"] is None
    assert row["claim_timer_expires_at"] == row["claim_timer_started_at"] + FIVE
    assert not row["sla_breached"]
    [audit] = world.audit(lead)
    assert audit["reassigned_by"] == boss
    assert (audit["reason"], audit["stage"], audit["notes"]) == (
        "manual", "manual", "customer asked for Bob")


def test_manual_reassignment_by_service_role_is_by_the_system_actor(world):
    ann, bob = world.agents("Ann", "Bob")
    lead = world.lead(ann)
    with world.as_service() as conn:
        conn.execute("select public.reassign_lead(%s, %s)", (lead, bob))
    [audit] = world.audit(lead)
    assert audit["reassigned_by"] == SYSTEM_ACTOR and audit["to_agent_id"] == bob


@pytest.mark.parametrize(
    "case, sqlstate",
    [
        ("missing lead", "SL001"),
        ("missing agent", "SL007"),
        ("inactive agent", "SL007"),
        ("system actor", "SL007"),
        ("current owner", "SL008"),
        ("null lead", "SL010"),
        ("huge notes", "SL010"),
    ],
)
def test_manual_reassignment_refuses_bad_targets(world, case, sqlstate):
    import uuid

    ann = world.agent("Ann")
    gone = world.agent("Gone", active=False)
    lead = world.lead(ann)
    args = {
        "missing lead": (uuid.uuid4(), ann, None),
        "missing agent": (lead, uuid.uuid4(), None),
        "inactive agent": (lead, gone, None),
        "system actor": (lead, SYSTEM_ACTOR, None),
        "current owner": (lead, ann, None),
        "null lead": (None, ann, None),
        "huge notes": (lead, gone, "x" * 5000),
    }[case]
    with world.as_service() as conn, pytest.raises(psycopg.Error) as err:
        conn.execute("select public.reassign_lead(%s, %s, %s)", args)
    assert err.value.diag.sqlstate == sqlstate
    assert err.value.diag.message_hint
    row = world.row(lead)
    assert row["assigned_agent_id"] == ann and row["reassignment_count"] == 0
    assert world.audit() == []
