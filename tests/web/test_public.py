"""Pages for everyone, in headless Chromium: landing, sign-in, the live wait, its embeddable
version inside a town website's page, and the follow page of an unknown ticket."""

from __future__ import annotations

import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import BrowserContext, expect

from server.web.public import embed_code
from tests.server.helpers import SITE, Srv
from tests.web.conftest import shoot

pytestmark = pytest.mark.browser


class TownWebsite:
    """A one-page website on 127.0.0.1 (its own port, hence another origin)."""

    def __init__(self, html: str) -> None:
        body = html.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> TownWebsite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_landing_and_sign_in_pages(web: Srv, context: BrowserContext, shots: Path) -> None:
    page = context.new_page()
    page.goto(web.url + "/")
    expect(page.locator("h1")).to_have_text("Accueil du public")
    expect(page.locator(f"#site-{SITE}")).to_have_text("Test town hall")
    shoot(page, shots, "landing")
    page.click(".site-header a[href='/login']")
    expect(page.locator("h1")).to_have_text("Connexion du personnel")
    page.fill("#username", "nobody")
    page.fill("#password", "wrong-password")
    page.click("button[type=submit]")
    expect(page.locator(".notice.error")).to_have_text("Identifiant ou mot de passe incorrect.")
    expect(page.locator("#username")).to_have_value("nobody")
    shoot(page, shots, "login")
    page.click(".lang-switch a[hreflang=en]")
    expect(page.locator("h1")).to_have_text("Staff sign-in")
    page.goto(web.url + "/")  # the choice is remembered
    expect(page.locator("h1")).to_have_text("Public reception")


def test_live_wait_shows_each_service_and_todays_usual_peaks(
    web: Srv, context: BrowserContext, phone: BrowserContext, shots: Path
) -> None:
    for _ in range(3):
        web.issue("passports")
    hour = datetime.now(ZoneInfo("Europe/Paris")).hour
    page = phone.new_page()
    page.goto(f"{web.url}/wait/{SITE}")
    row = page.locator("#wait-table li[data-service=passports]")
    waiting = int(row.locator(".wait-people").inner_text().split()[0])
    assert waiting >= 3
    public = web.request("GET", f"/api/v1/public/sites/{SITE}/wait").json()
    expected = next(s for s in public["services"] if s["id"] == "passports")
    assert waiting == expected["waiting"]
    expect(row.locator(".wait-value")).to_contain_text("min")
    expect(page.locator("#peaks li").first).to_have_text(f"{hour} h – {hour + 1} h")
    shoot(page, shots, "wait")

    # The embed, framed by a page of the town's website (another origin), in English, pasted
    # as the administration page gives it: the frame sizes itself to its content.
    town = TownWebsite(
        "<!doctype html><title>Mairie</title><main><h1>Mairie de Saint-Exemple</h1>"
        "<p>Attente en direct :</p>"
        + embed_code(web.url, SITE, "en", "wait").replace('width="100%"', 'width="620"')
        + "<p id='after'>Horaires de la mairie…</p></main>"
    )
    host = context.new_page()
    with town:
        host.goto(town.url)
        frame = host.frame_locator("iframe")
        expect(frame.locator("main h1")).to_contain_text("Waiting right now")
        expect(frame.locator("#wait-table li[data-service=civil] .wait-name")).to_have_text(
            "Civil status"
        )
        inner = next(f for f in host.frames if "/embed/" in f.url)
        content = inner.evaluate("document.documentElement.getBoundingClientRect().height")
        host.wait_for_function(
            "h => Math.abs(document.querySelector('iframe').getBoundingClientRect().height - h)"
            " <= 2",
            arg=content,
        )
        # Nothing of the widget is hidden: the frame's page has no scroll left.
        assert inner.evaluate("document.documentElement.scrollHeight <= window.innerHeight + 1"), (
            "the frame still scrolls"
        )
        shoot(host, shots, "embed", full_page=False)


def test_follow_page_of_an_unknown_ticket_says_so(web: Srv, phone: BrowserContext) -> None:
    page = phone.new_page()
    response = page.goto(f"{web.url}/t/{'x' * 24}")
    assert response is not None and response.status == 404
    expect(page.locator(".ticket-card")).to_contain_text("introuvable")
