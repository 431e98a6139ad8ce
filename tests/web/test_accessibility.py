"""Every page, in the states people meet, checked by axe-core in headless Chromium: no
violation of any impact (``tests.web.conftest.axe_violations``: every rule axe runs by default,
WCAG 2.x A and AA and best practices)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.server.helpers import ADMIN, AGENT, MANAGER, SITE, Srv
from tests.web.conftest import axe_violations, login

pytestmark = pytest.mark.browser


def _public(web: Srv, page: Page) -> None:
    page.goto(f"{web.url}/")


def _login(web: Srv, page: Page) -> None:
    page.goto(f"{web.url}/login")


def _wait(web: Srv, page: Page) -> None:
    page.goto(f"{web.url}/wait/{SITE}?lang=en")


def _embed(web: Srv, page: Page) -> None:
    page.goto(f"{web.url}/embed/{SITE}")


def _follow_waiting(web: Srv, page: Page) -> None:
    issued = web.issue("civil", priority="pregnancy")
    page.goto(f"{web.url}/t/{issued['token']}")
    expect(page.locator("#ticket-label")).to_have_text(issued["ticket"]["label"])


def _follow_called(web: Srv, page: Page) -> None:
    issued = web.issue("passports")
    web.call_until("4", issued["ticket"])
    web.act("4", "recall")
    page.goto(f"{web.url}/t/{issued['token']}?lang=en")
    expect(page.locator("#called-banner")).to_be_visible()


def _follow_served(web: Srv, page: Page) -> None:
    issued = web.issue("civil")
    web.call_until("3", issued["ticket"])
    web.act("3", "done")
    page.goto(f"{web.url}/t/{issued['token']}")
    expect(page.locator("#visit-question")).to_be_visible()


def _visit_tablet(web: Srv, page: Page) -> None:
    login(page, web.url, AGENT, then=f"/console/{SITE}/3/feedback")


def _follow_unknown(web: Srv, page: Page) -> None:
    page.goto(f"{web.url}/t/{'x' * 24}")


def _console_choose(web: Srv, page: Page) -> None:
    login(page, web.url, AGENT, then=f"/console/{SITE}")


def _console(web: Srv, page: Page) -> None:
    web.issue("civil")
    login(page, web.url, AGENT, then=f"/console/{SITE}/2")
    page.click("#action-next")
    expect(page.locator("#current-ticket")).not_to_have_attribute("data-ticket", "")


def _console_undo(web: Srv, page: Page) -> None:
    _console(web, page)
    page.click("#action-no-show")
    expect(page.locator("#undo-bar")).to_be_visible()


def _admin_site(web: Srv, page: Page) -> None:
    login(page, web.url, ADMIN, then=f"/admin/{SITE}")


def _admin_service_error(web: Srv, page: Page) -> None:
    login(page, web.url, ADMIN, then=f"/admin/{SITE}/services/new")
    page.fill("#id", "x")
    page.fill("#prefix", "Q")
    page.fill("#name-fr", "X")
    page.fill("#hours-mon", "8h-12h")
    page.click("button:text('Enregistrer')")
    expect(page.locator(".field-error")).to_be_visible()


def _admin_counter(web: Srv, page: Page) -> None:
    login(page, web.url, ADMIN, then=f"/admin/{SITE}/counters/1")


def _admin_devices(web: Srv, page: Page) -> None:
    login(page, web.url, ADMIN, then=f"/admin/{SITE}/devices")


def _admin_fleet(web: Srv, page: Page) -> None:
    login(page, web.url, ADMIN, then=f"/admin/{SITE}/fleet")


def _stats(web: Srv, page: Page) -> None:
    login(page, web.url, MANAGER, then=f"/stats/{SITE}")


PAGES: dict[str, Callable[[Srv, Page], None]] = {
    "landing": _public,
    "login": _login,
    "wait": _wait,
    "embed": _embed,
    "follow-waiting-priority": _follow_waiting,
    "follow-called-recalled": _follow_called,
    "follow-served-question": _follow_served,
    "follow-unknown": _follow_unknown,
    "visit-tablet": _visit_tablet,
    "console-choose": _console_choose,
    "console": _console,
    "console-undo": _console_undo,
    "admin-site": _admin_site,
    "admin-service-error": _admin_service_error,
    "admin-counter": _admin_counter,
    "admin-devices": _admin_devices,
    "admin-fleet": _admin_fleet,
    "stats": _stats,
}


@pytest.mark.parametrize("state", list(PAGES))
def test_page_has_no_accessibility_violation(state: str, web: Srv, audited: BrowserContext) -> None:
    page = audited.new_page()
    PAGES[state](web, page)
    page.wait_for_load_state()
    found = axe_violations(page)
    assert not found, json.dumps(found, indent=1, ensure_ascii=False)


def test_the_audit_finds_a_violation_when_there_is_one(web: Srv, audited: BrowserContext) -> None:
    """The check above can fail: a button without a name on a real page is reported."""
    page = audited.new_page()
    page.goto(f"{web.url}/login")
    page.evaluate("document.querySelector('main').append(document.createElement('button'))")
    assert "button-name" in {v["id"] for v in axe_violations(page)}
