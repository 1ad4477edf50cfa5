"""The lead board's cards, version 2, in Chromium: warned cards (amber, and they say so), paused
cards (when they resume, in the viewer's time zone, and the open time they have left), the policy's
name, the overflow queue's column (live, as leads wait and leave it), the team filter, and the
demo (`crm-sla simulate`) as `make board` shows it, whose screenshots are the README's
(docs/board.png and docs/stats.png, copied from test-artifacts/)."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from harness.simulate import DEMO_POLICY, simulate
from tests.test_board import (  # noqa: F401 (fixtures)
    ARTIFACTS,
    CONTRAST,
    WAIT_MS,
    boards,
    browser,
    card,
    in_column,
    open_page,
    opening_later,
    same_document,
    wait_for_countdown,
)

VIEWER_ZONE = "Asia/Kolkata"  # UTC+05:30: a resume time in UTC would be off by half an hour


def queue(page):
    return page.locator('.column[data-agent-id="queue"]')


def view_columns(world) -> set[str]:
    return {r["attname"] for r in world.db.execute(
        "select attname from pg_attribute where attrelid = 'public.crm_lead_sla_timers'::regclass "
        "and attnum > 0 and not attisdropped").fetchall()}


def test_a_paused_card_says_when_it_resumes_in_the_viewers_zone(world, boards, browser):  # noqa: F811
    ann = world.agent("Ann")
    opening_later(world, "Partners, office hours", "3 minutes")
    lead = world.lead(ann)
    resumes = world.scalar("select timer_resumes_at from public.crm_lead_sla_timers "
                           "where lead_id = %s", (lead,))
    page = browser.new_page()
    # The viewer sits in another time zone than the server and the calendar (UTC).
    page.context.new_cdp_session(page).send("Emulation.setTimezoneOverride",
                                            {"timezoneId": VIEWER_ZONE})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(boards().page_url)
    expect(page.locator("#link")).to_have_class("link live", timeout=WAIT_MS)
    page.evaluate("window.__sameDocument = true")
    paused = card(page, lead)
    expect(paused).to_have_attribute("data-paused", "true", timeout=WAIT_MS)
    expect(paused).to_have_attribute("data-stage", "claim")
    expect(paused).to_have_attribute("data-warned", "false")
    # What a person sees: when it resumes, in the viewer's zone, and the open time left.
    local = resumes.astimezone(ZoneInfo(VIEWER_ZONE))
    expect(paused.locator(".paused-note")).to_have_text(
        f"closed until {local:%a %H:%M}")
    expect(paused.locator(".countdown")).to_have_text("03:00")
    expect(paused.locator(".policy")).to_have_text("policy: Partners, office hours")
    page.wait_for_timeout(1500)
    expect(paused.locator(".countdown")).to_have_text("03:00")  # not running meanwhile
    world.travel("2 hours 1 minute")  # open now: it counts down, without any event
    expect(paused).to_have_attribute("data-paused", "false", timeout=WAIT_MS)
    expect(paused.locator(".paused-note")).to_be_hidden()
    wait_for_countdown(page, lead, 1, 179)  # the open time left, running again
    assert same_document(page) and errors == []
    ARTIFACTS.joinpath("board").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "board" / "paused-card.png"))
    page.close()


def test_a_warned_card_is_amber_and_says_so(world, boards, open_page):  # noqa: F811
    missing = {"timer_warn_at", "timer_warned"} - view_columns(world)
    if missing:
        pytest.skip(f"crm_lead_sla_timers has no {', '.join(sorted(missing))} yet (the warnings "
                    "of issue 16 are not on this branch): nothing tells the board a card is "
                    "warned")
    ann = world.agent("Ann")
    lead = world.lead(ann)
    page = open_page(boards())
    warned = card(page, lead)
    expect(warned).to_have_attribute("data-warned", "false")
    expect(warned.locator(".warned-badge")).to_be_hidden()
    world.travel("4 minutes 10 seconds")  # past 80 % of the 5-minute claim window
    world.monitor()  # sends the warning
    expect(warned).to_have_attribute("data-warned", "true", timeout=WAIT_MS)
    expect(warned).to_have_attribute("data-stage", "claim")
    expect(warned.locator(".warned-badge")).to_have_text("⚠ warned")  # not colour alone
    expect(warned).to_have_class(re.compile(r"\bwarned\b"))
    assert warned.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 251, 235)"
    assert world.scalar("select timer_warned from public.crm_lead_sla_timers where lead_id = %s",
                        (lead,))
    assert same_document(page)


def test_the_queue_column_fills_and_empties_live(world, boards, open_page):  # noqa: F811
    ann, bob = world.agents("Ann", "Bob")
    page = open_page(boards())
    expect(queue(page).locator("h2")).to_contain_text("Waiting for an agent")
    expect(queue(page).locator(".count")).to_have_text("0")
    world.db.execute("update public.crm_agents set accepting_leads = false")  # all away
    unowned = world.lead(full_name="Nobody's")
    missed = world.lead(ann, full_name="Ann's")
    expect(queue(page).locator(f'.card[data-lead-id="{unowned}"]')).to_be_visible(
        timeout=WAIT_MS)
    expect(card(page, unowned).locator(".waiting-note")).to_have_text("no owner yet")
    expect(card(page, unowned)).to_have_attribute("data-waiting", "true")
    # No timer runs for it yet: the card shows how long it has waited instead.
    expect(card(page, unowned).locator(".countdown")).to_have_text(re.compile(r"^waiting 00:"))
    expect(in_column(page, ann, missed)).to_be_visible()
    # Just past the deadline, as the scheduled monitor acts: nobody to take Ann's lead, it waits
    # with her (the unowned one has no timer yet: it waits for its first owner).
    world.travel("5 minutes")
    assert world.monitor()["no_eligible_agent"] == 1
    waiting = queue(page).locator(f'.card[data-lead-id="{missed}"]')
    expect(waiting).to_be_visible(timeout=WAIT_MS)
    expect(waiting.locator(".waiting-note")).to_have_text("window ran out · with Ann")
    expect(card(page, unowned).locator(".countdown")).to_have_text(
        re.compile(r"^waiting 0[5-9]:\d\d$"), timeout=WAIT_MS)
    expect(waiting.locator(".breach-claim")).to_be_visible()
    expect(queue(page).locator(".count")).to_have_text("2")
    expect(page.locator("#totals")).to_contain_text("2 waiting")
    # Bob is back: the monitor hands both to him, and the cards follow.
    world.db.execute("update public.crm_agents set accepting_leads = true where id = %s", (bob,))
    world.monitor()
    for lead in (unowned, missed):
        expect(in_column(page, bob, lead)).to_be_visible(timeout=WAIT_MS)
    expect(queue(page).locator(".card")).to_have_count(0)
    expect(card(page, missed)).to_have_attribute("data-waiting", "false")
    assert same_document(page)


def test_the_team_filter_shows_a_teams_members_and_its_queue(world, boards, open_page):  # noqa: F811
    ann, bob, cy = world.agents("Ann", "Bob", "Cy")
    partners = world.scalar("insert into public.crm_sla_teams (name) values ('Partners') "
                            "returning id")
    inbound = world.scalar("insert into public.crm_sla_teams (name) values ('Inbound') "
                           "returning id")
    world.db.execute("insert into public.crm_sla_team_members values (%s, %s), (%s, %s), "
                     "(%s, %s)", (partners, ann, inbound, bob, inbound, cy))
    world.db.execute("insert into public.crm_sla_policies (name, match, team_id) values "
                     "('Partner leads', '{\"source\": \"partner\"}', %s)", (partners,))
    anns, bobs = world.lead(ann, full_name="Ann's"), world.lead(bob, full_name="Bob's")
    world.db.execute("update public.crm_agents set accepting_leads = false")
    partner = world.lead(full_name="Partner, waiting", source="partner")
    other = world.lead(full_name="Other, waiting")
    board = boards()
    page = open_page(board)
    expect(page.locator(".card")).to_have_count(4)
    expect(page.locator("#team option")).to_have_text(["All teams", "Inbound", "Partners"])
    # ?team=<name>: the team's members' columns and the waiting leads of its policy.
    page.goto(board.page_url + "&team=partners")
    expect(page.locator("#link")).to_have_class("link live", timeout=WAIT_MS)
    assert page.url.endswith("/?team=partners")
    expect(page.locator("#team")).to_have_value(str(partners))
    expect(page.locator(".column")).to_have_count(2)
    expect(in_column(page, ann, anns)).to_be_visible()
    expect(queue(page).locator(f'.card[data-lead-id="{partner}"]')).to_be_visible()
    expect(page.locator(".card")).to_have_count(2)
    # The selector: another team, without a reload; the address follows.
    page.evaluate("window.__sameDocument = true")
    page.locator("#team").select_option(label="Inbound")
    expect(page.locator(".column")).to_have_count(3)  # the queue, Bob, Cy
    expect(page.locator(".card")).to_have_count(1)
    expect(in_column(page, bob, bobs)).to_be_visible()
    assert page.url.endswith("/?team=Inbound")
    # Live under the filter: a lead for Cy shows, one for Ann does not.
    for_cy, for_ann = world.lead(cy, full_name="Cy's"), world.lead(ann, full_name="Ann's too")
    expect(in_column(page, cy, for_cy)).to_be_visible(timeout=WAIT_MS)
    expect(card(page, for_ann)).to_have_count(0)
    page.locator("#team").select_option(label="All teams")
    expect(page.locator(".card")).to_have_count(6)
    expect(queue(page).locator(f'.card[data-lead-id="{other}"]')).to_be_visible()
    assert same_document(page) and not page.url.endswith("team=Inbound")
    # By id too; an unknown team says so and shows everyone.
    page.goto(f"{board.url}?team={inbound}")
    expect(page.locator(".card")).to_have_count(2, timeout=WAIT_MS)
    page.goto(f"{board.url}?team=Nobody")
    expect(page.locator("#notice")).to_contain_text('No team "Nobody"', timeout=WAIT_MS)
    expect(page.locator(".card")).to_have_count(6)


def test_the_demo_shows_a_paused_lead_the_queue_and_its_stats(world, db_url, boards, browser):  # noqa: F811
    """What `make board` shows on a fresh clone (crm-sla simulate --minutes 12, seed 7, with a
    week of history here where make board plays three), at 1280x800; its screenshots, and the
    /stats page's, are the README's."""
    with redirect_stdout(io.StringIO()) as out:
        simulate(db_url, seed=7, agents=5, minutes=12, leads_per_minute=1.5, history_weeks=1)
    assert "the team's stand-up" in out.getvalue()
    board = boards()
    page = browser.new_page()
    page.goto(board.page_url)
    expect(page.locator("#link")).to_have_class("link live", timeout=WAIT_MS)
    expect(queue(page).locator(".card").first).to_be_visible()
    expect(page.locator('.card[data-paused-reason="closed"]').first.locator(".paused-note")
           ).to_contain_text("closed until ")
    expect(page.locator(".card .policy:visible", has_text=DEMO_POLICY).first).to_have_text(
        f"policy: {DEMO_POLICY}")
    expect(page.locator("#team option")).to_have_count(3)  # all, and the demo's two desks
    if {"timer_warn_at", "timer_warned"} <= view_columns(world):
        page.wait_for_timeout(500)
        print("warned cards in the demo:", page.locator('.card[data-warned="true"]').count())
    assert page.evaluate("document.querySelector('#board').scrollWidth "
                         "<= document.querySelector('#board').clientWidth")
    assert page.evaluate(CONTRAST) == []
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "board-demo-1280x800.png"))
    page.goto(board.url + "stats?period=7d")
    expect(page.locator("svg").first).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("body")).to_contain_text("Ana Silva")
    # The history's week: working hours of five weekdays in the heat map, not one cell.
    heat = page.get_by_role("img", name="Claimed in time, by day of the week and hour")
    cells = [t for t in heat.locator("text.cell").all_text_contents() if t != "–"]
    assert len(cells) >= 40, cells
    page.screenshot(path=str(ARTIFACTS / "stats-demo-1280x800.png"))
    page.close()

