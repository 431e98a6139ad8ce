"""Waiting times in the page's language: the server writes them from the catalogs'
``duration.*`` patterns and hands the same patterns to the live pages' script (common.js)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from playwright.sync_api import BrowserContext, expect

from server.web import format
from server.web.i18n import translator
from tests.server.helpers import AGENT, SITE, Srv
from tests.web.conftest import login, shoot


@pytest.mark.parametrize(
    ("lang", "seconds", "text"),
    [
        ("fr", 30, "< 1 min"),
        ("fr", 3900, "1 h 05"),
        ("en", 3900, "1 h 05 min"),
        ("es", 30, "menos de 1 min"),
        ("es", 725, "12 min"),
        ("pt", 3900, "1 h 05 min"),
        ("ar", 30, "أقل من دقيقة"),
        ("ar", 725, "12 دقيقة"),
        ("ar", 3900, "1 س 05 د"),
    ],
)
def test_durations_follow_the_language(lang: str, seconds: float, text: str) -> None:
    assert format.duration(seconds, format.Durations.of(translator(lang))) == text


def test_follow_page_writes_its_estimate_in_spanish_and_arabic(web: Srv) -> None:
    issued = web.issue("civil")
    for lang, text in (("es", "menos de 1 min"), ("ar", "أقل من دقيقة")):
        page = requests.get(f"{web.url}/t/{issued['token']}?lang={lang}", timeout=10)
        assert page.status_code == 200
        assert f'<dd id="estimate">{text}</dd>' in page.text
        card = requests.get(f"{web.url}/t/{issued['token']}/card?lang={lang}", timeout=10)
        assert f'<dd id="estimate">{text}</dd>' in card.json()["html"]  # the stream's too


@pytest.mark.browser
@pytest.mark.parametrize(
    ("lang", "minutes", "hours"), [("es", "12 min", "1 h 05 min"), ("ar", "12 دقيقة", "1 س 05 د")]
)
def test_console_updates_its_times_in_the_page_language(
    web: Srv, context: BrowserContext, shots: Path, lang: str, minutes: str, hours: str
) -> None:
    """GIVEN the console in Spanish or Arabic with a ticket waiting
    WHEN its script refreshes the times (every 15 s, or after each change)
    THEN it writes them with the catalog's patterns, as the server does."""
    issued = web.issue("civil")
    agent = context.new_page()
    login(agent, web.url, AGENT, then=f"/console/{SITE}/4?lang={lang}")
    expect(agent.locator("html")).to_have_attribute("lang", lang)
    cells = agent.locator(".queue-service[data-service=civil] td[data-since]")
    expect(cells.last).to_have_text(format.duration(0, agent_words(lang)))
    # Age the tickets as the 15-second timer would see them later: 12 minutes, then 65
    # (changed and read in one go: a refresh of the panel may come in between otherwise).
    for age, text in ((725, minutes), (3900, hours)):
        written = agent.evaluate(
            """age => {
              const cells = document.querySelectorAll(
                ".queue-service[data-service=civil] td[data-since]");
              const cell = cells[cells.length - 1];
              cell.setAttribute("data-since", String(Date.now() / 1000 - age));
              window.Guichet.tick(document, 0);
              return cell.textContent;
            }""",
            age,
        )
        assert written == text
    assert (
        issued["ticket"]["label"]
        in agent.locator(".queue-service[data-service=civil]").inner_text()
    )
    shoot(agent, shots, f"console-durations-{lang}")


def agent_words(lang: str) -> format.Durations:
    return format.Durations.of(translator(lang))
