"""The live pages come back by themselves after their stream was refused (a 503 from the
reverse proxy while no server is up): the browser closes such a stream for good, the page's
script reopens it with a capped backoff and shows "offline" meanwhile."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Route, expect

from tests.conftest import wait_until
from tests.server.helpers import AGENT, SITE, Srv
from tests.web.conftest import login, shoot

pytestmark = pytest.mark.browser

REFUSALS = 3


class Refuser:
    """Answers a stream's requests with 503 while ``held``, then lets them through."""

    def __init__(self) -> None:
        self.refused = 0
        self.passed = 0
        self.held = True

    def __call__(self, route: Route) -> None:
        if self.held:
            self.refused += 1
            route.fulfill(status=503, body="no server host is up")
        else:
            self.passed += 1
            route.continue_()


def test_follow_page_shows_a_call_made_after_its_stream_was_refused(
    web: Srv, phone: BrowserContext, shots: Path
) -> None:
    """GIVEN a follow page whose stream is answered 503 three times (each closes it for good)
    WHEN the ticket is called while the stream is still refused
    THEN the page shows "offline", then reopens the stream and shows the call, same document."""
    issued = web.issue("civil")
    label = issued["ticket"]["label"]
    refuser = Refuser()
    phone.route("**/t/*/events*", refuser)
    citizen = phone.new_page()
    citizen.goto(f"{web.url}/t/{issued['token']}")
    expect(citizen.locator("#ticket-label")).to_have_text(label)
    expect(citizen.locator("#live-state")).to_have_class("live-state off")
    # Each refusal closes the browser's stream for good: only the page's script reopens it.
    # (Evaluating lets Playwright run the route handler meanwhile.)
    assert wait_until(lambda: citizen.evaluate("1") and refuser.refused >= REFUSALS)
    citizen.evaluate("window.__sameDocument = 'yes'")
    shoot(citizen, shots, "follow-offline")

    web.call_until("2", issued["ticket"])  # the call happens while the page hears nothing
    refuser.held = False
    expect(citizen.locator("#called-banner")).to_contain_text("Guichet 2")
    expect(citizen.locator("#live-state")).to_have_class("live-state on")
    assert citizen.evaluate("window.__sameDocument") == "yes", "the follow page was reloaded"
    assert refuser.refused >= REFUSALS and refuser.passed >= 1
    shoot(citizen, shots, "follow-back-online")


def test_console_reopens_its_stream_and_follows_the_kiosk_again(
    web: Srv, context: BrowserContext
) -> None:
    """GIVEN the console whose stream is refused a few times
    WHEN a ticket is issued at the kiosk meanwhile
    THEN the console, once its stream is reopened, lists it without a reload."""
    refuser = Refuser()
    context.route("**/console/*/_stream*", refuser)
    agent = context.new_page()
    login(agent, web.url, AGENT, then=f"/console/{SITE}/1")
    expect(agent.locator("h1")).to_have_text("Guichet 1")
    expect(agent.locator("#live-state")).to_have_class("live-state off")
    assert wait_until(lambda: agent.evaluate("1") and refuser.refused >= 2)
    agent.evaluate("window.__sameDocument = 'yes'")
    issued = web.issue("passports")
    refuser.held = False
    expect(agent.locator(".queue-service[data-service=passports] tbody tr").last).to_contain_text(
        issued["ticket"]["label"]
    )
    expect(agent.locator("#live-state")).to_have_class("live-state on")
    assert agent.evaluate("window.__sameDocument") == "yes", "the console was reloaded"
    assert refuser.refused >= 1 and refuser.passed >= 1
