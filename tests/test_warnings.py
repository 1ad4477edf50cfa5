"""Warnings before the breach (docs/events.md): when a running timer has used
`warn_at` of its window, in its calendar's open time, without the stage's action, the monitor
writes one `warning` event for that lead and stage, once per timer run; none when the policy's
warn_at is NULL; leads with no policy follow crm_sla_settings.warn_at (0.8). The lead card view
shows the warning instant (timer_warn_at) and whether it was written (timer_warned)."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
import pytest

from tests.test_events import KEYS, check, events, when
from tests.test_policies import friday_evening, local, office, policy, travel_to


def warnings(world, lead_id=None) -> list[dict]:
    return [r for r in events(world, lead_id) if r["event"] == "warning"]


def card(world, lead_id) -> dict:
    return world.db.execute("select * from public.crm_lead_sla_timers where lead_id = %s",
                            (lead_id,)).fetchone()


def just_before(world, at: datetime) -> None:
    travel_to(world, at - timedelta(seconds=2))
    world.monitor()


def just_after(world, at: datetime) -> None:
    travel_to(world, at + timedelta(milliseconds=500))
    world.monitor()


def test_a_claim_timer_warns_once_at_warn_at_of_its_window(world):
    ana = world.agent("Ana")
    lead = world.lead(ana)
    row = world.row(lead)
    started, expires = row["claim_timer_started_at"], row["claim_timer_expires_at"]
    assert row["sla_warn_at"] == started + (expires - started) * 0.8  # the settings' 0.8
    assert card(world, lead)["timer_warn_at"] == row["sla_warn_at"]
    assert card(world, lead)["timer_warned"] is False

    just_before(world, row["sla_warn_at"])
    assert warnings(world, lead) == []
    just_after(world, row["sla_warn_at"])
    world.monitor()  # once per timer run
    [warning] = warnings(world, lead)
    payload = check(warning, "warning", lead, ana, "claim_window")
    assert set(payload) >= KEYS | {"warn_at"}
    assert when(payload["expires_at"]) == expires
    assert when(payload["warn_at"]) == row["sla_warn_at"]
    assert world.row(lead)["assigned_agent_id"] == ana  # a warning moves nothing
    shown = card(world, lead)
    assert shown["timer_warned"] is True and shown["timer_warn_at"] == row["sla_warn_at"]


def test_the_contact_timer_warns_too(world):
    ana = world.agent("Ana")
    lead = world.lead(ana)
    just_after(world, world.row(lead)["sla_warn_at"])  # the claim timer's warning
    with world.as_agent(ana) as conn:
        conn.execute("select public.claim_lead(%s)", (lead,))
    row = world.row(lead)
    started, expires = row["contact_timer_started_at"], row["contact_timer_expires_at"]
    assert row["sla_warn_at"] == started + (expires - started) * 0.8
    assert card(world, lead)["timer_warned"] is False  # a new timer run
    just_before(world, row["sla_warn_at"])
    assert len(warnings(world, lead)) == 1
    just_after(world, row["sla_warn_at"])
    first, second = warnings(world, lead)
    check(first, "warning", lead, ana, "claim_window")
    payload = check(second, "warning", lead, ana, "contact_window")
    assert when(payload["expires_at"]) == expires
    assert card(world, lead)["timer_warned"] is True


def test_a_first_action_before_the_warning_silences_it(world):
    ana = world.agent("Ana")
    lead = world.lead(ana)
    world.db.execute("select public.complete_first_action(%s)", (lead,))
    assert world.row(lead)["sla_warn_at"] is None
    world.travel("20 minutes")
    world.monitor()
    assert warnings(world, lead) == []
    assert card(world, lead)["timer_warn_at"] is None


def test_a_reassignment_starts_a_new_run_that_warns_again(world):
    ana, ben = world.agents("Ana", "Ben")
    lead = world.lead(ana)
    just_after(world, world.row(lead)["sla_warn_at"])
    just_after(world, world.row(lead)["claim_timer_expires_at"])
    row = world.row(lead)
    assert row["assigned_agent_id"] == ben and row["sla_warned_at"] is None
    assert card(world, lead)["timer_warned"] is False
    just_after(world, row["sla_warn_at"])
    assert [(r["agent_id"], r["payload"]["stage"]) for r in warnings(world, lead)] == [
        (ana, "claim_window"), (ben, "claim_window")]
    assert [r["event"] for r in events(world, lead)] == [
        "assigned", "warning", "reassigned", "warning"]


def test_a_manual_reassignment_after_the_warning_warns_the_new_owner(world):
    admin = world.agent("Boss", role="admin")
    ana, ben = world.agents("Ana", "Ben")
    lead = world.lead(ana)
    just_after(world, world.row(lead)["sla_warn_at"])
    with world.as_agent(admin) as conn:
        conn.execute("select public.reassign_lead(%s, %s, 'vip')", (lead, ben))
    just_after(world, world.row(lead)["sla_warn_at"])
    assert [r["agent_id"] for r in warnings(world, lead)] == [ana, ben]


def test_a_timer_already_expired_breaches_without_a_late_warning(world):
    """The monitor came after the deadline (here: the clock jumped past both): the breach is
    handled, and the old run is not warned after the fact."""
    ana, ben = world.agents("Ana", "Ben")
    lead = world.lead(ana)
    world.travel("6 minutes")
    world.monitor()
    assert [r["event"] for r in events(world, lead)] == ["assigned", "reassigned"]


def test_business_time_warning_waits_for_the_calendar_to_open(world):
    """Five minutes of a ten-minute window in office hours (09:00-17:00 New York, weekdays): a
    lead arriving Friday 16:58 has used two minutes by the close and warns Monday 09:03."""
    ana = world.agent("Ana")
    cal = office(world)
    policy(world, "Office", {}, calendar_id=cal, claim_window="10 minutes", warn_at=0.5)
    start = friday_evening(world)
    lead = world.lead(ana)
    monday = (start + timedelta(days=3)).date().isoformat()
    warn_at = local(f"{monday} 09:03") + (start - local(f"{start.date().isoformat()} 16:58"))
    row = world.row(lead)
    assert abs(row["sla_warn_at"] - warn_at) < timedelta(seconds=1)
    assert row["claim_timer_expires_at"] - row["sla_warn_at"] == timedelta(minutes=5)

    travel_to(world, local(f"{(start + timedelta(days=1)).date().isoformat()} 12:00"))
    world.monitor()  # Saturday: plain time would have warned long ago
    assert warnings(world, lead) == []
    just_before(world, row["sla_warn_at"])
    assert warnings(world, lead) == []
    just_after(world, row["sla_warn_at"])
    [warning] = warnings(world, lead)
    assert when(check(warning, "warning", lead, ana, "claim_window")["expires_at"]) \
        == row["claim_timer_expires_at"]


def test_editing_the_calendar_replans_the_warning(world):
    ana = world.agent("Ana")
    cal = office(world)
    policy(world, "Office", {}, calendar_id=cal, claim_window="10 minutes", warn_at=0.5)
    start = friday_evening(world)
    lead = world.lead(ana)
    before = world.row(lead)["sla_warn_at"]
    saturday = (start + timedelta(days=1)).weekday()
    world.db.execute("insert into public.crm_sla_calendar_hours (calendar_id, weekday, opens, "
                     "closes) values (%s, %s, '10:00', '12:00')", (cal, (saturday + 1) % 7))
    after = world.row(lead)["sla_warn_at"]
    assert after < before
    saturday_text = (start + timedelta(days=1)).date().isoformat()
    assert abs(after - local(f"{saturday_text} 10:03")
               - (start - local(f"{start.date().isoformat()} 16:58"))) < timedelta(seconds=1)


@pytest.mark.parametrize("where", ["policy", "settings"])
def test_no_warning_when_warn_at_is_null(world, where):
    ana = world.agent("Ana")
    if where == "policy":
        policy(world, "Quiet", {}, warn_at=None)
    else:
        world.settings(warn_at=None)
    lead = world.lead(ana)
    assert world.row(lead)["sla_warn_at"] is None
    with world.as_agent(ana) as conn:
        conn.execute("select public.claim_lead(%s)", (lead,))
    assert world.row(lead)["sla_warn_at"] is None
    world.travel("4 minutes 30 seconds")
    world.monitor()
    assert warnings(world, lead) == []
    shown = card(world, lead)
    assert shown["timer_warn_at"] is None and shown["timer_warned"] is False


def test_a_policy_warn_at_applies_to_its_leads(world):
    ana = world.agent("Ana")
    policy(world, "Early", {}, claim_window="10 minutes", warn_at=0.25)
    lead = world.lead(ana)
    row = world.row(lead)
    assert row["sla_warn_at"] - row["claim_timer_started_at"] == timedelta(minutes=2, seconds=30)


def test_a_rolled_back_pass_leaves_no_warning_and_the_next_pass_writes_it(world):
    ana = world.agent("Ana")
    lead = world.lead(ana)
    travel_to(world, world.row(lead)["sla_warn_at"] + timedelta(milliseconds=500))
    with pytest.raises(RuntimeError), world.db.transaction():
        world.monitor()
        assert len(warnings(world, lead)) == 1
        raise RuntimeError("roll back")
    assert warnings(world, lead) == []
    assert world.row(lead)["sla_warned_at"] is None
    world.monitor()
    assert len(warnings(world, lead)) == 1


def test_the_monitor_wakes_for_the_warning(world):
    ana = world.agent("Ana")
    lead = world.lead(ana)
    row = world.row(lead)
    assert world.scalar("select public.crm_sla_next_due(public.sla_now())") == row["sla_warn_at"]
    just_after(world, row["sla_warn_at"])
    assert world.scalar("select public.crm_sla_next_due(public.sla_now())") \
        == row["claim_timer_expires_at"]


def test_a_warning_due_defeats_the_idle_fast_path(world):
    """Nothing unowned and no deadline due, only a warning: the pass still writes it."""
    ana = world.agent("Ana")
    lead = world.lead(ana)
    just_after(world, world.row(lead)["sla_warn_at"])
    assert len(warnings(world, lead)) == 1


@pytest.mark.parametrize("column", ["sla_warn_at", "sla_warned_at"])
def test_clients_cannot_write_the_warning_columns(world, column):
    ana = world.agent("Ana")
    lead = world.lead(ana)
    with world.as_agent(ana) as conn, pytest.raises(psycopg.Error) as raised:
        conn.execute(f"update public.crm_leads set {column} = now() + interval '1 day' "
                     "where id = %s", (lead,))
    assert raised.value.sqlstate == "SL009"


def test_the_warning_columns_are_ignored_on_insert(world):
    ana = world.agent("Ana")
    lead = world.lead(ana, sla_warn_at=datetime(2000, 1, 1).astimezone(),
                      sla_warned_at=datetime(2000, 1, 1).astimezone())
    row = world.row(lead)
    assert row["sla_warned_at"] is None
    assert row["sla_warn_at"] > row["claim_timer_started_at"]


def test_more_warnings_than_a_batch_are_written_pass_after_pass(world):
    """A bulk import warns all at once: the monitor writes one batch a pass and says to go on."""
    world.settings(monitor_batch_size=3)
    ana = world.agent("Ana")
    world.db.execute("insert into public.crm_leads (assigned_agent_id, full_name) "
                     "select %s, 'Lead ' || g from generate_series(1, 7) as g", (ana,))
    world.travel("4 minutes 30 seconds")
    first = world.monitor()
    assert (first["warned"], first["remaining"]) == (3, 1)
    assert world.monitor()["warned"] == 3
    last = world.monitor()
    assert (last["warned"], last["remaining"]) == (1, 0)
    assert len(warnings(world)) == 7


def test_a_backlog_of_breaches_is_not_warned_and_does_not_block_later_warnings(world):
    """Leads stuck with nobody eligible keep their expired timers: their warning instants are
    cleared with their breach, so they never stand before the warnings still to come."""
    world.settings(monitor_batch_size=2)
    ana = world.agent("Ana")
    stuck = [world.lead(ana) for _ in range(2)]  # a batch of them
    world.travel("6 minutes")
    assert world.monitor()["no_eligible_agent"] == 2
    assert all(world.row(lead)["sla_warn_at"] is None for lead in stuck)
    fresh = world.lead(ana)
    just_after(world, world.row(fresh)["sla_warn_at"])
    assert [r["lead_id"] for r in warnings(world)] == [fresh]


def test_an_unowned_lead_has_no_warning_until_it_is_routed(world):
    lead = world.lead(None)  # nobody to take it
    assert world.row(lead)["sla_warn_at"] is None
    ana = world.agent("Ana")
    assert world.monitor()["routed"] == 1
    row = world.row(lead)
    assert row["sla_warn_at"] - row["claim_timer_started_at"] == timedelta(minutes=4)
    just_after(world, row["sla_warn_at"])
    [warning] = warnings(world, lead)
    check(warning, "warning", lead, ana, "claim_window")


def test_a_warning_is_not_written_again_by_passes_that_have_other_work(world):
    """Once per timer run, also when the passes after it are busy with other leads' breaches
    (they take the working path, not the idle one)."""
    world.settings(monitor_batch_size=1)
    ana, bob, _cid = world.agents("Ana", "Bob", "Cid")
    early = [world.lead(bob, full_name=f"Early {i}") for i in range(3)]
    world.travel("30 seconds")
    lead = world.lead(ana)
    row = world.row(lead)
    just_after(world, row["sla_warn_at"])
    while world.monitor()["warned"]:
        pass
    assert len(warnings(world, lead)) == 1
    travel_to(world, world.row(early[-1])["claim_timer_expires_at"] + timedelta(seconds=1))
    moved = [world.monitor()["unclaimed"] for _ in early]
    assert moved == [1, 1, 1]  # three passes, each with a breach to move
    assert world.now() < row["claim_timer_expires_at"]  # the same timer run of the lead
    assert len(warnings(world, lead)) == 1
