"""The pages in every language of the ``web`` catalogs: Spanish, Portuguese and Arabic pages
say nothing in French or English, Arabic pages are laid out right to left, and axe-core finds
nothing to fault in Arabic and Spanish."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from babel.messages.pofile import read_po
from playwright.sync_api import BrowserContext, Page, expect

from tests.server.helpers import ADMIN, AGENT, SITE, Srv
from tests.web.conftest import axe_violations, login, shoot, start_booking
from tickets.i18n import DOMAINS

pytestmark = pytest.mark.browser

WORDS = re.compile(r"[^\W\d_]{3,}\s[^\W\d_]{3,}")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Srv]:
    """The test site and the appointment site "rdv", at 08:00 on Monday 2026-11-23."""
    yield from start_booking(tmp_path_factory.mktemp("languages"))


def texts(lang: str) -> dict[str, list[str]]:
    with (DOMAINS["web"] / lang / "LC_MESSAGES" / "web.po").open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    return {
        str(m.id[0] if isinstance(m.id, tuple) else m.id): (
            [str(s) for s in m.string] if isinstance(m.id, tuple) else [str(m.string)]
        )
        for m in catalog
        if m.id
    }


def foreign_sentences(lang: str) -> set[str]:
    """French and English catalog texts of two words or more, without placeholders, that
    ``lang`` words differently: none of them may show on a page in ``lang``."""
    own = {s for forms in texts(lang).values() for s in forms}
    found = set()
    for other in ("fr", "en"):
        for forms in texts(other).values():
            found |= {s for s in forms if "{" not in s and WORDS.search(s) and s not in own}
    return found


def visible(page_html: str) -> str:
    without_scripts = re.sub(r"<(script|style)\b.*?</\1>", " ", page_html, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", without_scripts))


def public_pages(srv: Srv, lang: str) -> dict[str, str]:
    token = srv.issue("civil")["token"]
    paths = {
        "landing": "/",
        "wait": f"/wait/{SITE}",
        "follow": f"/t/{token}",
        "booking": "/book/rdv",
        "slots": "/book/rdv/passports?from=2026-11-24",
        "login": "/login",
    }
    pages = {}
    for name, path in paths.items():
        joiner = "&" if "?" in path else "?"
        r = requests.get(f"{srv.url}{path}{joiner}lang={lang}", timeout=10)
        assert r.status_code == 200, (name, r.status_code)
        pages[name] = r.text
    return pages


@pytest.mark.parametrize(("lang", "direction"), [("es", "ltr"), ("pt", "ltr"), ("ar", "rtl")])
def test_public_pages_speak_only_the_chosen_language(site: Srv, lang: str, direction: str) -> None:
    """GIVEN the public pages asked for in ``lang`` THEN each says so on <html>, with the
    writing direction, offers the five languages by their own names, and shows no sentence
    of the French or English catalogs."""
    foreign = foreign_sentences(lang)
    assert len(foreign) > 300
    for name, page in public_pages(site, lang).items():
        assert f'<html lang="{lang}" dir="{direction}">' in page, name
        for own_name in ("Français", "English", "Español", "Português", "العربية"):
            assert own_name in page, (name, own_name)
        shown = visible(page)
        leaks = sorted(s for s in foreign if s in shown)
        assert leaks == [], (name, leaks)


def test_the_browser_language_is_used_until_the_visitor_chooses(site: Srv) -> None:
    spanish = {"Accept-Language": "es-ES,es;q=0.9,fr;q=0.5"}
    page = requests.get(f"{site.url}/wait/{SITE}", headers=spanish, timeout=10).text
    assert '<html lang="es" dir="ltr">' in page and "Espera en este momento" in page
    arabic = {"Accept-Language": "ar-MA"}
    page = requests.get(f"{site.url}/login", headers=arabic, timeout=10).text
    assert '<html lang="ar" dir="rtl">' in page and "دخول الموظفين" in page
    chosen = requests.get(f"{site.url}/login?lang=pt", headers=arabic, timeout=10)
    assert '<html lang="pt" dir="ltr">' in chosen.text
    assert chosen.cookies.get("guichet_lang") == "pt"
    unknown = requests.get(f"{site.url}/login", headers={"Accept-Language": "de"}, timeout=10)
    assert '<html lang="fr" dir="ltr">' in unknown.text  # the site's first language


def staff_page(page: Page, srv: Srv, lang: str, user: tuple[str, str], path: str) -> None:
    page.goto(f"{srv.url}/login?lang={lang}")  # the language cookie, then sign in
    login(page, srv.url, user, then=path)
    expect(page.locator("html")).to_have_attribute("lang", lang)


def visit(page: Page, srv: Srv, lang: str, name: str) -> None:
    if name == "wait":
        page.goto(f"{srv.url}/wait/{SITE}?lang={lang}")
        expect(page.locator(".wait-people").first).to_be_visible()
    elif name == "follow":
        issued = srv.issue("civil", priority="pregnancy")
        page.goto(f"{srv.url}/t/{issued['token']}?lang={lang}")
        expect(page.locator("#ticket-label")).to_have_text(issued["ticket"]["label"])
    elif name == "booking":
        page.goto(f"{srv.url}/book/rdv/passports?lang={lang}&from=2026-11-24")
        expect(page.locator("input[name=start]").first).to_be_attached()
    elif name == "console":
        srv.issue("civil")
        staff_page(page, srv, lang, AGENT, f"/console/{SITE}/3")
        expect(page.locator("#action-next")).to_be_visible()
    elif name == "admin":
        staff_page(page, srv, lang, ADMIN, f"/admin/{SITE}")
        expect(page.locator("table").first).to_be_visible()


PAGES = ["wait", "follow", "booking", "console", "admin"]


@pytest.mark.parametrize("name", PAGES)
def test_arabic_pages_are_laid_out_right_to_left_and_pass_axe(
    site: Srv, audited: BrowserContext, shots: Path, name: str
) -> None:
    """GIVEN a page in Arabic WHEN shown in Chromium THEN the document runs right to left
    (the brand at the right of the header, the languages listed from the right), and axe-core
    finds no violation."""
    page = audited.new_page()
    visit(page, site, "ar", name)
    shoot(page, shots, f"ar-{name}")
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    brand = page.locator(".brand").bounding_box()
    first = page.locator(".lang-switch [lang=fr]").bounding_box()
    last = page.locator(".lang-switch [lang=ar]").bounding_box()
    assert brand and first and last
    assert brand["x"] > 640 and first["x"] > last["x"]  # mirrored: read from the right
    assert axe_violations(page) == []


@pytest.mark.parametrize("name", PAGES)
def test_spanish_pages_pass_axe(site: Srv, audited: BrowserContext, name: str) -> None:
    page = audited.new_page()
    visit(page, site, "es", name)
    assert page.evaluate("getComputedStyle(document.body).direction") == "ltr"
    assert axe_violations(page) == []
