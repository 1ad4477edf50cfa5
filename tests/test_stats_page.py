"""The managers' view, /stats on the board, in Chromium: the numbers equal the database's
statistics functions for a scripted scenario, both charts are there with their titles and labels,
and an agent's board shows only that agent's numbers."""

from __future__ import annotations

import json
import urllib.request

import pytest
from playwright.sync_api import expect

from harness.testing import World
from tests.test_board import ARTIFACTS, WAIT_MS, boards, browser  # noqa: F401 (fixtures)


@pytest.fixture
def scenario(db_url):
    world = World(db_url)
    ann, bob = world.agents("Ann", "Bob")
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
    yield world, ann, bob, missed
    world.close()


def test_stats_page_shows_the_numbers_and_both_charts(scenario, boards, browser):  # noqa: F811
    world, _ann, _bob, _missed = scenario
    board = boards()
    data = json.load(urllib.request.urlopen(board.url + "api/stats?period=24h"))
    expected = {r["full_name"]: r for r in world.db.execute(
        "select * from public.crm_agent_sla_stats(%s, %s)", (data["from"], data["to"]))}
    page = browser.new_page()
    try:
        page.goto(board.url + "stats")
        expect(page.locator("h1")).to_have_text("SLA statistics", timeout=WAIT_MS)
        agents = page.get_by_role("table", name="Per agent")
        for name, row in expected.items():
            cells = agents.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name))
            expect(cells.locator("td").first).to_have_text(str(row["leads_received"]))
            expect(cells.locator("td").nth(1)).to_have_text(str(row["claimed_in_window"]))
        teams = page.get_by_role("table", name="Per team")
        expect(teams.get_by_role("rowheader", name="Inbound")).to_be_visible()
        expect(page.locator('[data-figure="claimed-in-time"] b')).to_have_text("50%")
        expect(page.locator('[data-figure="breaches"] b')).to_have_text("1")
        heat = page.get_by_role("img", name="Claimed in time, by day of the week and hour")
        expect(heat).to_be_visible()
        expect(heat.locator("text", has_text="Mon")).to_have_count(1)
        # One claim in time, one missed: one cell of 50%, or 100% and 0% across an hour's turn.
        shares = sorted(t for t in heat.locator("text.cell").all_text_contents() if t != "–")
        assert shares in (["50%"], ["0%", "100%"]), shares
        bars = page.get_by_role("img", name="Breaches and reassignments over the period")
        expect(bars.locator("text", has_text="breaches (solid)")).to_have_count(1)
        expect(bars.locator("title", has_text="1 breaches")).to_have_count(1)
        page.get_by_role("link", name="7 days").click()
        expect(page.get_by_role("link", name="7 days")).to_have_attribute("aria-current", "page")
        no_scroll = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert no_scroll, "the stats page scrolls sideways at 1280x800"
        (ARTIFACTS / "board").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "board" / "stats.png"), full_page=True)
    finally:
        page.close()


def test_an_agents_stats_page_shows_only_that_agent(scenario, boards, browser):  # noqa: F811
    _world, _ann, bob, _missed = scenario
    board = boards(bob)
    page = browser.new_page()
    try:
        page.goto(board.url + "stats")
        agents = page.get_by_role("table", name="Per agent")
        expect(agents.get_by_role("rowheader")).to_have_text(["Bob"], timeout=WAIT_MS)
        expect(page.get_by_role("table", name="Per team").get_by_role("rowheader")).to_have_count(0)
        expect(page.locator('[data-figure="claimed-in-time"] b')).to_have_text("0%")
    finally:
        page.close()
