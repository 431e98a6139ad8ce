"""The follow-my-ticket page over plain HTTP: its language, its stream and its fallback."""

from __future__ import annotations

import json

import requests

from tests.server.helpers import SITE, Srv


def test_follow_page_speaks_the_language_chosen_at_the_kiosk(web: Srv) -> None:
    english = web.issue("civil", lang="en")
    page = requests.get(f"{web.url}/t/{english['token']}", timeout=10)
    assert page.status_code == 200
    assert '<html lang="en" dir="ltr">' in page.text and "Your ticket" in page.text
    assert "Civil status" in page.text
    french = web.issue("civil")  # the kiosk's default: the site's first language
    french_page = requests.get(f"{web.url}/t/{french['token']}", timeout=10)
    assert '<html lang="fr" dir="ltr">' in french_page.text
    switched = requests.get(f"{web.url}/t/{english['token']}?lang=fr", timeout=10)
    assert '<html lang="fr" dir="ltr">' in switched.text  # the visitor's choice wins
    assert "set-cookie" not in switched.headers  # a public page sets no cookie
    assert switched.headers["referrer-policy"] == "no-referrer"


def test_follow_stream_sends_the_card_then_each_change(web: Srv) -> None:
    issued = web.issue("passports")
    label = issued["ticket"]["label"]
    url = f"{web.url}/t/{issued['token']}/events?lang=en"
    with requests.get(url, stream=True, timeout=10) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines(decode_unicode=True)

        def card() -> dict[str, str]:
            event = ""
            for line in lines:
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "ticket":
                    data: dict[str, str] = json.loads(line[6:])
                    return data
            raise AssertionError("the stream ended")

        first = card()
        assert first["status"] == "waiting" and label in first["html"]
        # Call at counter 2 until our ticket comes (others may be waiting before it).
        for _ in range(20):
            called = web.act("2", "next")["ticket"]
            if called and called["label"] == label:
                break
        update = card()
        while update["status"] == "waiting":  # people ahead went down meanwhile
            update = card()
        assert update["status"] == "called"
        assert "Guichet 2" in update["html"] and "turn" in update["html"]


def test_follow_card_fallback_and_unknown_tokens(web: Srv) -> None:
    issued = web.issue("civil")
    r = requests.get(f"{web.url}/t/{issued['token']}/card", timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "waiting"
    for token in ("short", "x" * 40, "../../etc/passwd"):
        assert requests.get(f"{web.url}/t/{token}", timeout=10).status_code == 404
        assert requests.get(f"{web.url}/t/{token}/card", timeout=10).status_code == 404
    assert requests.get(f"{web.url}/wait/nowhere", timeout=10).status_code == 404
    assert requests.get(f"{web.url}/embed/{SITE}/fragment", timeout=10).status_code == 200


def _card(web: Srv, token: str, lang: str = "en") -> dict[str, str]:
    r = requests.get(f"{web.url}/t/{token}/card?lang={lang}", timeout=10)
    assert r.status_code == 200, r.text
    card: dict[str, str] = r.json()
    return card


def test_follow_card_shows_priority_recalls_and_a_transfer(web: Srv) -> None:
    """GIVEN a priority ticket for civil status
    WHEN it is called, recalled, then transferred to passports
    THEN its card says it is a priority ticket (never the reason), counts each recall (the
    count the page's script buzzes the phone on), and explains the transfer."""
    issued = web.issue("civil", priority="pregnancy")
    token = issued["token"]
    waiting = _card(web, token)
    assert "Priority ticket" in waiting["html"] and "before ordinary tickets" in waiting["html"]
    assert "pregnancy" not in waiting["html"]
    assert waiting["recalls"] == "0"

    web.call_until("3", issued["ticket"])
    called = _card(web, token)
    assert called["status"] == "called" and called["recalls"] == "0"
    assert "Called again" not in called["html"]
    web.act("3", "recall")
    recalled = _card(web, token)
    assert recalled["status"] == "called" and recalled["recalls"] == "1"
    assert "Called again (1)" in recalled["html"] and "Guichet 3" in recalled["html"]

    web.act("3", "transfer", json={"service": "passports"})
    moved = _card(web, token, lang="fr")
    assert moved["status"] == "waiting"
    assert "transmise de « État civil » à « Passeports »" in moved["html"]
    assert "Ticket prioritaire" in moved["html"]
