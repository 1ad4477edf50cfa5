"""The board among other things on one machine: its cookie is its own (named after its port, so
two boards on one host and other sites' cookies leave it alone), and an agent added after it
started gets its column, with its name, at its first event."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from harness.board import hub
from tests.test_board import (  # noqa: F401 (fixtures)
    WAIT_MS,
    boards,
    browser,
    in_column,
    open_page,
    post,
    request,
)


def set_cookie(board) -> tuple[str, str]:
    """The cookie the board's printed address trades its token for: (name=value, attributes)."""
    status, _, headers = request(board.page_url)
    assert status == 303
    pair, _, attributes = headers["set-cookie"].partition(";")
    return pair.strip(), attributes


def test_two_boards_on_one_host_keep_their_own_cookies(world, boards):  # noqa: F811
    ann, bob = world.agents("Ann", "Bob")
    anns, bobs = world.lead(ann), world.lead(bob)
    as_ann, as_bob = boards(agent=ann), boards(agent=bob)
    cookies = {}
    for board in (as_ann, as_bob):
        pair, attributes = set_cookie(board)
        assert pair == f"crm_sla_board_{board.port}={board.token}"
        assert re.search(r"(^|;)\s*Path=/\s*(;|$)", attributes)
        assert "HttpOnly" in attributes
        assert re.search(r"SameSite=strict", attributes, re.IGNORECASE)
        cookies[board.port] = pair
    # A browser sends a host's cookies to every port of it: each board reads its own, whatever
    # else the header holds (the other board's, and a JSON value some other local app set,
    # which Python's http.cookies cannot parse and then drops every cookie with).
    other_app = 'prefs={"theme":"dark"}; session=a b'
    header = f"{other_app}; {cookies[as_bob.port]}; {cookies[as_ann.port]}"
    action = {"X-CRM-SLA-Board": "1", "Cookie": header}
    status, body = post(f"{as_ann.url}api/leads/{anns}/claim", action)
    assert status == 200, body
    status, body = post(f"{as_bob.url}api/leads/{bobs}/claim", action)
    assert status == 200, body
    assert world.row(anns)["lead_claimed"] and world.row(bobs)["lead_claimed"]
    # One board's cookie is not the other's token.
    only_bob = {"X-CRM-SLA-Board": "1", "Cookie": cookies[as_bob.port].replace(
        f"crm_sla_board_{as_bob.port}", f"crm_sla_board_{as_ann.port}")}
    status, body = post(f"{as_ann.url}api/leads/{anns}/contact", only_bob)
    assert status == 401 and body["error"]["code"] == "token"


def test_a_new_agent_gets_its_column_and_name(world, boards, open_page, monkeypatch):  # noqa: F811
    """An agent added after the board started, at its first event, without a restart."""
    # No periodic full re-read during the test: the event itself must bring the agent in.
    monkeypatch.setattr(hub, "RESYNC_SECONDS", 3600.0)
    ann = world.agent("Ann")
    page = open_page(boards())
    expect(page.locator(".column")).to_have_count(2)  # the overflow queue, Ann
    zoe = world.agent("Zoe Newcomer")
    lead = world.lead(zoe, full_name="Late arrival")
    expect(in_column(page, zoe, lead)).to_be_visible(timeout=WAIT_MS)
    head = page.locator(f'.column[data-agent-id="{zoe}"] .agent')
    expect(head).to_have_text("Zoe Newcomer", timeout=WAIT_MS)
    expect(page.locator(".column")).to_have_count(3)
    assert str(ann) in page.locator(".column").nth(1).get_attribute("data-agent-id")
