"""The real server on loopback with the test site, and headless Chromium driven by Playwright.

``web`` runs one server (SQLite in a temporary folder) per test module; ``browser`` is one
Chromium per test session, skipped with the reason when /usr/bin/chromium is absent (the
Makefile installs it). Screenshots go to a temporary folder, or to ``GUICHET_SCREENSHOT_DIR``
when set (``GUICHET_SCREENSHOT_DIR=docs/screenshots`` refreshes the documentation's).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import pytest
import requests

from config.server import ServerSettings
from server.run import ServerThread
from tests.conftest import PATIENCE, wait_until
from tests.mailboxes import Gateway, Inbox, sms_gateway, smtp_server
from tests.server.helpers import ADMIN, AGENT, MANAGER, OTHER_AGENT, SITE, Srv, site_config

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SECRET = "web-tests-secret-key"
PATIENCE_MS = PATIENCE * 1000


def start(tmp: Path, **settings: object) -> Iterator[Srv]:
    thread = ServerThread(
        ServerSettings(
            database_url=f"sqlite:///{tmp}/guichet.db",
            secret_key=SECRET,
            public_url="http://guichet.test",
            **settings,  # type: ignore[arg-type]
        )
    )
    with thread:
        tokens = thread.load_site(site_config(counters=4))
        for (name, password), role in ((AGENT, "agent"), (MANAGER, "manager"), (ADMIN, "admin")):
            thread.add_user(name, password, role, [SITE])
        thread.add_user(*OTHER_AGENT, "agent", ["elsewhere"])
        srv = Srv(thread, tokens)
        yield srv
        srv.http.close()


def start_booking(tmp: Path) -> Iterator[Srv]:
    """``start`` plus the appointment site "rdv", the clock at 08:00 on Monday 2026-11-23."""
    from tests.server.appointments import MONDAY, appointment_site, paris

    for srv in start(tmp):
        srv.thread.load_site(appointment_site())
        srv.thread.ctx.wall = lambda: paris(MONDAY, 8)
        yield srv


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Srv]:
    yield from start(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (make apt-test does)")
    from playwright.sync_api import expect, sync_playwright

    # Every wait on the page (locator actions and expect) gets the suite's patience, not
    # Playwright's 5 s: CI shares its cores with other work.
    expect.set_options(timeout=PATIENCE_MS)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 860}, locale="fr-FR")
    ctx.set_default_timeout(PATIENCE_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:
    """A phone-sized browser without any session: a citizen's."""
    ctx = browser.new_context(
        viewport={"width": 390, "height": 780},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="fr-FR",
    )
    ctx.set_default_timeout(PATIENCE_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def bare_phone(browser: Browser) -> Iterator[BrowserContext]:
    """A phone-sized browser with JavaScript turned off."""
    ctx = browser.new_context(
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
        locale="fr-FR",
        java_script_enabled=False,
    )
    ctx.set_default_timeout(PATIENCE_MS)
    yield ctx
    ctx.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("GUICHET_SCREENSHOT_DIR")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shoot(page: Page, folder: Path, name: str, *, full_page: bool = True) -> Path:
    path = folder / f"web-{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def handled(page: Page, count: Callable[[], int], wanted: int) -> bool:
    """Waits until ``count()`` (of requests a route handler of ``page`` kept) is ``wanted``.
    Playwright runs route handlers only while it is called: each look lets it run them."""

    def look() -> bool:
        page.wait_for_timeout(20)
        return count() == wanted

    return wait_until(look)


def login(page: Page, base: str, user: tuple[str, str], then: str = "/console") -> None:
    page.goto(f"{base}/login?{urlencode({'next': then})}")
    page.fill("#username", user[0])
    page.fill("#password", user[1])
    page.click("button[type=submit]")
    page.wait_for_load_state()


def form_session(base: str, user: tuple[str, str]) -> tuple[requests.Session, str]:
    """A plain HTTP client signed in through the login form; returns it and its CSRF token."""
    http = requests.Session()
    token = csrf_of(http.get(f"{base}/login", timeout=10).text)
    r = http.post(
        f"{base}/login",
        data={"csrf_token": token, "username": user[0], "password": user[1], "next": "/"},
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 303, r.text
    return http, csrf_of(http.get(f"{base}/", timeout=10).text)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


@pytest.fixture
def audited(browser: Browser) -> Iterator[BrowserContext]:
    """A desktop browser that lets a test inject axe-core past the pages' strict
    Content-Security-Policy (script-src 'self')."""
    ctx = browser.new_context(
        viewport={"width": 1280, "height": 860}, locale="fr-FR", bypass_csp=True
    )
    ctx.set_default_timeout(PATIENCE_MS)
    yield ctx
    ctx.close()


def axe_violations(page: Page) -> list[dict[str, object]]:
    """axe-core's violations on the page as it is now, with every rule axe runs by default
    (WCAG 2.x A and AA, best practices). axe's script comes with the ``axe-playwright-python``
    package (a dev dependency): nothing to install besides the virtual environment."""
    import axe_playwright_python

    script = Path(axe_playwright_python.__file__).parent / "axe.min.js"
    page.add_script_tag(path=str(script))
    result = page.evaluate("axe.run(document)")
    assert len(result["passes"]) > 10, "axe did not run its rules"
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["html"][:160] for n in v["nodes"][:3]],
        }
        for v in result["violations"]
    ]


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[int, Inbox]]:
    """An SMTP server on loopback (aiosmtpd), one per test module: its port and inbox."""
    with smtp_server() as found:
        yield found


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    """An HTTP SMS gateway on loopback, one per test module."""
    with sms_gateway() as found:
        yield found
