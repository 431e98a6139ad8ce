"""The booking pages embedded in the town's website: the administration gives the snippet, a
host page on another origin (127.0.0.1, its own port) pastes it, and a person books through
the frame, which keeps its embedded layout (a ``<main>`` landmark, no header) and sizes itself
to each page (postMessage, static/embed-host.js)."""

from __future__ import annotations

import html
import operator
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.conftest import PATIENCE, wait_until
from tests.server.appointments import MONDAY, appointment_site, paris
from tests.server.helpers import Srv
from tests.web.conftest import axe_violations, form_session, handled, shoot, start
from tests.web.test_public import TownWebsite

pytestmark = pytest.mark.browser

RDV_ADMIN = ("rosa", "rdv-admin-password")


@pytest.fixture(scope="module")
def rdv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Srv]:
    """08:00 on Monday 2026-11-23, the appointment site "rdv" and its administrator."""
    for srv in start(tmp_path_factory.mktemp("booking-embed")):
        srv.thread.load_site(appointment_site())
        srv.thread.add_user(*RDV_ADMIN, "admin", ["rdv"])
        srv.thread.ctx.wall = lambda: paris(MONDAY, 8)
        yield srv


def snippet(srv: Srv) -> str:
    """The booking snippet as the administration page shows it."""
    http, _csrf = form_session(srv.url, RDV_ADMIN)
    page = http.get(f"{srv.url}/admin/rdv", timeout=30)
    assert page.status_code == 200, page.text
    found = re.search(r'<div class="token-box" id="booking-embed">(.*?)</div>', page.text, re.S)
    assert found, "no booking snippet on the administration page"
    return html.unescape(found.group(1))


FRAME_HEIGHT = "document.querySelector('iframe').getBoundingClientRect().height"
"""The embed frame's height in the host page (JavaScript)."""


def sized(host: Page) -> None:
    """The frame's height follows its page's, and nothing of it scrolls."""
    inner = next(f for f in host.frames if "/book/" in f.url or "/a/" in f.url)
    inner.wait_for_load_state()

    def heights() -> tuple[float, float]:
        """The frame's height in the host page, and its page's height now (a page may still
        lay itself out after its load: the frame follows, so both are read again)."""
        page = inner.evaluate("document.documentElement.getBoundingClientRect().height")
        frame = host.evaluate(FRAME_HEIGHT)
        return frame, page

    assert wait_until(lambda: abs(operator.sub(*heights())) <= 2, PATIENCE), heights()
    assert inner.evaluate("document.documentElement.scrollHeight <= window.innerHeight + 1")


def test_the_snippet_books_inside_the_town_page(
    rdv: Srv, context: BrowserContext, shots: Path
) -> None:
    code = snippet(rdv)
    assert 'src="http://guichet.test/embed/rdv/book?lang=fr"' in code
    assert "embed-host.js" in code
    local = code.replace("http://guichet.test", rdv.url)
    town = TownWebsite(
        "<!doctype html><html lang='fr'><title>Mairie</title><main><h1>Mairie</h1>"
        + local.replace('width="100%"', 'width="600"')
        + "<p id='after'>Horaires…</p></main></html>"
    )
    host = context.new_page()
    with town:
        host.goto(town.url)
        frame = host.frame_locator("iframe")
        expect(frame.get_by_role("main").locator("h1")).to_have_text("Prendre rendez-vous")
        expect(frame.get_by_role("banner")).to_have_count(0)  # no site header in the frame
        sized(host)
        frame.get_by_role("link", name="Passeports").click()
        expect(frame.locator("h1")).to_have_text("Passeports : choisir un créneau")
        assert "embed=1" in next(f for f in host.frames if "/book/" in f.url).url
        sized(host)
        frame.get_by_role("group", name="lundi 23 novembre 2026").locator(
            "label.slot", has_text="10:20"
        ).click()
        frame.get_by_role("button", name="Réserver ce créneau").click()
        expect(frame.locator(".notice.success")).to_have_text("Votre rendez-vous est réservé.")
        expect(frame.get_by_role("banner")).to_have_count(0)
        sized(host)
        shoot(host, shots, "booking-embed", full_page=False)
        token = next(f for f in host.frames if "/a/" in f.url).url.split("/a/")[1].split("?")[0]
    r = requests.get(f"{rdv.url}/api/v1/public/appointments/{token}", timeout=10)
    assert r.json()["local"].startswith("2026-11-23T10:20")


def test_the_frame_is_sized_when_the_host_script_arrives_after_its_page(
    rdv: Srv, context: BrowserContext
) -> None:
    """GIVEN the snippet on a town's page whose copy of embed-host.js (loaded asynchronously)
    arrives only after the frame's page has run and told its height, to nobody yet
    WHEN the script arrives
    THEN the frame is sized to its page all the same: the script asks each frame again."""
    local = snippet(rdv).replace("http://guichet.test", rdv.url)
    town = TownWebsite(
        "<!doctype html><html lang='fr'><title>Mairie</title><main><h1>Mairie</h1>"
        + local.replace('width="100%"', 'width="600"')
        + "</main></html>"
    )
    host = context.new_page()
    held: list[Route] = []
    host.route("**/embed-host.js", lambda route: held.append(route))

    with town:
        host.goto(town.url, wait_until="domcontentloaded")  # "load" waits for the script
        expect(host.frame_locator("iframe").locator("h1")).to_have_text("Prendre rendez-vous")
        inner = next(f for f in host.frames if "/book/" in f.url)
        inner.wait_for_load_state()
        # Two animation frames: the page's resize observer has reported by then.
        inner.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        assert handled(host, lambda: len(held), 1)
        start = host.evaluate("document.querySelector('iframe').getAttribute('height')")
        assert host.evaluate(FRAME_HEIGHT) == float(start), "the frame was sized without the script"
        held[0].continue_()
        sized(host)


def test_embedded_pages_pass_axe_and_may_be_framed(rdv: Srv, audited: BrowserContext) -> None:
    page = audited.new_page()
    response = page.goto(f"{rdv.url}/embed/rdv/book?lang=en")
    assert response is not None
    assert "frame-ancestors *" in response.headers["content-security-policy"]
    expect(page.locator("main[data-embed=rdv] h1")).to_have_text("Book an appointment")
    assert axe_violations(page) == []
    page.get_by_role("link", name="Passports").click()
    expect(page.locator("main[data-embed=rdv] h1")).to_have_text("Passports: choose a time")
    assert axe_violations(page) == []
