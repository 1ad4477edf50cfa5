"""The SLA ladder and the manager chain (SPEC "SLA ladder and the manager chain", issue 25):
managers on agents and teams and the chain they make; a policy's steps, taken at a share of a
running timer's window in its open time as `step` events for the owner or its manager, once per
timer run; what a breach does (on_breach reassign, manager or flag); escalation up the chain
before any admin; and what bad ladder rows get (SL010 with a hint, nothing written)."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
import pytest

from tests.test_events import check, events, when
from tests.test_policies import friday_evening, local, office, policy, travel_to


def manage(world, agent, manager) -> None:
    world.db.execute(
        "insert into public.crm_sla_agent_routing (agent_id, manager_id) values (%s, %s) "
        "on conflict (agent_id) do update set manager_id = excluded.manager_id", (agent, manager))


def chain(world, agent) -> list:
    return [r["agent_id"] for r in world.db.execute(
        "select agent_id from public.crm_sla_manager_chain(%s) order by level", (agent,))]


def step(world, policy_id, name: str, at: float, notify: str = "owner",
         stage: str = "claim_window") -> str:
    return world.scalar(
        "insert into public.crm_sla_policy_steps (policy_id, stage, at, notify, name) "
        "values (%s, %s, %s, %s, %s) returning id", (policy_id, stage, at, notify, name))


def steps(world, lead_id) -> list[dict]:
    return [r for r in events(world, lead_id) if r["event"] == "step"]


def names(world, lead_id) -> list[str]:
    return [r["payload"]["step"] for r in steps(world, lead_id)]


def at_instant(world, at: datetime) -> dict:
    """The SLA clock half a second past `at`, then one monitor pass."""
    travel_to(world, at + timedelta(milliseconds=500))
    return world.monitor()


def just_before(world, at: datetime) -> dict:
    travel_to(world, at - timedelta(seconds=2))
    return world.monitor()


# -- the manager chain -------------------------------------------------------------------------

def test_the_chain_goes_up_past_inactive_managers_and_through_teams(world):
    rep, lead_mgr, away, director = world.agents("Rep", "Lead", "Away", "Director")
    vp = world.agent("VP", role="admin")
    world.db.execute("update public.crm_agents set is_active = false where id = %s", (away,))
    team = world.scalar("insert into public.crm_sla_teams (name, manager_id) values "
                        "('B sales', %s) returning id", (lead_mgr,))
    other = world.scalar("insert into public.crm_sla_teams (name, manager_id) values "
                         "('Z later', %s) returning id", (director,))
    world.db.execute("insert into public.crm_sla_team_members (team_id, agent_id) values "
                     "(%s, %s), (%s, %s)", (team, rep, other, rep))
    manage(world, lead_mgr, away)      # an inactive manager is skipped, the chain goes on
    manage(world, away, director)
    manage(world, director, vp)
    # The rep has no manager of its own: its first team by name ('B sales') gives one.
    assert chain(world, rep) == [lead_mgr, director, vp]
    assert chain(world, vp) == []


def test_a_cycle_in_the_data_never_loops_and_never_repeats_an_agent(world):
    a, b, c = world.agents("A", "B", "C")
    manage(world, a, b)
    manage(world, b, c)
    manage(world, c, a)
    assert chain(world, a) == [b, c]
    assert chain(world, b) == [c, a]


def test_an_agent_cannot_be_its_own_manager(world):
    ann = world.agent("Ann")
    with pytest.raises(psycopg.Error) as err:
        manage(world, ann, ann)
    assert err.value.diag.sqlstate == "SL010" and err.value.diag.message_hint
    assert world.scalar("select count(*) from public.crm_sla_agent_routing") == 0


@pytest.mark.parametrize(("column", "value"), [
    ("stage", "lunch_window"), ("at", 0), ("at", 1), ("at", 1.5), ("notify", "ceo"),
])
def test_a_bad_step_is_refused_with_a_hint_and_nothing_written(world, column, value):
    pol = policy(world, "Web")
    row = {"stage": "claim_window", "at": 0.5, "notify": "owner", column: value}
    with pytest.raises(psycopg.Error) as err:
        step(world, pol, "bad", row["at"], row["notify"], row["stage"])
    assert err.value.diag.sqlstate == "SL010" and err.value.diag.message_hint
    assert world.scalar("select count(*) from public.crm_sla_policy_steps") == 0


# -- steps ------------------------------------------------------------------------------------

def test_steps_fire_at_their_share_of_the_window_once_per_run_for_owner_and_manager(world):
    rep, boss = world.agents("Rep", "Boss")
    manage(world, rep, boss)
    pol = policy(world, "Web", {"source": "web"}, claim_window="10 minutes", warn_at=None)
    step(world, pol, "remind_rep", 0.5)
    step(world, pol, "tell_manager", 0.8, "manager")
    lead = world.lead(rep, source="web")
    row = world.row(lead)
    start = row["claim_timer_started_at"]
    assert row["sla_step_at"] == start + timedelta(minutes=5)

    just_before(world, start + timedelta(minutes=5))
    assert steps(world, lead) == []
    assert at_instant(world, start + timedelta(minutes=5))["steps"] == 1
    world.monitor()  # once per timer run
    [first] = steps(world, lead)
    payload = check(first, "step", lead, rep, "claim_window")
    assert payload["step"] == "remind_rep" and payload["notify"] == "owner"
    assert when(payload["expires_at"]) == row["claim_timer_expires_at"]
    assert world.row(lead)["sla_step_at"] == start + timedelta(minutes=8)

    at_instant(world, start + timedelta(minutes=8))
    world.monitor()
    assert names(world, lead) == ["remind_rep", "tell_manager"]
    second = steps(world, lead)[1]
    check(second, "step", lead, boss, "claim_window")
    assert world.row(lead)["assigned_agent_id"] == rep  # a step moves nothing
    assert world.row(lead)["sla_step_at"] is None


def test_a_manager_step_without_a_manager_is_still_written_for_nobody(world):
    rep = world.agent("Rep")
    pol = policy(world, "Web", {"source": "web"}, warn_at=None)
    step(world, pol, "escalate_note", 0.5, "manager")
    lead = world.lead(rep, source="web")
    at_instant(world, world.row(lead)["sla_step_at"])
    [row] = steps(world, lead)
    assert row["agent_id"] is None and row["payload"]["agent_id"] is None
    assert row["payload"]["notify"] == "manager" and row["payload"]["step"] == "escalate_note"


def test_a_late_monitor_takes_every_step_due_once_and_leads_without_policy_have_steps(world):
    rep = world.agent("Rep")
    step(world, None, "half", 0.5)      # the steps of leads without a policy
    step(world, None, "most", 0.7)
    step(world, None, "contact_half", 0.5, stage="contact_window")
    lead = world.lead(rep)
    start = world.row(lead)["claim_timer_started_at"]
    at_instant(world, start + timedelta(minutes=4))  # both due by now (5 min window)
    world.monitor()
    assert names(world, lead) == ["half", "most"]
    # The claim starts the contact timer: a new run with its own steps.
    with world.as_agent(rep) as conn:
        conn.execute("select public.claim_lead(%s)", (lead,))
    row = world.row(lead)
    assert row["sla_step_at"] == row["contact_timer_started_at"] + timedelta(seconds=150)
    at_instant(world, row["sla_step_at"])
    assert names(world, lead) == ["half", "most", "contact_half"]
    check(steps(world, lead)[-1], "step", lead, rep, "contact_window")


def test_a_monitor_that_comes_after_the_deadline_takes_the_steps_then_the_breach(world):
    """Once per timer run, even late: a pass that comes after the deadline (a monitor held up)
    writes the steps the run passed, once, and then moves the lead; the next owner's run takes
    its own steps."""
    ann, ben = world.agents("Ann", "Ben")
    step(world, None, "half", 0.5)
    step(world, None, "most", 0.9)
    lead = world.lead(ann)
    expires = world.row(lead)["claim_timer_expires_at"]
    at_instant(world, expires + timedelta(seconds=20))
    assert names(world, lead) == ["half", "most"]
    kinds = [e["event"] for e in events(world, lead)]
    assert kinds[-3:] == ["step", "step", "reassigned"], kinds
    assert world.row(lead)["assigned_agent_id"] == ben
    world.monitor()
    assert names(world, lead) == ["half", "most"]  # not again


def test_a_reassignment_starts_a_new_run_that_takes_the_steps_again(world):
    ann, ben = world.agents("Ann", "Ben")
    pol = policy(world, "Web", {"source": "web"}, warn_at=None)
    step(world, pol, "remind", 0.5)
    lead = world.lead(ann, source="web")
    at_instant(world, world.row(lead)["sla_step_at"])
    at_instant(world, world.row(lead)["claim_timer_expires_at"])
    row = world.row(lead)
    assert row["assigned_agent_id"] == ben
    assert row["sla_step_at"] == row["claim_timer_started_at"] + timedelta(seconds=150)
    at_instant(world, row["sla_step_at"])
    assert [r["agent_id"] for r in steps(world, lead)] == [ann, ben]


def test_steps_count_open_time_and_follow_a_calendar_edit(world):
    """A 60-minute claim window in a 9-17 office: a lead at Friday 16:58 takes its 0.5 step
    after 30 open minutes, on Monday at 09:28; when Monday opens at 10:00 instead, at 10:28."""
    rep = world.agent("Rep")
    cal = office(world)
    pol = policy(world, "Office", {"source": "web"}, claim_window="60 minutes",
                 calendar_id=cal, warn_at=None)
    step(world, pol, "half", 0.5)
    start = friday_evening(world)
    lead = world.lead(rep, source="web")
    monday = (start + timedelta(days=3)).date().isoformat()
    row = world.row(lead)
    planned = row["sla_step_at"]
    assert planned == local(f"{monday} 09:28") + (row["claim_timer_started_at"] - local(
        f"{start.date().isoformat()} 16:58"))
    world.db.execute("update public.crm_sla_calendar_hours set opens = '10:00' "
                     "where calendar_id = %s and weekday = 1", (cal,))
    replanned = world.row(lead)["sla_step_at"]
    assert replanned == planned + timedelta(hours=1)
    just_before(world, replanned)
    assert steps(world, lead) == []
    at_instant(world, replanned)
    assert names(world, lead) == ["half"]


def test_the_monitor_wakes_for_the_next_step_and_a_routed_lead_plans_its_steps(world):
    pol = policy(world, "Web", {"source": "web"}, warn_at=None, claim_window="1 hour")
    step(world, pol, "remind", 0.25)
    lead = world.lead(None, source="web")  # nobody to take it: it waits, with no timer
    assert world.row(lead)["sla_step_at"] is None
    ann = world.agent("Ann")
    assert world.monitor()["routed"] == 1  # out of the overflow queue: its timer starts
    row = world.row(lead)
    assert row["assigned_agent_id"] == ann
    assert row["sla_step_at"] == row["claim_timer_started_at"] + timedelta(minutes=15)
    assert world.scalar("select public.crm_sla_next_due(public.sla_now())") == row["sla_step_at"]
    world.db.execute("select public.complete_first_action(%s)", (lead,))
    assert world.row(lead)["sla_step_at"] is None  # no timer runs: no step left


def test_a_manager_reads_the_step_events_addressed_to_it_and_the_rep_does_not(world):
    rep, boss = world.agents("Rep", "Boss")
    manage(world, rep, boss)
    pol = policy(world, "Web", {"source": "web"}, warn_at=None)
    step(world, pol, "tell_manager", 0.5, "manager")
    lead = world.lead(rep, source="web")
    at_instant(world, world.row(lead)["sla_step_at"])
    with world.as_agent(boss) as conn:
        seen = conn.execute("select event, payload from public.crm_sla_outbox").fetchall()
    assert [(r["event"], r["payload"]["step"]) for r in seen] == [("step", "tell_manager")]
    with world.as_agent(rep) as conn:
        mine = conn.execute("select event from public.crm_sla_outbox").fetchall()
    assert [r["event"] for r in mine] == ["assigned"]


# -- breaches ---------------------------------------------------------------------------------

def test_on_breach_manager_moves_the_lead_up_the_chain(world):
    rep, other, boss = world.agents("Rep", "Other", "Boss")
    manage(world, rep, boss)
    policy(world, "Web", {"source": "web"}, on_breach="manager")
    lead = world.lead(rep, source="web")
    at_instant(world, world.row(lead)["claim_timer_expires_at"])
    row = world.row(lead)
    assert row["assigned_agent_id"] == boss and row["claim_sla_breached"]
    [audit] = world.audit(lead)
    assert (audit["from_agent_id"], audit["to_agent_id"], audit["reason"]) == (
        rep, boss, "unclaimed")
    assert other  # an eligible agent outside the chain was passed over


def test_on_breach_manager_with_no_eligible_manager_reassigns_as_before(world):
    rep, other, boss = world.agents("Rep", "Other", "Boss")
    manage(world, rep, boss)
    world.db.execute("update public.crm_agents set accepting_leads = false where id = %s",
                     (boss,))
    policy(world, "Web", {"source": "web"}, on_breach="manager")
    lead = world.lead(rep, source="web")
    at_instant(world, world.row(lead)["claim_timer_expires_at"])
    assert world.row(lead)["assigned_agent_id"] == other


def test_on_breach_flag_keeps_the_owner_sets_the_flags_and_says_breached_once(world):
    rep, other = world.agents("Rep", "Other")
    policy(world, "Web", {"source": "web"}, on_breach="flag")
    lead = world.lead(rep, source="web")
    expires = world.row(lead)["claim_timer_expires_at"]
    result = at_instant(world, expires)
    assert result["flagged"] == 1 and result["unclaimed"] == 0
    world.travel("10 minutes")
    assert world.monitor()["flagged"] == 0  # once per timer run
    row = world.row(lead)
    assert row["assigned_agent_id"] == rep and row["claim_sla_breached"] and row["sla_breached"]
    assert world.audit(lead) == []
    [breached] = [r for r in events(world, lead) if r["event"] == "breached"]
    payload = check(breached, "breached", lead, rep, "claim_window")
    assert when(payload["expires_at"]) == expires
    # The owner can still claim: the contact timer runs, and its breach is flagged too.
    with world.as_agent(rep) as conn:
        conn.execute("select public.claim_lead(%s)", (lead,))
    at_instant(world, world.row(lead)["contact_timer_expires_at"])
    assert [r["payload"]["stage"] for r in events(world, lead) if r["event"] == "breached"] == [
        "claim_window", "contact_window"]
    assert world.row(lead)["contact_sla_breached"] and other


def test_escalation_goes_to_the_last_owners_manager_first(world):
    ann, ben = world.agents("Ann", "Ben")
    boss = world.agent("Boss")
    world.agent("Admin", role="admin")
    manage(world, ann, boss)
    manage(world, ben, boss)
    world.db.execute("update public.crm_agents set accepting_leads = false where id = %s",
                     (boss,))  # escalation needs an active manager, not an accepting one
    policy(world, "Web", {"source": "web"}, max_reassignments=1)
    lead = world.lead(ann, source="web")
    at_instant(world, world.row(lead)["claim_timer_expires_at"])  # to Ben
    at_instant(world, world.row(lead)["claim_timer_expires_at"])  # escalates
    row = world.row(lead)
    assert row["assigned_agent_id"] == boss and row["sla_escalated_at"] is not None
    assert [e["event"] for e in events(world, lead)][-1] == "escalated"


def test_a_decline_or_an_absence_that_escalates_goes_up_the_chain_too(world):
    """Declines and absence hand-overs count toward max_reassignments; when one of them is the
    move that escalates, the lead goes to the last owner's first active manager, as a breach's
    would, not to an admin."""
    ann, ben = world.agents("Ann", "Ben")
    boss = world.agent("Boss")
    world.agent("Admin", role="admin")
    manage(world, ann, boss)
    manage(world, ben, boss)
    world.db.execute("update public.crm_agents set accepting_leads = false where id = %s",
                     (boss,))
    policy(world, "Web", {"source": "web"}, max_reassignments=1)
    declined = world.lead(ann, source="web")
    at_instant(world, world.row(declined)["claim_timer_expires_at"])  # to Ben: one move
    with world.as_agent(ben) as conn:
        conn.execute("select public.decline_lead(%s, 'not my territory')", (declined,))
    row = world.row(declined)
    assert row["assigned_agent_id"] == boss and row["sla_escalated_at"] is not None
    away = world.lead(ann, source="web")
    at_instant(world, world.row(away)["claim_timer_expires_at"])  # to Ben
    world.db.execute(
        "insert into public.crm_sla_agent_absences (agent_id, starts_at, ends_at) "
        "values (%s, public.sla_now(), public.sla_now() + interval '1 day')", (ben,))
    world.monitor()  # the hand-over escalates
    row = world.row(away)
    assert row["assigned_agent_id"] == boss and row["sla_escalated_at"] is not None
    assert [r["reason"] for r in world.audit(away)] == ["unclaimed", "unavailable"]


def test_an_auto_paused_agent_is_named_for_its_manager(world):
    """auto_pause_after: the agent_paused event names the agent (agent_id) and, for its manager
    chain, the first active manager (payload.manager_id), past an inactive one."""
    world.settings(auto_pause_after=1)
    ann, ben = world.agents("Ann", "Ben")
    lead_of_team, boss = world.agent("Lead"), world.agent("Boss")
    manage(world, ben, lead_of_team)
    manage(world, lead_of_team, boss)
    world.db.execute("update public.crm_agents set is_active = false where id = %s",
                     (lead_of_team,))
    lead = world.lead(ben)
    at_instant(world, world.row(lead)["claim_timer_expires_at"])
    [paused] = [e for e in world.db.execute(
        "select agent_id, payload from public.crm_sla_outbox where event = 'agent_paused'")]
    assert paused["agent_id"] == ben and paused["payload"]["manager_id"] == str(boss)
    assert ann


def test_escalation_without_a_chain_goes_to_an_admin_as_before(world):
    ann, ben = world.agents("Ann", "Ben")
    admin = world.agent("Admin", role="admin")
    policy(world, "Web", {"source": "web"}, max_reassignments=1)
    lead = world.lead(ann, source="web")
    at_instant(world, world.row(lead)["claim_timer_expires_at"])
    at_instant(world, world.row(lead)["claim_timer_expires_at"])
    row = world.row(lead)
    assert row["assigned_agent_id"] == admin and row["sla_escalated_at"] is not None
    assert ben


def test_an_unknown_on_breach_is_refused(world):
    with pytest.raises(psycopg.errors.CheckViolation):
        policy(world, "Web", on_breach="shout")


# -- Slack ------------------------------------------------------------------------------------

@pytest.fixture
def receiver(world):
    from tests.receiver import Receiver
    world.settings(webhook_allow_private=True)  # the receiver listens on 127.0.0.1
    r = Receiver()
    yield r
    r.close()


def test_a_slack_webhook_gets_one_signed_sentence_per_event(world, receiver):
    from tests.test_webhooks import add_webhook, deliver_once
    ann, ben, boss = world.agent("Ann Lee"), world.agent("Bob Ray"), world.agent("Cleo Boss")
    manage(world, ann, boss)
    world.db.execute("update public.crm_agents set accepting_leads = false where id = %s",
                     (boss,))
    pol = policy(world, "Web", {"source": "web"}, warn_at=None)
    step(world, pol, "tell_manager", 0.8, "manager")
    hook = add_webhook(world, receiver, "--format", "slack")
    assert world.scalar("select format from public.crm_sla_webhooks where id = %s",
                        (hook,)) == "slack"
    from tests.cli import crm_sla
    listed = crm_sla("webhooks", "list", url=world.url).stdout
    assert hook in listed and "slack" in listed
    lead = world.lead(ann, source="web", full_name="Dana <Reyes>")
    at_instant(world, world.row(lead)["sla_step_at"])
    at_instant(world, world.row(lead)["claim_timer_expires_at"])
    deliver_once(world)
    texts = [r.payload for r in receiver.received]
    assert all(set(t) == {"text"} for t in texts) and all(r.signature_ok
                                                          for r in receiver.received)
    assert sorted(t["text"] for t in texts) == sorted([
        "Lead Dana &lt;Reyes&gt; (web) was assigned to Ann Lee; 5 min to claim it.",
        "Lead Dana &lt;Reyes&gt; (web) has 1 min left to be claimed by Ann Lee "
        "(step tell_manager, for Cleo Boss).",
        "Lead Dana &lt;Reyes&gt; (web) moved from Ann Lee to Bob Ray: not claimed in time.",
    ])  # posted in parallel: any order
    assert ben

