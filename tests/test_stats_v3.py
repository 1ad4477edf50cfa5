"""Statistics of version 3's workflow (issue 30): per agent its declines, the leads handed over
while it was absent and its breaches by how they were handled (reassign, manager, flag); the
ladder's steps sent by name; the same numbers in `crm-sla report` (text, JSON, CSV) and on the
/stats page. Each number is asserted against a scripted scenario on the SLA clock."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import psycopg
import pytest

from harness import report
from harness.board.stats import render_page
from tests.cli import crm_sla
from tests.test_ladder import manage, step
from tests.test_policies import policy


def close_all(world) -> None:
    """Every open lead claimed and contacted (a trusted session's plain UPDATE): no timer runs."""
    world.db.execute("update public.crm_leads set lead_claimed = true "
                     "where not lead_claimed and assigned_agent_id is not null")
    world.db.execute("update public.crm_leads set first_action_completed = true "
                     "where not first_action_completed and assigned_agent_id is not null")


@pytest.fixture
def scenario(world):
    """Dee manages Ann and Bob. Ann's web lead (a ladder: `nudge` to the owner at half its claim
    window, `tell manager` at 0.8; on_breach manager) takes both steps and goes to Dee at its
    breach; Bob's lead without a policy is reassigned at its breach; Cid's account lead (on_breach
    flag) is flagged in place. Then Ann declines a lead, and Bob goes out of office with an
    unclaimed lead, which is handed over."""
    ann, bob, cid, dee = world.agents("Ann", "Bob", "Cid", "Dee")
    manage(world, ann, dee)
    manage(world, bob, dee)
    start = world.now()
    ladder = policy(world, "Ladder", {"source": "web"}, priority=10, on_breach="manager")
    step(world, ladder, "nudge", 0.5)
    step(world, ladder, "tell manager", 0.8, notify="manager")
    policy(world, "Accounts", {"source": "account"}, priority=20, on_breach="flag")
    web = world.lead(ann, source="web")
    plain = world.lead(bob)
    account = world.lead(cid, source="account")
    world.travel("3 minutes")
    assert world.monitor()["steps"] == 1
    world.travel("90 seconds")
    assert world.monitor()["steps"] == 1
    world.travel("1 minute")
    world.monitor()
    assert world.row(web)["assigned_agent_id"] == dee
    assert world.row(plain)["assigned_agent_id"] not in (bob, None)
    assert (world.row(account)["assigned_agent_id"], world.row(account)["claim_sla_breached"]) \
        == (cid, True)
    close_all(world)

    declined = world.lead(ann)
    with world.as_agent(ann) as conn:
        conn.execute("select public.decline_lead(%s, 'not my area')", (declined,))
    close_all(world)

    away = world.lead(bob)
    world.db.execute(
        "insert into public.crm_sla_agent_absences (agent_id, starts_at, ends_at, reason) "
        "values (%s, public.sla_now(), public.sla_now() + interval '1 hour', 'vacation')", (bob,))
    world.monitor()
    assert world.row(away)["assigned_agent_id"] != bob
    close_all(world)
    end = world.now() + timedelta(seconds=1)
    return {"ann": ann, "bob": bob, "cid": cid, "dee": dee, "from": start, "to": end}


def workflow(conn, s) -> dict:
    return {r["full_name"]: r for r in conn.execute(
        "select * from public.crm_sla_workflow_stats(%s, %s)", (s["from"], s["to"]))}


def steps(conn, s) -> list[tuple]:
    return [(r["policy_name"], r["stage"], r["step"], r["notify"], r["sent"], r["to_nobody"])
            for r in conn.execute("select * from public.crm_sla_step_stats(%s, %s)",
                                  (s["from"], s["to"]))]


FLOW = ("declined", "handed_over", "breaches_reassigned", "breaches_to_manager",
        "breaches_flagged")
EXPECTED = {"Ann": (1, 0, 0, 1, 0), "Bob": (0, 1, 1, 0, 0), "Cid": (0, 0, 0, 0, 1),
            "Dee": (0, 0, 0, 0, 0)}
STEPS = [("Ladder", "claim_window", "nudge", "owner", 1, 0),
         ("Ladder", "claim_window", "tell manager", "manager", 1, 0)]


def test_declines_hand_overs_and_breaches_by_how_they_were_handled(world, scenario):
    rows = workflow(world.db, scenario)
    assert {name: tuple(r[k] for k in FLOW) for name, r in rows.items()} == EXPECTED
    # The chart's breaches count the flagged one too; reassignments: two breaches, the decline
    # and the hand-over.
    timeline = world.db.execute("select * from public.crm_sla_stats_timeline(%s, %s, 3)",
                                (scenario["from"], scenario["to"])).fetchall()
    assert sum(r["breaches"] for r in timeline) == 3
    assert sum(r["reassignments"] for r in timeline) == 4
    # Outside the period: nothing.
    before = {"from": scenario["from"] - timedelta(hours=2), "to": scenario["from"]}
    assert all(tuple(r[k] for k in FLOW) == (0,) * 5 for r in workflow(world.db, before).values())
    assert steps(world.db, before) == []


def test_steps_sent_by_name(world, scenario):
    assert steps(world.db, scenario) == STEPS
    # A manager's step with no manager to tell still counts, as sent to nobody.
    eve = world.agent("Eve")
    lead = world.lead(eve, source="web")
    world.travel("270 seconds")  # both steps due, the deadline not yet
    assert world.monitor()["steps"] == 1
    later = {"from": scenario["from"], "to": world.now() + timedelta(seconds=1)}
    sent = {(r[2], r[3]): r[4:] for r in steps(world.db, later)}
    assert sent == {("nudge", "owner"): (2, 0), ("tell manager", "manager"): (2, 1)}, lead


def test_an_agent_sees_its_own_workflow_and_the_steps_about_it(world, scenario):
    with world.as_agent(scenario["ann"]) as conn:
        assert {n: tuple(r[k] for k in FLOW) for n, r in workflow(conn, scenario).items()} == {
            "Ann": EXPECTED["Ann"]}
        assert steps(conn, scenario) == STEPS  # both were about Ann's lead
    with world.as_agent(scenario["dee"]) as conn:
        assert list(workflow(conn, scenario)) == ["Dee"]
        assert steps(conn, scenario) == [STEPS[1]]  # the one sent to Dee
    with world.as_agent(scenario["cid"]) as conn:
        assert steps(conn, scenario) == []
    for function in ("crm_sla_workflow_stats", "crm_sla_step_stats"):
        with world.as_anon() as conn, pytest.raises(psycopg.Error) as err:
            conn.execute(f"select * from public.{function}()")
        assert err.value.diag.sqlstate in ("SL006", "42501"), function
        with world.as_agent(scenario["ann"]) as conn, pytest.raises(psycopg.Error) as err:
            conn.execute(f"select * from public.{function}(public.sla_now(), "
                         "public.sla_now() - interval '1 hour')")
        assert err.value.diag.sqlstate == "SL010", function


def test_report_shows_the_workflow_as_text_json_and_csv(world, scenario):
    args = ("--from", scenario["from"].isoformat(), "--to", scenario["to"].isoformat())
    data = json.loads(crm_sla("report", *args, "--format", "json", url=world.url).stdout)
    assert {r["full_name"]: tuple(r[k] for k in FLOW) for r in data["workflow"]} == EXPECTED
    assert [tuple(r.values())[:6] for r in data["steps"]] == STEPS

    text = crm_sla("report", *args, url=world.url)
    assert text.returncode == 0, text.stderr
    assert ("breaches handled: 1 reassigned, 1 to a manager, 1 flagged; steps sent: 2; "
            "declines: 1; absence hand-overs: 1") in text.stdout
    assert "workflow per agent" in text.stdout and "ladder steps sent" in text.stdout
    assert re.search(r"^Ladder\s+claim_window\s+tell manager\s+manager\s+1\s+0$", text.stdout,
                     re.MULTILINE), text.stdout

    table = crm_sla("report", *args, "--format", "csv", url=world.url).stdout
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(table)) if r["scope"] == "agent"}
    assert {n: tuple(int(r[k]) for k in FLOW) for n, r in rows.items()} == EXPECTED
    # The older columns are still there.
    older = {r["full_name"]: r["claimed_in_window"] for r in data["agents"]}
    assert {n: int(r["claimed_in_window"]) for n, r in rows.items()} == older


def test_stats_page_shows_the_workflow(world, scenario):
    data = report.figures(world.db, scenario["from"], scenario["to"])
    page = render_page(data, "24h", "admin")
    tile = re.search(r'data-figure="breaches-handled">Breaches handled<b>(.*?)</b>', page, re.S)
    assert " ".join(tile.group(1).split()) == "1 / 1 / 1"
    assert re.search(r'data-figure="steps">Ladder steps<b>2</b>\s*1 declined, 1 handed over',
                     page)
    flow = page[page.index("<caption>Workflow by agent</caption>"):]
    assert re.search(r'<th scope="row">Ann</th><td>1</td><td>0</td><td>0</td><td>1</td>'
                     r"<td>0</td>", flow)
    ladder = page[page.index("<caption>Ladder steps sent</caption>"):]
    assert re.search(r'<th scope="row">Ladder</th><td>claim_window</td><td>tell manager</td>'
                     r"<td>manager</td><td>1</td><td>0</td>", ladder)


def test_pauses_per_agent_and_response_times_without_the_paused_time(world):
    """Ann claims her lead after a minute, waits an hour on the customer (status `waiting`,
    the policy's pause_when), then contacts two minutes later: 60 s to claim, 180 s to contact.
    Bob snoozes his lead for 30 minutes and claims it a minute after the monitor resumed it: 60 s
    to claim. Each pause is counted for its agent with how long it lasted."""
    ann, bob = world.agents("Ann", "Bob")
    start = world.now()
    world.db.execute("alter table public.crm_leads add column if not exists status text")
    policy(world, "Waiting", {}, owner_may_snooze=True, claim_window="10 minutes",
           contact_window="10 minutes",
           pause_when=psycopg.types.json.Jsonb({"status": "waiting"}))
    waiting, snoozed = world.lead(ann), world.lead(bob)
    with world.as_agent(bob) as conn:
        conn.execute("select public.crm_sla_snooze(%s, public.sla_now() + interval '30 minutes', "
                     "'call me back')", (snoozed,))
    world.travel("1 minute")
    with world.as_agent(ann) as conn:
        conn.execute("select public.claim_lead(%s)", (waiting,))
    world.travel("1 minute")
    world.db.execute("update public.crm_leads set status = 'waiting' where id = %s", (waiting,))
    world.travel("29 minutes")
    world.monitor()  # Bob's snooze ends
    with world.as_agent(bob) as conn:
        conn.execute("select public.claim_lead(%s)", (snoozed,))
    world.travel("31 minutes")
    world.db.execute("update public.crm_leads set status = 'replied' where id = %s", (waiting,))
    world.travel("2 minutes")
    with world.as_agent(ann) as conn:
        conn.execute("select public.complete_first_action(%s)", (waiting,))
    period = {"from": start, "to": world.now() + timedelta(seconds=1)}

    rows = workflow(world.db, period)
    assert (rows["Ann"]["pauses"], rows["Ann"]["snoozes"]) == (1, 0)
    assert (rows["Bob"]["pauses"], rows["Bob"]["snoozes"]) == (0, 1)
    assert 3595 <= rows["Ann"]["paused_seconds"] <= 3605  # the hour waiting on the customer
    assert 1795 <= rows["Bob"]["paused_seconds"] <= 1805  # to the snooze's end
    times = {r["full_name"]: (r["median_seconds_to_claim"], r["median_seconds_to_contact"])
             for r in world.db.execute("select * from public.crm_agent_sla_stats(%s, %s)",
                                       (period["from"], period["to"]))}
    assert times["Ann"][0] in (60, 61) and times["Ann"][1] in (179, 180, 181), times
    assert times["Bob"][0] in (59, 60, 61), times
    with world.as_agent(bob) as conn:
        assert list(workflow(conn, period)) == ["Bob"]

    text = crm_sla("report", "--from", period["from"].isoformat(), "--to",
                   period["to"].isoformat(), url=world.url).stdout
    assert "; pauses: 1; snoozes: 1" in text, text
    page = render_page(report.figures(world.db, period["from"], period["to"]), "24h", "admin")
    assert re.search(r'data-figure="pauses">Clock stopped<b>2</b>\s*1 waiting, 1 snoozed', page)
