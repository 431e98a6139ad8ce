"""After the visit: "How was your visit?" on the follow page and on the counter's tablet, and
the answers per service on the statistics page, against the real server."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from playwright.sync_api import BrowserContext, expect

from tests.server.helpers import AGENT, MANAGER, SITE, Srv
from tests.web.conftest import csrf_of, form_session, login, shoot


def served(web: Srv, service: str, counter: str) -> dict[str, Any]:
    """A ticket issued, called at ``counter`` and served there."""
    issued = web.issue(service)
    web.call_until(counter, issued["ticket"])
    web.act(counter, "done")
    return issued


def answers(web: Srv) -> list[tuple[str, str, int, str]]:
    with web.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT ticket, service, score, source FROM feedback"))
        return [(r.ticket, r.service, int(r.score), r.source) for r in rows]


def test_the_follow_page_asks_once_served_and_keeps_the_last_answer(web: Srv) -> None:
    waiting = web.issue("civil")
    card = requests.get(f"{web.url}/t/{waiting['token']}/card", timeout=10).json()
    assert "visit-question" not in card["html"]  # not before the visit
    refused = requests.post(
        f"{web.url}/t/{waiting['token']}/feedback", data={"score": "3"}, timeout=10
    )
    assert refused.status_code == 404

    ticket = served(web, "civil", "2")
    url = f"{web.url}/t/{ticket['token']}"
    card = requests.get(f"{url}/card?lang=en", timeout=10).json()
    assert card["status"] == "served" and "How was your visit?" in card["html"]
    assert requests.post(f"{url}/feedback", data={"score": "9"}, timeout=10).status_code == 422
    first = requests.post(
        f"{url}/feedback", data={"score": "1", "lang": "en"}, allow_redirects=False, timeout=10
    )
    assert (
        first.status_code == 303
        and first.headers["location"] == f"/t/{ticket['token']}?lang=en#thanks"
    )
    assert "set-cookie" not in first.headers
    requests.post(f"{url}/feedback", data={"score": "3"}, timeout=10)
    mine = [a for a in answers(web) if a[0] == ticket["ticket"]["id"]]
    assert mine == [(ticket["ticket"]["id"], "civil", 3, "phone")]  # one answer, the last
    card = requests.get(f"{url}/card?lang=en", timeout=10).json()
    assert "Thank you for your answer." in card["html"] and "visit-question" not in card["html"]


def test_the_counter_tablet_rates_the_visit_it_just_served(web: Srv) -> None:
    http, _token = form_session(web.url, AGENT)
    page = http.get(f"{web.url}/console/{SITE}/3/feedback", timeout=10)
    assert page.status_code == 200 and "Comment s'est passée votre visite ?" in unescape(page.text)
    csrf = csrf_of(page.text)
    nothing = http.post(
        f"{web.url}/console/{SITE}/3/feedback", data={"csrf_token": csrf, "score": "2"}, timeout=10
    )
    assert "Aucune visite récente" in nothing.text  # counter 3 served nobody yet

    ticket = served(web, "passports", "3")
    thanks = http.post(
        f"{web.url}/console/{SITE}/3/feedback", data={"csrf_token": csrf, "score": "2"}, timeout=10
    )
    assert "Merci pour votre réponse." in thanks.text
    assert (ticket["ticket"]["id"], "passports", 2, "counter") in answers(web)
    again = http.post(
        f"{web.url}/console/{SITE}/3/feedback", data={"csrf_token": csrf, "score": "1"}, timeout=10
    )
    assert "Aucune visite récente" in again.text  # that visit has its answer
    forged = http.post(f"{web.url}/console/{SITE}/3/feedback", data={"score": "1"}, timeout=10)
    assert forged.status_code == 403  # CSRF


def test_the_statistics_page_counts_answers_per_service(web: Srv) -> None:
    for score in ("3", "3", "1"):
        ticket = served(web, "civil", "4")
        requests.post(f"{web.url}/t/{ticket['token']}/feedback", data={"score": score}, timeout=10)
    expected = [a for a in answers(web) if a[1] == "civil"]
    good = sum(1 for a in expected if a[2] == 3)
    http, _ = form_session(web.url, MANAGER)
    page = http.get(f"{web.url}/stats/{SITE}?lang=en", timeout=10).text
    table = page[page.index('id="satisfaction"') :]
    row = re.search(r"<th scope=\"row\">Civil status</th>(.*?)</tr>", table, re.S)
    assert row, table[:2000]
    cells = re.findall(r'<td class="num">([^<]*)</td>', row.group(1))
    assert cells[0] == str(len(expected))
    assert cells[1] == f"{round(100 * good / len(expected))}%"


@pytest.mark.browser
def test_a_visitor_taps_a_face_on_the_phone(web: Srv, phone: BrowserContext, shots: Path) -> None:
    ticket = served(web, "passports", "1")
    page = phone.new_page()
    page.goto(f"{web.url}/t/{ticket['token']}")
    expect(page.locator("#visit-question")).to_have_text("Comment s'est passée votre visite ?")
    shoot(page, shots, "follow-served")
    page.get_by_role("button", name="Bien", exact=True).click()
    expect(page.locator("#thanks")).to_have_text("Merci pour votre réponse.")
    assert (ticket["ticket"]["id"], "passports", 3, "phone") in answers(web)


@pytest.mark.browser
def test_the_tablet_page_works_by_touch(web: Srv, context: BrowserContext, shots: Path) -> None:
    ticket = served(web, "civil", "1")
    page = context.new_page()
    login(page, web.url, AGENT, then=f"/console/{SITE}/1/feedback")
    shoot(page, shots, "visit-tablet")
    page.get_by_role("button", name="Moyen").click()
    expect(page.locator("h1")).to_have_text("Merci pour votre réponse.")
    assert (ticket["ticket"]["id"], "civil", 2, "counter") in answers(web)
