"""The lead board's cards and columns, version 3, in Chromium: an absent agent's column says `out
until ...` (in the viewer's time zone) and gets no new cards; a declined lead moves live to its new
owner with the decliner's reason; a ladder step flashes the owner's card, and a manager's board
(`--as-agent` of the manager) rings its bell with the steps addressed to it; a paused card says why
(`waiting on customer`, `snoozed until Thu 14:00`, `closed until Mon 09:00`) and its countdown
stops."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout
from datetime import timedelta
from zoneinfo import ZoneInfo

import psycopg
from playwright.sync_api import expect

from harness.simulate import DEMO_TEAM_LEAD, simulate
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
)
from tests.test_board_v2 import VIEWER_ZONE
from tests.test_policies import policy


def column(page, agent):
    return page.locator(f'.column[data-agent-id="{agent}"]')


def log_kinds(page, kind: str) -> list[dict]:
    return page.evaluate("(k) => window.board.state.log.filter((e) => e.kind === k)", kind)


def in_viewer_zone(browser, board):  # noqa: F811
    """The board in a browser whose time zone is not the server's (UTC)."""
    page = browser.new_page()
    page.context.new_cdp_session(page).send("Emulation.setTimezoneOverride",
                                            {"timezoneId": VIEWER_ZONE})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(board.page_url)
    expect(page.locator("#link")).to_have_class("link live", timeout=WAIT_MS)
    page.evaluate("window.__sameDocument = true")
    return page, errors


def test_an_absent_agents_column_says_out_until_and_gets_no_new_cards(world, boards, browser):  # noqa: F811
    ann, bob = world.agents("Ann", "Bob")
    waiting = world.lead(bob, full_name="Bob's, unclaimed")
    # Bob's holiday starts in a minute (an absence sends no event: the board reads them with the
    # SLA clock).
    ends = world.scalar(
        "insert into public.crm_sla_agent_absences (agent_id, starts_at, ends_at, reason) "
        "values (%s, public.sla_now() + interval '1 minute', public.sla_now() + interval "
        "'2 days 3 hours', 'holiday') returning ends_at", (bob,))
    page, errors = in_viewer_zone(browser, boards())
    expect(column(page, bob)).to_have_attribute("data-out", "false", timeout=WAIT_MS)
    expect(column(page, bob).locator(".out")).to_be_hidden()
    world.travel("1 minute 5 seconds")
    expect(column(page, bob)).to_have_attribute("data-out", "true", timeout=WAIT_MS)
    local = ends.astimezone(ZoneInfo(VIEWER_ZONE))
    expect(column(page, bob).locator(".out")).to_have_text(f"out until {local:%a %H:%M}")
    expect(column(page, ann)).to_have_attribute("data-out", "false")
    # No new cards for Bob: every new lead goes to Ann; his unclaimed one is handed over at the
    # next monitor pass, and says why.
    new = [world.lead(full_name=f"New {i}") for i in range(3)]
    for lead in new:
        expect(in_column(page, ann, lead)).to_be_visible(timeout=WAIT_MS)
    world.monitor()
    expect(in_column(page, ann, waiting)).to_be_visible(timeout=WAIT_MS)
    expect(card(page, waiting).locator(".moves")).to_have_text("↻ 1 · unavailable · from Bob")
    expect(column(page, bob).locator(".card")).to_have_count(0)
    # Back early: the absence deleted, the column says nothing, and Bob takes leads again.
    world.db.execute("delete from public.crm_sla_agent_absences where agent_id = %s", (bob,))
    expect(column(page, bob)).to_have_attribute("data-out", "false", timeout=WAIT_MS)
    expect(column(page, bob).locator(".out")).to_be_hidden()
    back = world.lead(full_name="After the holiday")
    expect(in_column(page, bob, back)).to_be_visible(timeout=WAIT_MS)
    assert [e["out"] for e in log_kinds(page, "out") if e["agent"] == str(bob)] == [True, False]
    assert same_document(page) and errors == []
    page.close()


def test_an_agents_own_board_says_when_it_is_out(world, boards, open_page):  # noqa: F811
    """An agent's board reads its own absences through row-level security (self-service out of
    office), and no one else's."""
    ann, bob = world.agents("Ann", "Bob")
    with world.as_agent(ann) as conn:
        conn.execute("insert into public.crm_sla_agent_absences (agent_id, starts_at, ends_at) "
                     "values (%s, public.sla_now(), public.sla_now() + interval '3 hours')",
                     (ann,))
    world.db.execute("insert into public.crm_sla_agent_absences (agent_id, starts_at, ends_at) "
                     "values (%s, public.sla_now(), public.sla_now() + interval '1 day')", (bob,))
    page = open_page(boards(ann))
    expect(column(page, ann)).to_have_attribute("data-out", "true", timeout=WAIT_MS)
    expect(column(page, ann).locator(".out")).to_have_text(
        re.compile(r"^out until \w{3} \d\d:\d\d$"))
    assert [a["agent_id"] for a in page.evaluate("window.board.state.absences")] == [str(ann)]


def test_a_declined_lead_moves_live_to_its_new_owner_with_its_reason(world, boards, open_page):  # noqa: F811
    ann, bob = world.agents("Ann", "Bob")
    lead = world.lead(ann, full_name="Globex")
    service = open_page(boards())
    bobs = open_page(boards(bob))
    expect(in_column(service, ann, lead)).to_be_visible(timeout=WAIT_MS)
    expect(card(bobs, lead)).to_have_count(0)
    with world.as_agent(ann) as conn:
        conn.execute("select public.decline_lead(%s, %s)", (lead, "outside my territory"))
    # The service view: the card moves to Bob's column, the reason line names the decline.
    moved = in_column(service, bob, lead)
    expect(moved).to_be_visible(timeout=WAIT_MS)
    expect(moved.locator(".moves")).to_have_text("↻ 1 · declined: outside my territory · from Ann")
    expect(moved).to_have_attribute("data-stage", "claim")
    # Bob's own board: the lead arrives with the reason (he reads the audit row that gave it him).
    arrived = in_column(bobs, bob, lead)
    expect(arrived).to_be_visible(timeout=WAIT_MS)
    expect(arrived.locator(".moves")).to_contain_text("declined: outside my territory")
    moves = [e for e in log_kinds(service, "moved") if e["lead"] == str(lead)]
    assert [(m["from"], m["to"]) for m in moves] == [(str(ann), str(bob))]
    assert world.audit(lead)[0]["notes"] == "outside my territory"
    assert same_document(service) and same_document(bobs)


def test_a_step_flashes_the_owners_card_and_rings_the_managers_bell(world, boards, open_page):  # noqa: F811
    ann = world.agent("Ann")
    mia = world.agent("Mia", accepting=False)  # the team lead: takes no leads herself
    world.db.execute("insert into public.crm_sla_agent_routing (agent_id, manager_id) "
                     "values (%s, %s)", (ann, mia))
    # The ladder of leads without a policy: a reminder to the owner at half the claim window,
    # the manager near its end.
    world.db.execute(
        "insert into public.crm_sla_policy_steps (policy_id, stage, at, notify, name) values "
        "(null, 'claim_window', 0.5, 'owner', 'reminder'), "
        "(null, 'claim_window', 0.9, 'manager', 'team lead nudge')")
    lead = world.lead(ann, full_name="Initech")
    other = world.lead(ann, full_name="Umbrella")
    service, anns, mias = open_page(boards()), open_page(boards(ann)), open_page(boards(mia))
    expect(mias.locator("#bell")).to_be_visible()
    expect(service.locator("#bell")).to_be_hidden()  # the service role is nobody's manager
    expect(mias.locator("#bell-count")).to_be_hidden()
    world.travel("2 minutes 31 seconds")
    world.monitor()
    # The owner's step: its cards flash, on the owner's board and the service view.
    for page in (anns, service):
        expect(card(page, lead)).to_have_class(re.compile(r"\bstepped\b"), timeout=WAIT_MS)
        expect(card(page, other)).to_have_class(re.compile(r"\bstepped\b"))
    mias.wait_for_timeout(300)
    assert log_kinds(mias, "notification") == []  # not hers
    # The manager's step: Mia's bell rings, though her row-level security hides Ann's leads.
    world.travel("2 minutes")
    world.monitor()
    expect(mias.locator("#bell-count")).to_have_text("2", timeout=WAIT_MS)
    expect(mias.locator("#bell-button")).to_have_attribute(
        "aria-label", "Notifications: 2 new of 2")
    assert card(mias, lead).count() == 0
    mias.locator("#bell-button").click()
    items = mias.locator("#bell-list li")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("team lead nudge")
    expect(items.first).to_contain_text("claim window")
    expect(mias.locator("#bell-count")).to_be_hidden()  # opened: read
    assert {e["lead"] for e in log_kinds(mias, "notification")} == {str(lead), str(other)}
    # Ann's board had the reminders only, each on her bell too; no manager step there.
    assert sorted(e["step"] for e in log_kinds(anns, "notification")) == ["reminder"] * 2
    assert len([e for e in log_kinds(service, "step") if e["lead"] == str(lead)]) == 1
    # Opened again later, the board lists her notifications from the outbox (already read).
    mias.reload()
    expect(mias.locator("#link")).to_have_class("link live", timeout=WAIT_MS)
    expect(mias.locator("#bell-count")).to_be_hidden()
    mias.locator("#bell-button").click()
    expect(mias.locator("#bell-list li")).to_have_count(2)
    expect(mias.locator("#bell-list li").first).to_contain_text("team lead nudge")
    mias.evaluate("window.__sameDocument = true")


def test_a_paused_card_says_why_and_its_countdown_stops(world, boards, browser):  # noqa: F811
    ann = world.agent("Ann")
    world.db.execute("alter table public.crm_leads add column if not exists status text")
    policy(world, "Waiting", {"source": "web"}, priority=10, claim_window="10 minutes",
           pause_when=psycopg.types.json.Jsonb({"status": "waiting"}))
    opening_later(world, "Office, later")  # every other lead: a calendar closed for 2 hours
    waiting, snoozed = world.lead(ann, source="web"), world.lead(ann, source="web")
    closed = world.lead(ann)
    world.travel("1 minute")
    world.db.execute("update public.crm_leads set status = 'waiting' where id = %s", (waiting,))
    # Snoozed until the day after tomorrow, 14:00 in the viewer's zone.
    zone = ZoneInfo(VIEWER_ZONE)
    until = (world.now().astimezone(zone) + timedelta(days=2)).replace(
        hour=14, minute=0, second=0, microsecond=0)
    world.db.execute("select public.crm_sla_snooze(%s, %s, 'calls back Thursday')",
                     (snoozed, until))
    resumes = world.scalar("select timer_resumes_at from public.crm_lead_sla_timers "
                           "where lead_id = %s", (closed,))
    page, errors = in_viewer_zone(browser, boards())
    expected = {waiting: ("status", "waiting on customer", "09:00"),
                snoozed: ("snoozed", f"snoozed until {until:%a} 14:00", "09:00"),
                closed: ("closed", f"closed until {resumes.astimezone(zone):%a %H:%M}", "05:00")}
    for lead, (reason, note, left) in expected.items():
        shown = card(page, lead)
        expect(shown).to_have_attribute("data-paused", "true", timeout=WAIT_MS)
        expect(shown).to_have_attribute("data-paused-reason", reason)
        expect(shown.locator(".paused-note")).to_have_text(note)
        expect(shown.locator(".countdown")).to_have_text(left)
    # The countdowns stop: not in real time, nor when the SLA clock moves on.
    page.wait_for_timeout(1500)
    world.travel("3 minutes")
    page.wait_for_timeout(2500)  # the board looks at the SLA clock every 2 s
    for lead, (_, _, left) in expected.items():
        expect(card(page, lead).locator(".countdown")).to_have_text(left)
    # The customer answers: the clock runs again from the open time that was left.
    world.db.execute("update public.crm_leads set status = 'answered' where id = %s", (waiting,))
    expect(card(page, waiting)).to_have_attribute("data-paused", "false", timeout=WAIT_MS)
    expect(card(page, waiting).locator(".paused-note")).to_be_hidden()
    expect(card(page, waiting).locator(".countdown")).to_have_text(re.compile(r"^0[89]:\d\d$"))
    assert same_document(page) and errors == []
    page.close()


def test_the_demo_shows_version_3_on_the_board(world, db_url, boards, browser):  # noqa: F811
    """What `make board` shows after the demo's story (crm-sla simulate --minutes 12, seed 7;
    no history here, the board does not chart it), at 1280x800: the vacation's column out, the
    decline's reason, the team lead's bell. Its screenshots are the README's and docs/board.md's
    (docs/board.png and docs/board-manager.png, copied from test-artifacts/)."""
    with redirect_stdout(io.StringIO()) as out:
        simulate(db_url, seed=7, agents=5, minutes=12, leads_per_minute=1.5, history_weeks=0)
    story = out.getvalue()
    away = world.db.execute(
        "select agent_id, ends_at from public.crm_sla_agent_absences where reason = 'vacation'"
    ).fetchone()
    declined = world.scalar("select lead_id from public.crm_lead_reassignments "
                            "where reason = 'declined'")
    manager = world.scalar("select id from public.crm_agents where full_name = %s",
                           (DEMO_TEAM_LEAD,))
    assert "declines" in story and "goes on vacation" in story and away and declined
    page = browser.new_page()
    page.goto(boards().page_url)
    expect(page.locator("#link")).to_have_class("link live", timeout=WAIT_MS)
    expect(column(page, away["agent_id"])).to_have_attribute("data-out", "true", timeout=WAIT_MS)
    expect(column(page, away["agent_id"]).locator(".out")).to_have_text(
        f"out until {away['ends_at']:%a %H:%M}")  # the browser's zone is UTC here
    if world.scalar("select not first_action_completed from public.crm_leads where id = %s",
                    (declined,)):
        expect(card(page, declined).locator(".moves")).to_contain_text(
            "declined: outside my territory")
    waiting = world.scalar("select lead_id from public.crm_lead_sla_timers "
                           "where paused_reason = 'status'")
    expect(card(page, waiting)).to_have_attribute("data-paused-reason", "status")
    expect(card(page, waiting).locator(".paused-note")).to_have_text("waiting on customer")
    assert page.evaluate("document.querySelector('#board').scrollWidth "
                         "<= document.querySelector('#board').clientWidth")
    assert page.evaluate(CONTRAST) == []
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "board-v3-demo-1280x800.png"))
    # The team lead's board: none of the reps' leads (her row-level security), and her bell
    # lists the ladder's nudges the story sent her.
    nudges = world.scalar("select count(*) from public.crm_sla_outbox where event = 'step' "
                          "and agent_id = %s", (manager,))
    assert nudges > 0
    lead_page = browser.new_page()
    lead_page.goto(boards(manager).page_url)
    expect(lead_page.locator("#link")).to_have_class("link live", timeout=WAIT_MS)
    lead_page.locator("#bell-button").click()
    expect(lead_page.locator("#bell-list li")).to_have_count(min(nudges, 20))
    expect(lead_page.locator("#bell-list li").first).to_contain_text("team lead nudge")
    assert lead_page.evaluate(CONTRAST) == []
    lead_page.screenshot(path=str(ARTIFACTS / "board-v3-manager-1280x800.png"))
    lead_page.close()
    page.close()
