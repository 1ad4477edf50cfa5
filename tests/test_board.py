"""The lead board, in a real browser (Debian's chromium driven by Playwright): cards appear for new
leads, countdowns tick on the SLA clock, a breach moves the card to its new owner without a reload,
an agent sees only its own leads and can claim them, and the page reconnects by itself. Plus the
crm_sla events the board relies on, its JSON API, and its command line.

Screenshots of every browser test land in test-artifacts/board/ (git-ignored); the notify-to-card
latency measurement in test-artifacts/board-latency.json."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from harness.board.app import bind, make_server, resolve_identity
from harness.paths import REPO_ROOT
from harness.testing import World, connect
from tests.cli import STARTED, STOP_SIGNALS, assert_one_line_error, crm_sla

CHROMIUM = os.environ.get("CRM_SLA_CHROMIUM", "/usr/bin/chromium")
# This machine has no internet: without these, Chromium hangs on network attempts.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO_ROOT / "test-artifacts"
WAIT_MS = 15_000  # generous: a loaded CI machine; the board usually answers in milliseconds


class Board:
    """`crm-sla board` in a thread of this process, on a free port (or the one given); `url` is
    its address, `page_url` the one it prints, with its token."""

    def __init__(self, url: str, agent: uuid.UUID | None = None, port: int = 0,
                 host: str = "127.0.0.1"):
        self.sock = bind(host, port)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.token = secrets.token_urlsafe(24)
        self.page_url = f"{self.url}?token={self.token}"
        self.server = make_server(url, resolve_identity(url, agent), self.sock, self.token)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "board did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()
        assert not self.thread.is_alive(), "board did not stop"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (as root), "
                    "or apt-get install chromium")
    profile = tempfile.mkdtemp(prefix="crm-sla-chromium-")
    with sync_playwright() as p:
        # A persistent context gives Chromium the fresh --user-data-dir we made ourselves.
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 800})
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def boards(db_url):
    started: list[Board] = []

    def start(agent: uuid.UUID | None = None, port: int = 0, host: str = "127.0.0.1") -> Board:
        board = Board(db_url, agent, port, host)
        started.append(board)
        return board

    yield start
    for board in started:
        if board.thread.is_alive():
            board.stop()


@pytest.fixture
def open_page(browser, request):
    pages = []

    def open_(board: Board):
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(board.page_url)
        expect(page.locator("#link")).to_have_class("link live", timeout=WAIT_MS)
        page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page
        pages.append((page, errors))
        return page

    yield open_
    folder = ARTIFACTS / "board"
    folder.mkdir(parents=True, exist_ok=True)
    for i, (page, errors) in enumerate(pages):
        page.screenshot(path=str(folder / f"{request.node.name}{'-' + str(i) if i else ''}.png"))
        page.close()
        assert errors == [], errors


def card(page, lead: uuid.UUID):
    return page.locator(f'.card[data-lead-id="{lead}"]')


def in_column(page, agent: uuid.UUID, lead: uuid.UUID):
    return page.locator(f'.column[data-agent-id="{agent}"] .card[data-lead-id="{lead}"]')


def countdown_seconds(page, lead: uuid.UUID) -> int:
    text = card(page, lead).locator(".countdown").inner_text()
    minutes, seconds = text.lstrip("-").split(":")
    value = int(minutes) * 60 + int(seconds)
    return -value if text.startswith("-") else value


def wait_for_countdown(page, lead: uuid.UUID, low: int, high: int) -> None:
    """Until the card's countdown (mm:ss, negative when overdue) is within [low, high] s."""
    page.wait_for_function(
        """([id, low, high]) => {
            const el = document.querySelector(`.card[data-lead-id="${id}"] .countdown`);
            if (!el || !el.textContent.includes(":")) return false;
            const t = el.textContent, [m, s] = t.replace("-", "").split(":").map(Number);
            const v = (t.startsWith("-") ? -1 : 1) * (m * 60 + s);
            return v >= low && v <= high;
        }""", arg=[str(lead), low, high], timeout=WAIT_MS)


def same_document(page) -> bool:
    return page.evaluate("window.__sameDocument === true")


# -- the events the board listens to --------------------------------------------------------------

def test_new_leads_claims_and_first_actions_are_announced(world):
    ann, bob = world.agents("Ann", "Bob")
    listener = connect(world.url)
    listener.execute("listen crm_sla")
    world.db.execute("insert into public.crm_leads (full_name, assigned_agent_id) "
                     "select 'Lead ' || i, %s from generate_series(1, 3) as i", (ann,))
    lead = world.lead(bob)
    with world.as_agent(bob) as conn:
        conn.execute("select public.claim_lead(%s)", (lead,))
        conn.execute("select public.complete_first_action(%s)", (lead,))
    events = [json.loads(n.payload) for n in listener.notifies(timeout=2, stop_after=6)]
    listener.close()
    # Each new lead's assigned event names it, so the board re-reads just those leads (a
    # statement of more than 100 sends one "batch" notification instead: see test_events).
    assert [(e["event"], e["lead_id"], e["agent_id"]) for e in events] == [
        ("assigned", e["lead_id"], str(ann)) for e in events[:3]
    ] + [
        ("assigned", str(lead), str(bob)),
        ("claimed", str(lead), str(bob)),
        ("contacted", str(lead), str(bob)),
    ]
    assert len({e["lead_id"] for e in events[:3]}) == 3


def test_a_reassignment_is_announced_once_not_as_a_claim(world):
    ann, bob = world.agents("Ann", "Bob")
    lead = world.lead(ann)
    listener = connect(world.url)
    listener.execute("listen crm_sla")
    world.db.execute("select public.reassign_lead(%s, %s)", (lead, bob))
    events = [json.loads(n.payload)["event"] for n in listener.notifies(timeout=1)]
    listener.close()
    assert events == ["reassigned"]


# -- the page, in a real browser ------------------------------------------------------------------

def test_cards_appear_for_new_leads(world, boards, open_page):
    ann, bob = world.agents("Ann", "Bob")
    page = open_page(boards())
    expect(page.locator(".column")).to_have_count(3)  # the overflow queue, Ann, Bob
    expect(page.locator("#empty")).to_be_visible()
    first = world.lead(ann, full_name="Acme Corp")
    expect(in_column(page, ann, first)).to_be_visible(timeout=WAIT_MS)
    expect(card(page, first).locator(".name")).to_have_text("Acme Corp")
    expect(card(page, first).locator(".stage")).to_have_text("claim")
    # Unowned leads are routed when their statement ends; several rows in one statement appear.
    world.db.execute(
        "insert into public.crm_leads (full_name) select 'Batch ' || i from generate_series(1, 3)"
        " as i")
    rows = world.db.execute("select id, assigned_agent_id from public.crm_leads "
                            "where full_name like 'Batch %'").fetchall()
    assert all(row["assigned_agent_id"] for row in rows)
    for row in rows:
        expect(in_column(page, row["assigned_agent_id"], row["id"])).to_be_visible(
            timeout=WAIT_MS)
    expect(page.locator(".card")).to_have_count(4)
    expect(page.locator("#totals")).to_contain_text("4 open")
    assert same_document(page)


def test_a_countdown_ticks_and_follows_the_sla_clock(world, boards, open_page):
    ann, _bob = world.agents("Ann", "Bob")
    lead = world.lead(ann)
    page = open_page(boards())
    wait_for_countdown(page, lead, 240, 300)
    before = countdown_seconds(page, lead)
    wait_for_countdown(page, lead, 0, before - 1)  # it ticks, in the browser
    # The SLA clock moves (as in tests and demos): the countdown follows without any event.
    world.travel("4 minutes")
    wait_for_countdown(page, lead, 0, 60)
    world.travel("2 minutes")
    wait_for_countdown(page, lead, -70, -1)  # overdue: negative, until the monitor runs
    expect(card(page, lead)).to_have_class("card stage-claim overdue")
    expect(page.locator("#clock")).to_contain_text("+06:00 from the wall clock")
    assert same_document(page)


def opening_later(world: World, policy: str, claim_window: str = "5 minutes") -> None:
    """A policy for every new lead on a calendar open one hour a day, from two hours from now
    (UTC): a new lead's timer waits for it."""
    cal = world.scalar("insert into public.crm_sla_calendars (name) values ('Later') returning id")
    world.db.execute(
        "insert into public.crm_sla_calendar_hours select %s, d, o::time, (o + interval '1 hour')"
        "::time from generate_series(0, 6) as d, (select date_trunc('minute', public.sla_now() "
        "at time zone 'UTC') + interval '2 hours' as o) as x", (cal,))
    world.db.execute("insert into public.crm_sla_policies (name, calendar_id, claim_window) "
                     "values (%s, %s, %s)", (policy, cal, claim_window))


def test_a_card_whose_calendar_is_closed_shows_it_paused_until_it_opens(world, boards, open_page):
    ann = world.agent("Ann")
    opening_later(world, "Everything, later")
    lead = world.lead(ann)
    page = open_page(boards())
    expect(card(page, lead).locator(".paused-note")).to_contain_text("closed until ")
    world.travel("2 hours 1 minute")  # open now: it counts down, without any event
    wait_for_countdown(page, lead, 180, 300)
    expect(card(page, lead)).not_to_have_class(re.compile("paused"))
    assert same_document(page)


def test_a_breach_moves_the_card_to_the_new_owner_and_marks_it(world, boards, open_page):
    ann, bob = world.agents("Ann", "Bob")
    lead = world.lead(ann)
    page = open_page(boards())
    expect(in_column(page, ann, lead)).to_be_visible()
    expect(card(page, lead).locator(".breach-claim")).to_be_hidden()
    world.travel("6 minutes")
    assert world.monitor()["unclaimed"] == 1
    moved = in_column(page, bob, lead)
    expect(moved).to_be_visible(timeout=WAIT_MS)
    expect(in_column(page, ann, lead)).to_have_count(0)
    expect(moved).to_have_class("card stage-claim breached moved")
    expect(moved.locator(".breach-claim")).to_be_visible()
    expect(moved.locator(".moves")).to_have_text("↻ 1 · unclaimed · from Ann")
    wait_for_countdown(page, lead, 240, 300)  # Bob's fresh claim window
    # Missing the contact window too: back to Ann, both badges.
    world.db.execute("update public.crm_leads set lead_claimed = true where id = %s", (lead,))
    expect(moved.locator(".stage")).to_have_text("contact", timeout=WAIT_MS)
    world.travel("6 minutes")
    assert world.monitor()["no_contact"] == 1
    back = in_column(page, ann, lead)
    expect(back.locator(".breach-contact")).to_be_visible(timeout=WAIT_MS)
    expect(back.locator(".breach-claim")).to_be_visible()
    expect(back.locator(".moves")).to_have_text("↻ 2 · no contact · from Bob")
    assert same_document(page)


def test_an_escalated_lead_shows_in_the_admins_column(world, boards, open_page):
    ann, bob = world.agents("Ann", "Bob")
    boss = world.agent("Boss", role="admin")
    world.settings(max_reassignments=1)
    lead = world.lead(ann)
    page = open_page(boards())
    world.travel("6 minutes")
    world.monitor()
    expect(in_column(page, bob, lead)).to_be_visible(timeout=WAIT_MS)
    world.travel("6 minutes")
    assert world.monitor()["escalated"] == 1
    escalated = in_column(page, boss, lead)
    expect(escalated).to_be_visible(timeout=WAIT_MS)
    expect(escalated.locator(".stage")).to_have_text("escalated")
    expect(escalated.locator(".countdown")).to_have_text("—")
    expect(page.locator(f'.column[data-agent-id="{boss}"]')).to_have_class("column admin")


def test_an_agent_view_shows_only_its_own_leads(world, boards, open_page):
    ann, bob = world.agents("Ann", "Bob")
    mine = world.lead(ann, full_name="Mine")
    theirs = world.lead(bob, full_name="Theirs")
    page = open_page(boards(agent=ann))
    expect(page.locator("#who")).to_contain_text("Signed in as Ann (agent)")
    expect(page.locator(".column")).to_have_count(1)
    expect(in_column(page, ann, mine)).to_be_visible()
    expect(card(page, theirs)).to_have_count(0)
    # Bob's new lead never shows; one handed to Ann does, and one taken from her goes.
    world.lead(bob, full_name="Also theirs")
    given = world.lead(bob, full_name="Given")
    world.db.execute("select public.reassign_lead(%s, %s)", (given, ann))
    expect(in_column(page, ann, given)).to_be_visible(timeout=WAIT_MS)
    world.db.execute("select public.reassign_lead(%s, %s)", (mine, bob))
    expect(card(page, mine)).to_have_count(0, timeout=WAIT_MS)
    expect(page.locator(".card")).to_have_count(1)
    # Its own cards have buttons; the service view has none.
    expect(card(page, given).locator(".act")).to_have_count(3)  # Claim, Decline, Contacted
    service = open_page(boards())
    expect(service.locator(".card")).to_have_count(4)
    expect(service.locator(".actions:visible")).to_have_count(0)


def test_claim_switches_the_card_to_the_contact_countdown(world, boards, open_page):
    ann, _bob = world.agents("Ann", "Bob")
    lead = world.lead(ann)
    world.travel("3 minutes")
    page = open_page(boards(agent=ann))
    wait_for_countdown(page, lead, 60, 120)
    card(page, lead).get_by_role("button", name="Claim").click()
    expect(card(page, lead).locator(".stage")).to_have_text("contact", timeout=WAIT_MS)
    wait_for_countdown(page, lead, 240, 300)  # the contact window, from the claim
    expect(card(page, lead).get_by_role("button", name="Claim")).to_be_hidden()
    expect(page.locator("#notice")).to_contain_text("Claimed Lead")
    row = world.row(lead)
    assert row["lead_claimed"] and not row["claim_sla_breached"]
    assert world.scalar("select agent_id from public.crm_lead_sla_events where lead_id = %s",
                        (lead,)) == ann  # claimed as Ann, through her JWT
    card(page, lead).get_by_role("button", name="Contacted").click()
    expect(card(page, lead)).to_have_count(0, timeout=WAIT_MS)  # done: off the board
    assert world.row(lead)["first_action_completed"]
    assert same_document(page)


def test_a_refused_claim_shows_the_databases_error(world, boards, open_page):
    ann, bob = world.agents("Ann", "Bob")
    lead = world.lead(ann)
    page = open_page(boards(agent=ann))

    def reassign_first(route):
        # The lead is taken from Ann between her click and the database call.
        world.db.execute("select public.reassign_lead(%s, %s)", (lead, bob))
        route.continue_()

    page.route(f"**/api/leads/{lead}/claim", reassign_first)
    card(page, lead).get_by_role("button", name="Claim").click()
    notice = page.locator("#notice")
    expect(notice).to_contain_text("was reassigned away from you (SL004)", timeout=WAIT_MS)
    expect(notice).to_contain_text("Hint: Its SLA window expired")
    expect(card(page, lead)).to_have_count(0, timeout=WAIT_MS)
    assert not world.row(lead)["lead_claimed"]


def test_the_page_reconnects_by_itself_when_the_stream_drops(world, boards, open_page):
    ann, _bob = world.agents("Ann", "Bob")
    board = boards()
    page = open_page(board)
    board.stop()
    expect(page.locator("#link")).to_have_class("link down", timeout=WAIT_MS)
    lead = world.lead(ann)  # while nobody listens
    boards(port=board.port)
    expect(page.locator("#link")).to_have_class("link live", timeout=WAIT_MS)
    expect(in_column(page, ann, lead)).to_be_visible(timeout=WAIT_MS)
    assert same_document(page)


def claim(world: World, leads) -> None:
    world.db.execute("update public.crm_leads set lead_claimed = true where id = any(%s)",
                     (list(leads),))


def test_the_board_reconnects_to_the_database_by_itself(world, boards, open_page):
    ann, _bob = world.agents("Ann", "Bob")
    page = open_page(boards())
    killed = world.scalar(
        "select count(pg_terminate_backend(pid)) from pg_stat_activity "
        "where datname = current_database() and query ilike 'listen%%'")
    assert killed == 1  # the one LISTEN connection, however many pages
    lead = world.lead(ann)  # possibly while nobody listens: the board resyncs after reconnecting
    expect(in_column(page, ann, lead)).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#link")).to_have_class("link live", timeout=WAIT_MS)
    assert same_document(page)


CONTRAST = """() => {
    const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => [r, g, b].map((v) => {
        v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    }).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
    const background = (el) => {
        for (; el; el = el.parentElement) {
            const c = rgb(getComputedStyle(el).backgroundColor);
            if (c.length === 3 || c[3] > 0) return c.slice(0, 3);
        }
        return [255, 255, 255];
    };
    const low = [];
    for (const el of document.querySelectorAll("body *")) {
        const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
        if (!own || !el.getClientRects().length) continue;
        const a = lum(rgb(getComputedStyle(el).color)), b = lum(background(el));
        const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        if (ratio < 4.5) low.push(`${el.className || el.tagName}: ${ratio.toFixed(2)}`);
    }
    return [...new Set(low)];
}"""


def test_readable_at_1280x800_with_10_agents_and_100_leads(world, boards, open_page):
    """Ten agents, an admin holding escalations, a hundred leads in every state: it fits a
    1280x800 screen with nothing cut off. Its screenshot is the README's (docs/board.png)."""
    world.agents("Ana Silva", "Ben Okafor", "Cara Diaz", "Dev Patel", "Eli Novak", "Fay Moreau",
                 "Gus Berg", "Hana Ito", "Ivo Costa", "Jo Lindqvist")
    world.agent("Max Admin", role="admin")
    world.settings(max_reassignments=1)
    names = (f"Lead {i:03d}" for i in range(1, 101))

    def leads(count: int) -> list[uuid.UUID]:
        return [world.lead(full_name=next(names)) for _ in range(count)]

    leads(4)  # missed twice: escalated to the admin
    world.travel("6 minutes")
    world.monitor()
    world.travel("6 minutes")
    world.monitor()
    first = leads(26)
    claim(world, first[:8])
    world.travel("6 minutes")
    world.monitor()  # all 26 missed a window: reassigned, breached
    claim(world, first[8:18])
    world.travel("2 minutes")
    for _ in range(7):  # the rest arrive over time, some already claimed
        fresh = leads(10)
        claim(world, fresh[:3])
        world.travel("25 seconds")
    world.travel("20 seconds")  # the first reassigned ones are overdue now
    page = open_page(boards())
    expect(page.locator(".card")).to_have_count(100)
    # The overflow queue, ten agents, the admin with escalations.
    expect(page.locator(".column")).to_have_count(12)
    expect(page.locator(".card.stage-escalated")).to_have_count(4)
    # Every column fits the width (no sideways scrolling) and no card's name or timer is cut.
    assert page.evaluate("document.querySelector('#board').scrollWidth "
                         "<= document.querySelector('#board').clientWidth")
    cut = page.evaluate("""[...document.querySelectorAll(
        '.card .name, .card .countdown, .card .stage, .card .badge, .column h2 .agent')]
        .filter(e => e.scrollWidth > e.clientWidth).map(e => e.textContent)""")
    assert cut == []
    assert page.evaluate(CONTRAST) == []  # WCAG AA: every text at least 4.5:1
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "board-1280x800.png"))


# -- how long an event takes to reach the page ---------------------------------------------------

def test_notify_to_card_latency_is_measured(world, boards, open_page):
    """Not a timing assertion (noisy machines): measures, from the monitor's commit (which sends
    the pg_notify) to the page having moved the card, and writes test-artifacts/board-latency.json
    (`make board-latency` prints it)."""
    ann, bob = world.agents("Ann", "Bob")
    world.settings(max_reassignments=100)
    page = open_page(boards())
    lead = world.lead(ann)
    expect(in_column(page, ann, lead)).to_be_visible(timeout=WAIT_MS)
    samples = []
    for i in range(15):
        owner = bob if i % 2 == 0 else ann
        world.travel("6 minutes")
        t0 = time.time() * 1000
        world.monitor()
        t1 = time.time() * 1000
        expect(in_column(page, owner, lead)).to_be_visible(timeout=WAIT_MS)
        page.wait_for_function("""(id) => {
            const log = window.board.state.log;
            const moved = log.filter(e => e.kind === 'moved' && e.lead === id).pop();
            return moved && log.some(e => e.kind === 'painted' && e.at >= moved.at);
        }""", arg=str(lead), timeout=WAIT_MS)
        entry = page.evaluate("""(id) => {
            const log = window.board.state.log;
            const moved = log.filter(e => e.kind === 'moved' && e.lead === id).pop();
            const patch = log.filter(e => e.kind === 'patch' && e.at <= moved.at).pop();
            const painted = log.find(e => e.kind === 'painted' && e.at >= moved.at);
            return {moved: moved.at, painted: painted.at, patch: patch.at, trace: patch.trace};
        }""", str(lead))
        trace = entry["trace"]
        samples.append({
            "statement_ms": t1 - t0,  # the pg_notify is sent at this statement's commit
            "commit_to_card_ms": entry["moved"] - t1,
            "commit_to_painted_ms": entry["painted"] - t1,
            "notify_to_server_ms": trace["notify_ms"] - t1,
            "server_refresh_ms": trace["sent_ms"] - trace["notify_ms"],
            "server_to_page_ms": entry["patch"] - trace["sent_ms"],
            "page_apply_ms": entry["moved"] - entry["patch"],
        })
    summary = {key: {"median": round(statistics.median(s[key] for s in samples), 1),
                     "max": round(max(s[key] for s in samples), 1)}
               for key in samples[0]}
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "board-latency.json").write_text(json.dumps(
        {"samples": len(samples), "summary": summary, "raw": samples}, indent=2))
    print("notify-to-card latency (ms):", json.dumps(summary))
    # The page moved the card once per reassignment, in the audit trail's order: none lost,
    # none doubled, none out of order.
    moves = page.evaluate("""(id) => window.board.state.log
        .filter(e => e.kind === 'moved' && e.lead === id).map(e => [e.from, e.to])""", str(lead))
    audit = [[str(a["from_agent_id"]), str(a["to_agent_id"])] for a in world.audit(lead)]
    assert len(audit) == 15 and moves == audit


# -- the JSON API and the command line ------------------------------------------------------------

def request(url: str, method: str = "GET", headers: dict | None = None) -> tuple[int, str, dict]:
    """(status, body, response headers) of one request, redirects not followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.build_opener(NoRedirect).open(req, timeout=10) as res:
            return res.status, res.read().decode(), dict(res.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(), dict(err.headers)


def post(url: str, headers: dict | None = None) -> tuple[int, dict]:
    status, body, _ = request(url, "POST", headers)
    return status, json.loads(body)


def bearer(board: Board) -> dict:
    return {"X-CRM-SLA-Board": "1", "Authorization": f"Bearer {board.token}"}


def test_actions_need_the_boards_header_its_token_an_agent_and_its_own_lead(world, boards):
    ann, bob = world.agents("Ann", "Bob")
    lead = world.lead(bob)
    mine = world.lead(ann)
    header = {"X-CRM-SLA-Board": "1"}
    service, as_ann = boards(), boards(agent=ann)
    status, body = post(f"{as_ann.url}api/leads/{lead}/claim")
    assert status == 403 and body["error"]["code"] == "forbidden"  # no cross-site forms
    # Without the board's token (another page, a local process), nobody claims as Ann.
    for headers in (header, {**header, "Authorization": "Bearer not-the-token-of-this-board"}):
        status, body = post(f"{as_ann.url}api/leads/{mine}/claim", headers)
        assert status == 401 and body["error"]["code"] == "token"
    assert not world.row(mine)["lead_claimed"]
    header = bearer(as_ann)
    status, body = post(f"{as_ann.url}api/leads/{mine}/claim", header)
    assert status == 200 and world.row(mine)["lead_claimed"]
    status, body = post(f"{service.url}api/leads/{lead}/claim", bearer(service))
    assert status == 403 and body["error"]["code"] == "read-only"
    status, body = post(f"{as_ann.url}api/leads/{lead}/claim", header)
    assert status == 403 and body["error"]["code"] == "SL002"
    assert body["error"]["hint"] == "Only the lead's owner can record a claim."
    # A lead that does not exist reads to an agent as one that is not its own.
    status, body = post(f"{as_ann.url}api/leads/{uuid.uuid4()}/contact", header)
    assert status == 403 and body["error"]["code"] == "SL002"
    status, body = post(f"{as_ann.url}api/leads/{lead}/delete", header)
    assert status == 404
    assert not world.row(lead)["lead_claimed"]
    with urllib.request.urlopen(f"{as_ann.url}api/board", timeout=10) as res:
        snapshot = json.loads(res.read())
    assert snapshot["identity"] == {"agent_id": str(ann), "name": "Ann", "role": "agent"}
    assert [card["id"] for card in snapshot["cards"]] == [str(mine)]


def test_a_board_reachable_from_the_network_needs_its_token_and_a_known_host(world, boards):
    """Bound to every address: it answers only this machine's own names (no DNS rebinding), and
    only to those who have its token, which the printed address trades for a cookie."""
    ann = world.agent("Ann")
    lead = world.lead(ann)
    board = boards(agent=ann, host="0.0.0.0")
    for path in ("", "api/board", "events", "static/board.js"):
        status, body, _ = request(board.url + path)
        assert status == 401 and "token" in body, path
    status, _, _ = request(f"{board.url}api/board", headers={"Host": "rebound.example:80"})
    assert status == 400  # a name that is not this machine's, whatever the token
    status, _, _ = request(f"{board.url}api/board", headers={
        "Host": "rebound.example", "Authorization": f"Bearer {board.token}"})
    assert status == 400
    status, body, _ = request(f"{board.url}api/board",
                              headers={"Authorization": f"Bearer {board.token}"})
    assert status == 200 and json.loads(body)["cards"][0]["id"] == str(lead)
    status, _, headers = request(f"{board.url}?token=a-wrong-token-of-some-length")
    assert status == 401
    status, _, headers = request(board.page_url)
    assert status == 303 and headers["location"] == "/"
    cookie = headers["set-cookie"].split(";")[0]
    assert "HttpOnly" in headers["set-cookie"] and "SameSite=strict" in headers["set-cookie"]
    status, _, _ = request(f"{board.url}api/board", headers={"Cookie": cookie})
    assert status == 200
    status, body = post(f"{board.url}api/leads/{lead}/claim",
                        {"Cookie": cookie, "X-CRM-SLA-Board": "1"})
    assert status == 200 and world.row(lead)["lead_claimed"]


def test_a_loopback_board_answers_loopback_names_only(world, boards):
    board = boards()
    for host in ("127.0.0.1", "localhost"):
        assert request(f"{board.url}api/board", headers={"Host": f"{host}:{board.port}"})[0] \
            == 200
    assert request(f"{board.url}api/board", headers={"Host": "rebound.example"})[0] == 400


def test_board_on_the_network_without_a_token_is_refused_in_one_line(world, db_url):
    assert_one_line_error(crm_sla("board", "--host", "0.0.0.0", url=db_url, timeout=20),
                          "reachable from the network", "--token")
    assert_one_line_error(
        crm_sla("board", "--host", "0.0.0.0", "--token", "short", url=db_url, timeout=20),
        "--token", "16 characters")


def test_board_command_errors_are_one_clear_line(world, db_url):
    assert_one_line_error(crm_sla("board", "--as-agent", str(uuid.uuid4()), url=db_url),
                          "no agent")
    assert_one_line_error(crm_sla("board", "--as-agent", str(uuid.UUID(int=0)), url=db_url),
                          "system actor")
    busy = bind("127.0.0.1", 0)
    try:
        assert_one_line_error(
            crm_sla("board", "--port", str(busy.getsockname()[1]), url=db_url),
            "cannot listen", "--port")
    finally:
        busy.close()


def test_board_on_a_database_without_the_engine_is_one_clear_line(fresh_db):
    assert_one_line_error(crm_sla("board", url=fresh_db()), "make migrate")


@STOP_SIGNALS
@STARTED
def test_the_board_command_stops_cleanly(db_url, stop, started):
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "board", "--port", "0"],
        env=dict(os.environ, DATABASE_URL=db_url), cwd=REPO_ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=started)
    try:
        address = re.search(r"http://\S+/", proc.stdout.readline()).group(0)
        with urllib.request.urlopen(address, timeout=15) as page:
            assert page.status == 200 and "<html" in page.read().decode().lower()
        proc.send_signal(stop)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert "crm-sla board: stopped" in out
