"""Availability (SPEC "Availability", docs/routing.md#availability): absences (self-service out of
office), decline_lead, the `unavailable` hand-over when an absence starts, and auto-pause of an
agent who keeps missing its claim windows."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import psycopg
import pytest
from playwright.sync_api import expect

from harness import status
from harness.testing import SYSTEM_ACTOR, connect
from tests.test_board import (  # noqa: F401 (fixtures)
    WAIT_MS,
    boards,
    browser,
    card,
    open_page,
    same_document,
)
from tests.test_concurrency import assert_leads_agree_with_audit, run_together
from tests.test_routing_v2 import BULK, assert_within_share, explain, routing


def absence(world, agent, starts="0 minutes", ends="1 hour", reason=None):
    """An absence from sla_now() + starts to sla_now() + ends, written by a trusted session."""
    return world.scalar(
        "insert into public.crm_sla_agent_absences (agent_id, starts_at, ends_at, reason) "
        "values (%s, public.sla_now() + %s::interval, public.sla_now() + %s::interval, %s) "
        "returning id", (agent, starts, ends, reason))


def decline(conn, lead, reason=None):
    conn.execute("select public.decline_lead(%s, %s)", (lead, reason))


def sqlstate(fn) -> str | None:
    try:
        fn()
    except psycopg.Error as exc:
        return exc.sqlstate
    return None


def events(world, event):
    return world.db.execute("select * from public.crm_sla_outbox where event = %s order by id",
                            (event,)).fetchall()


# -- absences: who may write them --------------------------------------------------------------

def test_an_agent_manages_its_own_absences_admins_all_anon_nothing(world):
    ann, bob = world.agents("Ann", "Bob")
    boss = world.agent("Boss", role="admin")
    insert = ("insert into public.crm_sla_agent_absences (agent_id, starts_at, ends_at, reason) "
              "values (%s, now(), now() + interval '1 day', 'vacation') returning id")
    with world.as_agent(ann) as conn:
        own = conn.execute(insert, (ann,)).fetchone()["id"]
        # Another agent's out of office: refused by row-level security.
        assert sqlstate(lambda: conn.execute(insert, (bob,))) == "42501"
    theirs = absence(world, bob)
    with world.as_agent(ann) as conn:
        seen = [r["id"] for r in conn.execute(
            "select id from public.crm_sla_agent_absences").fetchall()]
        assert seen == [own]
        assert conn.execute("delete from public.crm_sla_agent_absences where id = %s",
                            (theirs,)).rowcount == 0
        # Not editable by the agent (only read, insert, delete): an admin's call.
        assert conn.execute("update public.crm_sla_agent_absences set reason = 'x' "
                            "where id = %s", (own,)).rowcount == 0
        assert conn.execute("delete from public.crm_sla_agent_absences where id = %s",
                            (own,)).rowcount == 1
    with world.as_agent(boss) as conn:
        conn.execute(insert, (ann,))
        assert conn.execute("select count(*) as n from public.crm_sla_agent_absences"
                            ).fetchone()["n"] == 2
        assert conn.execute("update public.crm_sla_agent_absences set reason = 'sick' "
                            "where id = %s", (theirs,)).rowcount == 1
    with world.as_anon() as conn:
        assert sqlstate(lambda: conn.execute(
            "select * from public.crm_sla_agent_absences")) == "42501"


def test_an_absence_must_end_after_it_starts_and_is_bounded(world):
    ann = world.agent("Ann")
    with world.as_agent(ann) as conn:
        for starts, ends in (("1 hour", "1 hour"), ("2 hours", "1 hour")):
            assert sqlstate(lambda s=starts, e=ends: conn.execute(
                "insert into public.crm_sla_agent_absences (agent_id, starts_at, ends_at) "
                "values (%s, now() + %s::interval, now() + %s::interval)", (ann, s, e))) == "SL010"
        assert sqlstate(lambda: conn.execute(
            "insert into public.crm_sla_agent_absences (agent_id, starts_at, ends_at, reason) "
            "values (%s, now(), now() + interval '1 day', repeat('x', 501))", (ann,))) == "SL010"
        conn.execute(
            "insert into public.crm_sla_agent_absences (agent_id, starts_at, ends_at) "
            "select %s, now() + i * interval '1 day', now() + i * interval '1 day' + "
            "interval '1 hour' from generate_series(1, 100) as i", (ann,))
        assert sqlstate(lambda: conn.execute(
            "insert into public.crm_sla_agent_absences (agent_id, starts_at, ends_at) "
            "values (%s, now(), now() + interval '1 hour')", (ann,))) == "SL010"
    assert world.scalar("select count(*) from public.crm_sla_agent_absences") == 100


# -- routing skips an absent agent ------------------------------------------------------------

def test_intake_skips_an_absent_agent_and_explain_says_until_when(world):
    ann, bob = world.agents("Ann", "Bob")
    absence(world, ann, "0 minutes", "2 hours", "vacation")
    until = world.scalar("select ends_at from public.crm_sla_agent_absences")
    leads = [world.lead(full_name=f"Lead {i}") for i in range(6)]
    assert {world.row(lead)["assigned_agent_id"] for lead in leads} == {bob}
    why = explain(world, leads[0])
    assert why[ann]["eligible"] is False
    assert why[ann]["reason"] == "absent until " + world.scalar(
        "select %s::timestamptz::text", (until,))
    # A future absence changes nothing yet; a past one neither.
    absence(world, bob, "1 hour", "3 hours")
    absence(world, bob, "-3 hours", "-1 hour")
    assert world.row(world.lead(full_name="Later"))["assigned_agent_id"] == bob
    # The absence is over: Ann is routed again.
    world.travel("2 hours")
    assert world.row(world.lead(full_name="Back"))["assigned_agent_id"] == ann


def test_back_from_an_absence_no_catch_up_burst(world):
    a, b, c = world.agents("A", "B", "C")
    routing(world, c, weight=2)
    absence(world, c, "0 minutes", "1 hour")
    away = [world.row(world.lead(full_name=f"Away {i:03d}"))["assigned_agent_id"]
            for i in range(30)]
    assert Counter(away) == {a: 15, b: 15}
    world.travel("1 hour")
    back = [world.row(world.lead(full_name=f"Back {i:03d}"))["assigned_agent_id"]
            for i in range(40)]
    assert Counter(back) == {a: 10, b: 10, c: 20}
    assert_within_share(back, {a: 1, b: 1, c: 2})
    assert back[:4].count(c) == 2  # its share from the first round: no burst


# -- the hand-over when an absence starts ---------------------------------------------------

def test_an_absence_starting_hands_unclaimed_leads_over_at_the_next_pass(world):
    ann, bob = world.agents("Ann", "Bob")
    unclaimed = [world.lead(ann, full_name=f"Open {i}") for i in range(3)]
    claimed = world.lead(ann, full_name="Claimed")
    with world.as_agent(ann) as conn:
        conn.execute("select public.claim_lead(%s)", (claimed,))
    absence(world, ann, "1 minute", "1 day", "sick")
    assert world.monitor()["unclaimed"] == 0  # not started yet: nothing moves
    assert world.audit() == []
    world.travel("1 minute")
    at = world.now()
    world.monitor()
    for lead in unclaimed:
        row = world.row(lead)
        assert row["assigned_agent_id"] == bob
        assert row["reassignment_reason"] == "unavailable"
        assert row["reassignment_count"] == 1
        assert not row["claim_sla_breached"] and not row["sla_breached"]
        assert row["claim_timer_started_at"] == row["reassigned_at"]
        assert abs((row["claim_timer_started_at"] - at).total_seconds()) < 5
        [audit] = world.audit(lead)
        assert (audit["reason"], audit["stage"], audit["from_agent_id"], audit["to_agent_id"],
                audit["reassigned_by"]) == ("unavailable", "claim_window", ann, bob, SYSTEM_ACTOR)
    assert world.row(claimed)["assigned_agent_id"] == ann  # claimed leads stay
    moved = [e for e in events(world, "reassigned") if e["payload"]["reason"] == "unavailable"]
    assert sorted(e["lead_id"] for e in moved) == sorted(unclaimed)
    assert {e["payload"]["stage"] for e in moved} == {"claim_window"}
    # The next pass has nothing more to do.
    world.monitor()
    assert len(world.audit()) == 3
    assert_leads_agree_with_audit(world)


def test_a_hand_over_nobody_can_take_waits_and_counts_toward_max_reassignments(world):
    world.settings(max_reassignments=1)
    ann, bob = world.agents("Ann", "Bob")
    boss = world.agent("Boss", role="admin")
    lead = world.lead(ann)
    absence(world, ann)
    absence(world, bob)
    world.monitor()
    assert world.row(lead)["assigned_agent_id"] == ann  # nobody to take it: it stays, unflagged
    assert not world.row(lead)["sla_breached"] and world.audit() == []
    world.db.execute("delete from public.crm_sla_agent_absences where agent_id = %s", (bob,))
    world.monitor()
    assert world.row(lead)["assigned_agent_id"] == bob
    # That hand-over counted: Bob's breach now escalates (max_reassignments = 1).
    world.travel("5 minutes")
    assert world.monitor()["escalated"] == 1
    row = world.row(lead)
    assert row["assigned_agent_id"] == boss and row["sla_escalated_at"] is not None


def test_an_admin_may_still_give_an_absent_agent_a_lead_by_hand(world):
    ann, bob = world.agents("Ann", "Bob")
    boss = world.agent("Boss", role="admin")
    absence(world, ann)
    lead = world.lead(bob)
    with world.as_agent(boss) as conn:
        conn.execute("select public.reassign_lead(%s, %s, 'covering')", (lead, ann))
    world.travel("1 minute")
    world.monitor()
    assert world.row(lead)["assigned_agent_id"] == ann  # the admin's call stands


# -- decline_lead ----------------------------------------------------------------------------

def test_decline_routes_at_once_with_reason_notes_and_event(world):
    ann, bob = world.agents("Ann", "Bob")
    lead = world.lead(ann)
    world.travel("2 minutes")
    with world.as_agent(ann) as conn:
        decline(conn, lead, "I do not speak Portuguese")
        # Gone from the decliner's view at once.
        assert conn.execute("select count(*) as n from public.crm_leads").fetchone()["n"] == 0
    row = world.row(lead)
    assert row["assigned_agent_id"] == bob and row["previous_agent_id"] == ann
    assert row["reassignment_reason"] == "declined" and row["reassignment_count"] == 1
    assert not row["lead_claimed"] and not row["sla_breached"] and not row["claim_sla_breached"]
    assert row["claim_timer_expires_at"] - row["claim_timer_started_at"] == timedelta(minutes=5)
    assert abs((row["claim_timer_started_at"] - world.now()).total_seconds()) < 5
    [audit] = world.audit(lead)
    assert (audit["reason"], audit["stage"], audit["notes"], audit["reassigned_by"],
            audit["from_agent_id"], audit["to_agent_id"]) == (
        "declined", "claim_window", "I do not speak Portuguese", ann, ann, bob)
    [event] = [e for e in events(world, "reassigned") if e["lead_id"] == lead]
    assert event["agent_id"] == bob and event["payload"]["reason"] == "declined"
    # Bob sees it and can claim it.
    with world.as_agent(bob) as conn:
        conn.execute("select public.claim_lead(%s)", (lead,))
    assert world.row(lead)["lead_claimed"]


def test_decline_goes_to_someone_who_never_held_it(world):
    ann, bob, cat = world.agents("Ann", "Bob", "Cat")
    lead = world.lead(ann)
    with world.as_agent(ann) as conn:
        decline(conn, lead)
    first = world.row(lead)["assigned_agent_id"]
    with world.as_agent(first) as conn:
        decline(conn, lead)
    assert world.row(lead)["assigned_agent_id"] == ({bob, cat} - {first}).pop()


def test_decline_refusals(world):
    ann, bob = world.agents("Ann", "Bob")
    boss = world.agent("Boss", role="admin")
    mine, theirs, claimed = world.lead(ann), world.lead(bob), world.lead(ann)
    with world.as_agent(ann) as conn:
        conn.execute("select public.claim_lead(%s)", (claimed,))
        assert sqlstate(lambda: decline(conn, claimed)) == "SL003"
        assert sqlstate(lambda: decline(conn, theirs)) == "SL002"
        missing = "00000000-0000-0000-0000-00000000abcd"
        assert sqlstate(lambda: decline(conn, missing)) == "SL002"  # not whether it exists
        assert sqlstate(lambda: decline(conn, mine, "x" * 2001)) == "SL010"
    with world.as_agent(boss) as conn:  # admins move leads with reassign_lead
        assert sqlstate(lambda: decline(conn, mine)) == "SL002"
    with world.as_anon() as conn:
        assert sqlstate(lambda: decline(conn, mine)) == "42501"
    with world.as_service() as conn:
        assert sqlstate(lambda: decline(conn, missing)) == "SL001"
    assert world.audit() == []
    assert world.row(mine)["assigned_agent_id"] == ann


def test_decline_with_nobody_else_eligible_is_refused_and_changes_nothing(world):
    ann, bob = world.agents("Ann", "Bob")
    lead = world.lead(ann)
    absence(world, bob)
    before = world.row(lead)
    credit = world.db.execute("select * from public.crm_sla_agent_state order by agent_id"
                              ).fetchall()
    with world.as_agent(ann) as conn, pytest.raises(psycopg.Error) as caught:
        decline(conn, lead, "busy")
    assert caught.value.sqlstate == "SL007"
    assert caught.value.diag.message_hint
    assert world.row(lead) == before and world.audit() == []
    assert world.db.execute("select * from public.crm_sla_agent_state order by agent_id"
                            ).fetchall() == credit


def test_service_role_declines_for_the_owner_and_declines_count_toward_the_limit(world):
    world.settings(max_reassignments=2)
    ann, bob, cat = world.agents("Ann", "Bob", "Cat")
    boss = world.agent("Boss", role="admin")
    lead = world.lead(ann)
    with world.as_service() as conn:
        decline(conn, lead, "routing rule")
    assert world.audit(lead)[0]["reassigned_by"] == ann  # the decliner, the owner
    second = world.row(lead)["assigned_agent_id"]
    with world.as_agent(second) as conn:
        decline(conn, lead)
    # Two declines: the limit. The next breach escalates to an admin.
    world.travel("5 minutes")
    assert world.monitor()["escalated"] == 1
    assert world.row(lead)["assigned_agent_id"] == boss
    assert [a["reason"] for a in world.audit(lead)] == ["declined", "declined", "unclaimed"]
    assert {a["to_agent_id"] for a in world.audit(lead)[:2]} == {bob, cat}


def test_the_board_has_decline_beside_claim_for_an_agents_own_unclaimed_leads(
        world, boards, open_page):  # noqa: F811
    ann, bob = world.agents("Ann", "Bob")
    lead = world.lead(ann, full_name="Portuguese lead")
    kept = world.lead(ann, full_name="Kept lead")
    claimed = world.lead(ann, full_name="Claimed lead")
    world.db.execute("update public.crm_leads set lead_claimed = true where id = %s", (claimed,))
    page = open_page(boards(agent=ann))
    expect(card(page, lead).get_by_role("button", name="Decline")).to_be_visible(timeout=WAIT_MS)
    expect(card(page, claimed).get_by_role("button", name="Decline")).to_be_hidden()
    card(page, lead).get_by_role("button", name="Decline").click()
    expect(page.locator("#notice")).to_contain_text("Declined Portuguese lead", timeout=WAIT_MS)
    expect(card(page, lead)).to_have_count(0, timeout=WAIT_MS)  # Bob's now: off Ann's board
    [audit] = world.audit(lead)
    assert (audit["reason"], audit["reassigned_by"], audit["to_agent_id"]) == ("declined", ann, bob)
    # Nobody else can take it: the database's refusal, with its hint; the card stays.
    absence(world, bob)
    card(page, kept).get_by_role("button", name="Decline").click()
    notice = page.locator("#notice")
    expect(notice).to_contain_text("Decline refused for Kept lead", timeout=WAIT_MS)
    expect(notice).to_contain_text("(SL007)")
    expect(notice).to_contain_text("Hint: Keep it and claim it")
    expect(card(page, kept)).to_have_count(1)
    assert world.row(kept)["assigned_agent_id"] == ann
    assert same_document(page)


# -- auto-pause ------------------------------------------------------------------------------

def test_auto_pause_after_consecutive_missed_claims_and_a_claim_resets(world):
    world.settings(auto_pause_after=2)
    ann, bob = world.agents("Ann", "Bob")

    def miss(lead):
        """Bob misses the lead's claim window; Ann, who gets it, claims it."""
        world.travel("5 minutes")
        world.monitor()
        assert world.row(lead)["assigned_agent_id"] == ann
        with world.as_agent(ann) as conn:
            conn.execute("select public.claim_lead(%s)", (lead,))

    miss(world.lead(bob))
    assert world.scalar("select accepting_leads from public.crm_agents where id = %s", (bob,))
    # A claim between misses resets the count.
    claimed = world.lead(bob)
    with world.as_agent(bob) as conn:
        conn.execute("select public.claim_lead(%s)", (claimed,))
    miss(world.lead(bob))
    assert world.scalar("select accepting_leads from public.crm_agents where id = %s", (bob,))
    assert events(world, "agent_paused") == []
    miss(world.lead(bob))
    assert not world.scalar("select accepting_leads from public.crm_agents where id = %s", (bob,))
    [paused] = events(world, "agent_paused")
    assert paused["agent_id"] == bob and paused["lead_id"] is None
    assert paused["payload"]["agent_id"] == str(bob)
    assert paused["payload"]["manager_id"] is None  # no manager chain here (tests/test_ladder.py)
    # Bob now receives nothing; status lists him.
    assert world.row(world.lead(full_name="After"))["assigned_agent_id"] == ann
    report = status.collect(world.url)
    assert [p["agent"] for p in report["leads"]["paused_agents"]] == ["Bob"]
    assert "away         1 agent(s) not accepting leads: Bob (auto-paused" in status.render(report)
    with world.as_agent(bob) as conn:  # an agent reads its own pause
        assert [r["event"] for r in conn.execute(
            "select event from public.crm_sla_outbox where event = 'agent_paused'")] == [
            "agent_paused"]


def test_auto_pause_off_by_default_and_declines_are_no_misses(world):
    ann, bob = world.agents("Ann", "Bob")
    for _ in range(4):
        world.lead(bob)
    world.travel("5 minutes")
    world.monitor()
    assert world.scalar("select accepting_leads from public.crm_agents where id = %s", (bob,))
    world.settings(auto_pause_after=1)
    lead = world.lead(ann)
    if world.row(lead)["assigned_agent_id"] == ann:
        with world.as_agent(ann) as conn:
            decline(conn, lead)
    assert world.scalar("select accepting_leads from public.crm_agents where id = %s", (ann,))
    assert events(world, "agent_paused") == []
    assert sqlstate(lambda: world.settings(auto_pause_after=0)) == "23514"
    # A lead that runs out while its owner is out of office is no miss either.
    late = world.lead(bob)
    world.travel("5 minutes")
    absence(world, bob)
    world.monitor()
    assert world.row(late)["assigned_agent_id"] == ann
    assert world.audit(late)[-1]["reason"] == "unclaimed"  # a breach: the window ran out first
    assert world.scalar("select accepting_leads from public.crm_agents where id = %s", (bob,))
    assert events(world, "agent_paused") == []


# -- concurrency -----------------------------------------------------------------------------

def test_a_decline_racing_the_monitors_breach_has_one_outcome(world):
    ann = world.agent("Ann")
    world.agents("Bob", "Cat")
    outcomes = Counter()
    for _ in range(6):
        lead = world.lead(ann)
        world.travel("5 minutes")
        agent = world.connection_as("authenticated", ann)
        monitor = connect(world.url)
        try:
            declined, ran = run_together(
                lambda a=agent, lead=lead: decline(a, lead, "race"),
                lambda m=monitor: m.execute("select public.process_sla_timers() as r").fetchone(),
            )
        finally:
            monitor.close()
        assert not isinstance(ran, Exception), ran
        audit = world.audit(lead)
        assert len(audit) == 1, audit
        if isinstance(declined, Exception):
            assert declined.sqlstate == "SL002", declined
            assert audit[0]["reason"] == "unclaimed"
        else:
            assert audit[0]["reason"] == "declined"
        outcomes[audit[0]["reason"]] += 1
    assert_leads_agree_with_audit(world)
    assert sum(outcomes.values()) == 6


def test_an_absence_starting_while_a_bulk_intake_routes(world):
    ann, bob, cat = world.agents("Ann", "Bob", "Cat")
    started = {}

    def intake():
        with connect(world.url) as conn:
            conn.execute("set role service_role")
            conn.execute(BULK, (3000,))

    def go_away():
        time.sleep(0.05)
        with world.as_agent(ann) as conn:
            started["at"] = conn.execute(
                "insert into public.crm_sla_agent_absences (agent_id, starts_at, ends_at) "
                "values (%s, public.sla_now(), public.sla_now() + interval '1 day') "
                "returning starts_at", (ann,)).fetchone()["starts_at"]

    results = run_together(intake, go_away)
    assert not any(isinstance(r, Exception) for r in results), results
    # No lead went to Ann from the absence's start on.
    assert world.scalar(
        "select count(*) from public.crm_leads where assigned_agent_id = %s "
        "and claim_timer_started_at >= %s", (ann, started["at"])) == 0
    assert world.scalar("select count(*) from public.crm_leads where assigned_agent_id is null"
                        ) == 0
    # Those she got before it started move at the next pass; she holds none unclaimed after.
    world.monitor()
    assert world.scalar("select count(*) from public.crm_leads where assigned_agent_id = %s "
                        "and not lead_claimed", (ann,)) == 0
    assert world.scalar("select count(*) from public.crm_leads") == 3000
    assert_leads_agree_with_audit(world)
    assert {bob, cat} >= {r["to_agent_id"] for r in world.audit()}
