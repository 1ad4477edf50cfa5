"""Stop the clock, line by line of the SPEC (docs/policies.md#stop-the-clock): a policy's
`pause_when` pauses a lead's running timer while the lead's row contains it (sla_paused_at set, no
deadline or warning falls due, a `paused` event) and resumes it with the open time that was left
(`resumed`); crm_sla_snooze pauses one lead until an instant (admins, the service role, owners
where the policy allows); the lead card, `crm-sla status` and the statistics show it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from harness import status
from tests.test_events import check, events, when
from tests.test_policies import local, office, policy, travel_to

NEAR = timedelta(seconds=1)  # the SLA clock runs between two statements of a test


def waiting_policy(world, **values) -> str:
    """A lead whose `status` is 'waiting' waits on the customer: its clock stops."""
    world.db.execute("alter table public.crm_leads add column if not exists status text")
    values = {"claim_window": "10 minutes", "contact_window": "10 minutes", **values}
    return policy(world, "Waiting", {}, pause_when=psycopg.types.json.Jsonb(
        {"status": "waiting"}), **values)


def set_status(world, lead, value, conn=None) -> None:
    (conn or world.db).execute("update public.crm_leads set status = %s where id = %s",
                               (value, lead))


def kinds(world, lead) -> list[str]:
    return [r["event"] for r in events(world, lead)]


def card(world, lead) -> dict:
    return world.db.execute("select * from public.crm_lead_sla_timers where lead_id = %s",
                            (lead,)).fetchone()


def sqlstate(call) -> str:
    with pytest.raises(psycopg.errors.Error) as caught:
        call()
    return caught.value.sqlstate


# -- configuration --------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ['"waiting"', "[1, 2]", "null", '{"x": "%s"}' % ("y" * 9000),
                                 '{"created_at": "soon"}'])
def test_pause_when_must_be_a_json_object_of_at_most_8_kb_whose_values_fit(world, bad):
    assert sqlstate(lambda: world.db.execute(
        "insert into public.crm_sla_policies (name, pause_when) values ('Bad', %s::jsonb)",
        (bad,))) == "SL010"
    assert world.scalar("select count(*) from public.crm_sla_policies") == 0


def test_a_policy_without_pause_when_never_pauses_and_owners_may_not_snooze_by_default(world):
    pid = policy(world, "Plain", {})
    assert world.db.execute("select pause_when, owner_may_snooze from public.crm_sla_policies "
                            "where id = %s", (pid,)).fetchone() == {
        "pause_when": None, "owner_may_snooze": False}


@pytest.mark.parametrize("column", ["sla_paused_at", "sla_snoozed_until", "sla_paused_left"])
def test_the_pause_columns_are_the_engines(world, column):
    ana = world.agent("Ana")
    lead = world.lead(ana)
    assert column in world.scalar("select public.crm_sla_engine_columns()")
    for conn_cm in (world.as_service(), world.as_agent(ana)):
        with conn_cm as conn:
            assert sqlstate(lambda conn=conn: conn.execute(
                f"update public.crm_leads set {column} = interval '1 hour' "
                f"where id = %s" if column == "sla_paused_left" else
                f"update public.crm_leads set {column} = now() where id = %s", (lead,))) == "SL009"
    with world.as_service() as conn:  # ignored on insert, like the timers
        sent = conn.execute("insert into public.crm_leads (assigned_agent_id, sla_paused_at) "
                            "values (%s, now()) returning id", (ana,)).fetchone()["id"]
    assert world.row(sent)["sla_paused_at"] is None


# -- pausing on the lead's own row ----------------------------------------------------------------

def test_a_status_pauses_the_timer_and_resuming_keeps_the_open_time_that_was_left(world):
    ana, ben = world.agents("Ana", "Ben")
    waiting_policy(world)
    lead = world.lead(ana)
    started = world.row(lead)["claim_timer_started_at"]
    world.travel("4 minutes")
    set_status(world, lead, "waiting")
    row = world.row(lead)
    assert row["sla_paused_at"] is not None
    assert row["claim_timer_expires_at"] is None and row["claim_window_expires_at"] is None
    assert row["sla_warn_at"] is None
    assert abs(row["sla_paused_left"] - timedelta(minutes=6)) < NEAR
    assert abs(row["sla_paused_warn_left"] - timedelta(minutes=4)) < NEAR
    paused = events(world, lead)[-1]
    payload = check(paused, "paused", lead, ana, "claim_window")
    assert payload["reason"] == "status" and payload["expires_at"] is None

    world.travel("3 hours")  # long past the deadline and the warning: neither falls due
    assert world.monitor()["unclaimed"] == 0
    assert world.scalar("select public.crm_sla_next_due(public.sla_now())") is None
    set_status(world, lead, "spoke to them")  # the other columns too: a non-SLA update
    row = world.row(lead)
    resumed_at = world.now()
    assert row["sla_paused_at"] is None and row["assigned_agent_id"] == ana
    assert abs(row["claim_timer_expires_at"] - (resumed_at + timedelta(minutes=6))) < NEAR
    assert row["claim_window_expires_at"] == row["claim_timer_expires_at"]
    assert abs(row["sla_warn_at"] - (resumed_at + timedelta(minutes=4))) < NEAR
    assert row["claim_timer_started_at"] == started
    payload = check(events(world, lead)[-1], "resumed", lead, ana, "claim_window")
    assert when(payload["expires_at"]) == row["claim_timer_expires_at"]
    assert kinds(world, lead) == ["assigned", "paused", "resumed"]

    travel_to(world, row["sla_warn_at"] + timedelta(milliseconds=500))
    world.monitor()
    assert kinds(world, lead)[-1] == "warning"
    travel_to(world, row["claim_timer_expires_at"] - timedelta(seconds=2))
    assert world.monitor()["unclaimed"] == 0
    travel_to(world, row["claim_timer_expires_at"] + timedelta(milliseconds=500))
    assert world.monitor()["unclaimed"] == 1
    assert world.row(lead)["assigned_agent_id"] == ben


def test_a_non_sla_update_of_a_paused_lead_changes_nothing(world):
    ana = world.agent("Ana")
    waiting_policy(world)
    lead = world.lead(ana, status="new")
    set_status(world, lead, "waiting")
    before = world.row(lead)
    world.travel("1 minute")
    world.db.execute("update public.crm_leads set email = 'x@example.com' where id = %s", (lead,))
    after = world.row(lead)
    assert {k: v for k, v in after.items() if k != "email"} == {
        k: v for k, v in before.items() if k != "email"}
    assert kinds(world, lead) == ["assigned", "paused"]


def test_a_lead_that_arrives_waiting_starts_paused(world):
    ana = world.agent("Ana")
    waiting_policy(world)
    lead = world.lead(ana, status="waiting")
    row = world.row(lead)
    assert row["sla_paused_at"] is not None and row["claim_timer_expires_at"] is None
    assert abs(row["sla_paused_left"] - timedelta(minutes=10)) < NEAR
    assert kinds(world, lead) == ["assigned", "paused"]


def test_paused_and_resumed_several_times_the_paused_time_never_counts(world):
    ana = world.agent("Ana")
    waiting_policy(world, claim_window="10 minutes")
    lead = world.lead(ana)
    for _ in range(3):  # 2 minutes running, 1 hour paused, three times
        world.travel("2 minutes")
        set_status(world, lead, "waiting")
        world.travel("1 hour")
        world.monitor()
        set_status(world, lead, "replied")
    row = world.row(lead)
    assert abs(row["claim_timer_expires_at"] - (world.now() + timedelta(minutes=4))) < NEAR
    assert abs(row["sla_paused_total"] - timedelta(hours=3)) < NEAR
    assert kinds(world, lead) == ["assigned"] + ["paused", "resumed"] * 3
    world.travel("1 minute")
    with world.as_agent(ana) as conn:
        conn.execute("select public.claim_lead(%s)", (lead,))
    # Statistics: 3 hours 7 minutes on the wall clock, 7 minutes of response time, in window.
    logged = world.db.execute("select elapsed, late from public.crm_lead_sla_events "
                              "where lead_id = %s", (lead,)).fetchone()
    assert abs(logged["elapsed"] - timedelta(minutes=7)) < NEAR and logged["late"] is False
    stats = world.db.execute("select * from public.crm_agent_sla_stats(public.sla_now() - "
                             "interval '1 day', public.sla_now() + interval '1 second') "
                             "where agent_id = %s", (ana,)).fetchone()
    assert 415 <= stats["median_seconds_to_claim"] <= 425
    assert stats["claimed_in_window"] == 1 and stats["claimed_late"] == 0


def test_paused_across_closed_time_and_a_dst_change_resumes_in_open_time(world):
    """Office hours 09:00-17:00 New York. A 10-minute claim window starts Friday 12 March 2027
    16:55; the customer is waited on from 16:57 (8 minutes of open time left) to Sunday 03:30,
    after the clocks went forward: the deadline is Monday 09:08 EDT."""
    ana = world.agent("Ana")
    cal = office(world)
    waiting_policy(world, calendar_id=cal, warn_at=0.9)
    travel_to(world, local("2027-03-12 16:55"))
    lead = world.lead(ana)
    world.travel("2 minutes")
    set_status(world, lead, "waiting")
    row = world.row(lead)
    assert abs(row["sla_paused_left"] - timedelta(minutes=8)) < NEAR
    assert abs(row["sla_paused_warn_left"] - timedelta(minutes=7)) < NEAR
    travel_to(world, local("2027-03-14 03:30"))
    set_status(world, lead, "replied")
    row = world.row(lead)
    assert abs(row["claim_timer_expires_at"] - local("2027-03-15 09:08")) < NEAR
    assert local("2027-03-15 09:08").utcoffset() == timedelta(hours=-4)  # EDT by then
    assert abs(row["sla_warn_at"] - local("2027-03-15 09:07")) < NEAR
    shown = card(world, lead)
    assert shown["timer_paused"] is True and shown["paused_reason"] == "closed"
    assert shown["resumes_at"] == local("2027-03-15 09:00")
    assert abs(float(shown["seconds_left"]) - 480) < 1


def test_a_pause_at_the_deadline_instant_does_not_stop_an_expired_timer(world):
    ana, ben = world.agents("Ana", "Ben")
    waiting_policy(world)
    on_time, too_late = world.lead(ana), world.lead(ana)
    deadline = world.row(too_late)["claim_timer_expires_at"]
    travel_to(world, deadline - timedelta(seconds=1))
    set_status(world, on_time, "waiting")
    assert world.row(on_time)["sla_paused_at"] is not None
    travel_to(world, deadline)  # the window's end has come: the breach stands
    set_status(world, too_late, "waiting")
    assert world.row(too_late)["sla_paused_at"] is None
    assert world.row(too_late)["claim_timer_expires_at"] == deadline
    assert world.monitor()["unclaimed"] == 1
    assert world.row(too_late)["assigned_agent_id"] == ben
    assert world.row(on_time)["assigned_agent_id"] == ana


def test_a_claim_while_paused_starts_the_contact_window_paused(world):
    ana = world.agent("Ana")
    waiting_policy(world, contact_window="30 minutes")
    lead = world.lead(ana)
    world.travel("2 minutes")
    set_status(world, lead, "waiting")
    world.travel("20 minutes")
    with world.as_agent(ana) as conn:
        conn.execute("select public.claim_lead(%s)", (lead,))
    row = world.row(lead)
    assert row["lead_claimed"] and not row["claim_sla_breached"]  # claimed in its window
    assert row["sla_paused_at"] is not None and row["contact_timer_expires_at"] is None
    assert row["sla_paused_left"] == timedelta(minutes=30)
    # The contact window's pause is written as it starts, in the claim's statement.
    assert kinds(world, lead) == ["assigned", "paused", "paused", "claimed"]
    check(events(world, lead)[2], "paused", lead, ana, "contact_window")
    logged = world.scalar("select elapsed from public.crm_lead_sla_events where lead_id = %s",
                          (lead,))
    assert abs(logged - timedelta(minutes=2)) < NEAR  # the 20 paused minutes do not count
    world.travel("2 hours")
    assert world.monitor()["no_contact"] == 0
    set_status(world, lead, "replied")
    assert abs(world.row(lead)["contact_timer_expires_at"]
               - (world.now() + timedelta(minutes=30))) < NEAR


def test_a_reassignment_while_paused_starts_the_new_owners_timer_paused(world):
    boss = world.agent("Boss", role="admin")
    ana, ben = world.agents("Ana", "Ben")
    waiting_policy(world)
    lead = world.lead(ana)
    world.travel("3 minutes")
    set_status(world, lead, "waiting")
    with world.as_agent(boss) as conn:
        conn.execute("select public.reassign_lead(%s, %s, 'holiday')", (lead, ben))
    row = world.row(lead)
    assert row["assigned_agent_id"] == ben
    assert row["sla_paused_at"] is not None and row["claim_timer_expires_at"] is None
    assert row["sla_paused_left"] == timedelta(minutes=10)  # a fresh window, paused
    assert row["sla_paused_total"] is None
    assert kinds(world, lead) == ["assigned", "paused", "paused", "reassigned"]
    check(events(world, lead)[2], "paused", lead, ben, "claim_window")
    world.travel("1 day")
    world.monitor()
    assert world.row(lead)["assigned_agent_id"] == ben


def test_a_policy_edited_to_drop_pause_when_resumes_its_paused_leads(world):
    ana = world.agent("Ana")
    pid = waiting_policy(world)
    paused, running = world.lead(ana), world.lead(ana)
    world.travel("3 minutes")
    set_status(world, paused, "waiting")
    world.travel("1 hour")
    world.db.execute("update public.crm_sla_policies set pause_when = null where id = %s",
                     (pid,))
    row = world.row(paused)
    assert row["sla_paused_at"] is None
    assert abs(row["claim_timer_expires_at"] - (world.now() + timedelta(minutes=7))) < NEAR
    assert kinds(world, paused)[-1] == "resumed"
    assert kinds(world, running) == ["assigned"]
    # A condition set again pauses the leads that meet it, at once.
    world.db.execute("update public.crm_sla_policies set pause_when = '{\"status\": "
                     "\"waiting\"}' where id = %s", (pid,))
    assert world.row(paused)["sla_paused_at"] is not None
    assert world.row(running)["sla_paused_at"] is None


def test_the_card_and_status_show_a_status_pause(world, db_url):
    ana = world.agent("Ana")
    waiting_policy(world)
    lead = world.lead(ana)
    world.travel("4 minutes")
    set_status(world, lead, "waiting")
    shown = card(world, lead)
    assert shown["timer_paused"] is True and shown["paused_reason"] == "status"
    assert shown["resumes_at"] is None and shown["timer_expires_at"] is None
    assert abs(float(shown["seconds_left"]) - 360) < 1
    report = status.collect(db_url)["leads"]
    assert report["paused_timers"] == {"status": 1, "snoozed": 0}
    assert "clock stop   1 timer(s): 1 by status, 0 snoozed" in status.render(
        status.collect(db_url))


# -- snoozes --------------------------------------------------------------------------------------

def test_a_snooze_pauses_until_its_instant_and_the_monitor_resumes_it_then(world):
    boss = world.agent("Boss", role="admin")
    ana = world.agent("Ana")
    lead = world.lead(ana)  # no policy: admins and the service role may snooze any lead
    world.travel("1 minute")
    until = world.now() + timedelta(hours=2)
    with world.as_agent(boss) as conn:
        conn.execute("select public.crm_sla_snooze(%s, %s, 'call back at 3')", (lead, until))
    row = world.row(lead)
    assert row["sla_snoozed_until"] == until and row["sla_paused_at"] is not None
    payload = check(events(world, lead)[-1], "paused", lead, ana, "claim_window")
    assert when(payload["until"]) == until and payload["note"] == "call back at 3"
    assert payload["reason"] == "snoozed"
    shown = card(world, lead)
    assert (shown["paused_reason"], shown["resumes_at"]) == ("snoozed", until)
    assert world.scalar("select public.crm_sla_next_due(public.sla_now())") == until

    travel_to(world, until - timedelta(seconds=2))
    world.monitor()
    assert world.row(lead)["sla_paused_at"] is not None
    travel_to(world, until + timedelta(milliseconds=300))
    world.monitor()
    row = world.row(lead)
    assert row["sla_paused_at"] is None and row["sla_snoozed_until"] is None
    # Resumed at the snooze's instant, not when the monitor came: 4 minutes were left.
    assert abs(row["claim_timer_expires_at"] - (until + timedelta(minutes=4))) < NEAR
    payload = check(events(world, lead)[-1], "resumed", lead, ana, "claim_window")
    assert payload["reason"] == "snoozed"


def test_a_snooze_of_null_resumes_at_once(world):
    ana = world.agent("Ana")
    lead = world.lead(ana)
    with world.as_service() as conn:
        conn.execute("select public.crm_sla_snooze(%s, public.sla_now() + interval '1 day')",
                     (lead,))
        world.travel("3 hours")
        conn.execute("select public.crm_sla_snooze(%s, null)", (lead,))
    row = world.row(lead)
    assert row["sla_paused_at"] is None and row["sla_snoozed_until"] is None
    assert abs(row["claim_timer_expires_at"] - (world.now() + timedelta(minutes=5))) < NEAR
    assert kinds(world, lead) == ["assigned", "paused", "resumed"]


def test_a_snooze_longer_than_30_days_is_refused_and_nothing_is_written(world):
    ana = world.agent("Ana")
    lead = world.lead(ana)
    before = world.row(lead)
    with world.as_service() as conn:
        for until in ("public.sla_now() + interval '30 days 1 second'",
                      "public.sla_now() - interval '1 minute'"):
            assert sqlstate(lambda conn=conn, until=until: conn.execute(
                f"select public.crm_sla_snooze(%s, {until})", (lead,))) == "SL010"
    assert world.row(lead) == before
    assert kinds(world, lead) == ["assigned"]


def test_an_agent_snoozing_another_agents_lead_gets_sl002(world):
    ana, ben = world.agents("Ana", "Ben")
    policy(world, "Self-service", {}, owner_may_snooze=True)
    lead = world.lead(ana)
    with world.as_agent(ben) as conn:
        assert sqlstate(lambda: conn.execute(
            "select public.crm_sla_snooze(%s, public.sla_now() + interval '1 hour')",
            (lead,))) == "SL002"
    assert world.row(lead)["sla_paused_at"] is None


def test_the_owner_snoozes_only_where_its_policy_allows(world):
    ana = world.agent("Ana")
    world.db.execute("alter table public.crm_leads add column if not exists status text")
    policy(world, "Strict", {"status": "strict"})
    policy(world, "Self-service", {"status": "self"}, owner_may_snooze=True)
    strict, free = world.lead(ana, status="strict"), world.lead(ana, status="self")
    with world.as_agent(ana) as conn:
        assert sqlstate(lambda: conn.execute(
            "select public.crm_sla_snooze(%s, public.sla_now() + interval '1 hour')",
            (strict,))) == "SL006"
        conn.execute("select public.crm_sla_snooze(%s, public.sla_now() + interval '1 hour', "
                     "'lunch')", (free,))
    assert world.row(strict)["sla_paused_at"] is None
    assert world.row(free)["sla_paused_at"] is not None
    with world.as_anon() as conn:
        assert sqlstate(lambda: conn.execute(
            "select public.crm_sla_snooze(%s, null)", (free,))) in ("42501", "SL006")


def test_a_snooze_that_ends_while_the_status_still_waits_stays_paused(world):
    ana = world.agent("Ana")
    waiting_policy(world)
    lead = world.lead(ana)
    with world.as_service() as conn:
        conn.execute("select public.crm_sla_snooze(%s, public.sla_now() + interval '1 hour')",
                     (lead,))
    set_status(world, lead, "waiting")
    world.travel("2 hours")
    world.monitor()
    row = world.row(lead)
    assert row["sla_snoozed_until"] is None and row["sla_paused_at"] is not None
    assert card(world, lead)["paused_reason"] == "status"
    set_status(world, lead, "replied")
    assert world.row(lead)["sla_paused_at"] is None


def test_editing_the_calendar_keeps_pauses_and_never_counts_paused_time(world):
    """Re-planning recomputes a deadline from the timer's start: for a timer that was paused that
    would count the pause, so a resumed timer keeps the deadline its resume gave it, and a paused
    one stays paused (it resumes in the calendar as it is then)."""
    ana = world.agent("Ana")
    cal = office(world)
    waiting_policy(world, calendar_id=cal)
    travel_to(world, local("2027-03-10 10:00"))  # a Wednesday
    resumed, paused = world.lead(ana), world.lead(ana)
    world.travel("2 minutes")
    set_status(world, resumed, "waiting")
    set_status(world, paused, "waiting")
    world.travel("1 hour")
    set_status(world, resumed, "replied")
    deadline = world.row(resumed)["claim_timer_expires_at"]
    assert abs(deadline - local("2027-03-10 11:10")) < NEAR
    world.db.execute("insert into public.crm_sla_holidays (calendar_id, day) values "
                     "(%s, '2027-12-24')", (cal,))
    assert world.row(resumed)["claim_timer_expires_at"] == deadline
    row = world.row(paused)
    assert row["sla_paused_at"] is not None and row["claim_timer_expires_at"] is None


def test_the_worked_example_a_lead_waiting_on_the_customer_over_a_weekend(world):
    """docs/policies.md#stop-the-clock, row by row (Berlin office hours, Monday to Friday 9-5)."""
    ana = world.agent("Ana")
    berlin = ZoneInfo("Europe/Berlin")

    def at(text):
        return datetime.fromisoformat(text).replace(tzinfo=berlin)

    cal = world.scalar("insert into public.crm_sla_calendars (name, time_zone) values "
                       "('Sales office', 'Europe/Berlin') returning id")
    world.db.execute("insert into public.crm_sla_calendar_hours (calendar_id, weekday, opens, "
                     "closes) select %s, d, '09:00', '17:00' from generate_series(1, 5) as d",
                     (cal,))
    world.db.execute("alter table public.crm_leads add column status text")
    policy(world, "Partner", {"source": "partner"}, claim_window="30 minutes",
           contact_window="4 hours", calendar_id=cal, owner_may_snooze=True,
           pause_when=psycopg.types.json.Jsonb({"status": "waiting on customer"}))
    travel_to(world, at("2026-12-11 14:50"))
    lead = world.lead(ana, source="partner")
    travel_to(world, at("2026-12-11 15:00"))
    with world.as_agent(ana) as conn:
        conn.execute("select public.claim_lead(%s)", (lead,))
        assert abs(world.row(lead)["contact_timer_expires_at"] - at("2026-12-14 11:00")) < NEAR
        travel_to(world, at("2026-12-11 15:30"))
        set_status(world, lead, "waiting on customer", conn)
        row = world.row(lead)
        assert abs(row["sla_paused_left"] - timedelta(hours=3, minutes=30)) < NEAR
        assert row["contact_timer_expires_at"] is None
        travel_to(world, at("2026-12-13 12:00"))
        world.monitor()
        shown = card(world, lead)
        assert (shown["timer_paused"], shown["paused_reason"]) == (True, "status")
        assert abs(float(shown["seconds_left"]) - 12600) < 1
        travel_to(world, at("2026-12-14 10:00"))
        set_status(world, lead, "replied", conn)
        assert abs(world.row(lead)["contact_timer_expires_at"] - at("2026-12-14 13:30")) < NEAR
        travel_to(world, at("2026-12-14 11:20"))
        conn.execute("select public.complete_first_action(%s)", (lead,))
    row = world.row(lead)
    assert row["assigned_agent_id"] == ana and not row["contact_sla_breached"]
    contact = world.db.execute("select elapsed, late from public.crm_lead_sla_events where "
                               "lead_id = %s and event = 'contacted'", (lead,)).fetchone()
    assert abs(contact["elapsed"] - timedelta(hours=1, minutes=50)) < NEAR
    assert contact["late"] is False
    assert kinds(world, lead) == ["assigned", "claimed", "paused", "resumed", "contacted"]


def test_webhooks_may_ask_for_paused_and_resumed_and_receive_them(world):
    hook = world.scalar("insert into public.crm_sla_webhooks (url, events) values "
                        "('https://example.com/hook', array['paused', 'resumed']) returning id")
    ana = world.agent("Ana")
    lead = world.lead(ana)
    with world.as_service() as conn:
        conn.execute("select public.crm_sla_snooze(%s, public.sla_now() + interval '1 hour')",
                     (lead,))
        conn.execute("select public.crm_sla_snooze(%s, null)", (lead,))
    sent = world.db.execute(
        "select o.event from public.crm_sla_webhook_deliveries as d join public.crm_sla_outbox "
        "as o on o.id = d.outbox_id where d.webhook_id = %s order by o.id", (hook,)).fetchall()
    assert [r["event"] for r in sent] == ["paused", "resumed"]


def test_a_paused_timer_takes_no_ladder_step_and_its_steps_move_by_the_paused_time(world):
    """Stop the clock and the ladder together: a step falls due on open time the timer ran, so a
    pause holds the next step back (no step event while paused) and resuming puts it the open
    time it had left after the resume instant; a second step keeps its share of the window."""
    from tests.test_ladder import at_instant, just_before, names, step
    ana = world.agent("Ana")
    waiting = waiting_policy(world)  # a 10-minute claim window
    step(world, waiting, "nudge", 0.5)
    step(world, waiting, "last call", 0.9)
    lead = world.lead(ana)
    first = world.row(lead)["sla_step_at"]
    world.travel("2 minutes")
    set_status(world, lead, "waiting")
    row = world.row(lead)
    assert row["sla_step_at"] is None
    assert abs(row["sla_paused_step_left"] - timedelta(minutes=3)) < NEAR
    travel_to(world, first + timedelta(minutes=30))  # long past the first step's instant
    world.monitor()
    assert names(world, lead) == []
    set_status(world, lead, "talking")
    resumed = world.row(lead)
    assert abs(resumed["sla_step_at"] - (world.now() + timedelta(minutes=3))) < NEAR
    just_before(world, resumed["sla_step_at"])
    assert names(world, lead) == []
    at_instant(world, resumed["sla_step_at"])
    assert names(world, lead) == ["nudge"]
    following = world.row(lead)["sla_step_at"]  # 0.9 of the window: 4 minutes of open time on
    assert abs(following - (resumed["sla_step_at"] + timedelta(minutes=4))) < 2 * NEAR
    at_instant(world, following)
    assert names(world, lead) == ["nudge", "last call"]


def test_a_paused_lead_of_an_agent_who_goes_away_moves_and_stays_paused(world):
    """Availability and stop the clock together: an absence hands over every unclaimed lead of
    the agent, a paused one too (it has no deadline to wait for), and the new owner's timer
    starts paused with its whole window, since the lead still waits on the customer."""
    ana, ben = world.agents("Ana", "Ben")
    waiting_policy(world)
    lead = world.lead(ana)
    world.travel("3 minutes")
    set_status(world, lead, "waiting")
    world.db.execute(
        "insert into public.crm_sla_agent_absences (agent_id, starts_at, ends_at) "
        "values (%s, public.sla_now(), public.sla_now() + interval '1 week')", (ana,))
    world.monitor()
    row = world.row(lead)
    assert row["assigned_agent_id"] == ben and row["reassignment_reason"] == "unavailable"
    assert row["sla_paused_at"] is not None and row["claim_timer_expires_at"] is None
    assert abs(row["sla_paused_left"] - timedelta(minutes=10)) < NEAR
    set_status(world, lead, "answered")
    assert abs(world.row(lead)["claim_timer_expires_at"]
               - (world.now() + timedelta(minutes=10))) < NEAR
