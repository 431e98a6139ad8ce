"""The public indicators page, its embeddable version and its JSON, for a month with a
transfer computed by hand (tests/server/test_stats_passages.py), in headless Chromium with an
axe-core audit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import BrowserContext, expect

from server import feedback
from server.feedback import Score
from server.web.public import embed_code
from tests.server.helpers import MANAGER, SITE, DeviceClock, Srv, wire
from tests.server.test_stats_passages import DAY, PARIS, seed
from tests.web.conftest import axe_violations, login, shoot, start
from tests.web.test_public import TownWebsite
from tests.web.test_stats import cells, flat
from tickets.events import EventKind

NOW = datetime(2026, 4, 2, 10, 0, tzinfo=PARIS).timestamp()
"""The server's clock: last month is March 2026, whose 10th is the seeded day."""


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Srv]:
    for srv in start(tmp_path_factory.mktemp("indicators")):
        seed(srv)
        rate(srv, {"A900": Score.GOOD, "B902": Score.SO_SO, "A901": Score.GOOD})
        srv.thread.ctx.wall = lambda: NOW
        yield srv


def rate(srv: Srv, scores: dict[str, Score]) -> None:
    """Visitors' answers to "How was your visit?", under the service where each ticket ended:
    A900 (transferred to passports) and B902 at passports, A901 at civil status."""
    rows = srv.request(
        "GET", f"/api/v1/sites/{SITE}/passages", params={"from": DAY, "to": DAY}, user=MANAGER
    ).json()["passages"]
    last = {r["ticket"]: r for r in rows}  # a ticket's last passage comes last
    with srv.engine.begin() as conn:
        for label, score in scores.items():
            r = last[label]
            feedback.record(
                conn,
                site=SITE,
                ticket=r["ticket_id"],
                service=r["service"],
                day=DAY,
                score=score,
                source=feedback.Source.PHONE,
                at=NOW,
            )


def test_the_json_gives_last_months_figures(seeded: Srv) -> None:
    r = requests.get(f"{seeded.url}/api/v1/public/sites/{SITE}/indicators", timeout=30)
    assert r.status_code == 200, r.text
    assert "public" in r.headers["cache-control"]
    body: dict[str, Any] = r.json()
    assert (body["month"], body["from"], body["to"]) == ("2026-03", "2026-03-01", "2026-03-31")
    assert (body["tickets"], body["days_open"]) == (5, 1)
    whole = body["whole_site"]
    assert (whole["waiting_p50_seconds"], whole["share_waited_15_min"]) == (480.0, 0.8)
    assert whole["waiting_p90_seconds"] == pytest.approx(1188.0)
    civil, passports = body["services"]
    assert (civil["id"], civil["waiting_p50_seconds"], civil["passages"]) == ("civil", 480.0, 3)
    assert (passports["id"], passports["waiting_p50_seconds"]) == ("passports", 390.0)
    # Answers to "How was your visit?": civil 1 good; passports 1 good, 1 so-so.
    assert (civil["satisfaction_answers"], civil["satisfaction_good_share"]) == (1, 1.0)
    assert (passports["satisfaction_answers"], passports["satisfaction_good_share"]) == (2, 0.5)
    assert passports["waiting_p90_seconds"] == pytest.approx(654.0)
    # 9 h: A1, A2, B1, A3 issued; 10 h: B2. The test site is open all day: the quietest
    # opening hours are those with no arrival, earliest first.
    assert body["busiest_hours"] == [
        {"hour": 9, "arrivals": 4, "arrivals_per_day": 4.0},
        {"hour": 10, "arrivals": 1, "arrivals_per_day": 1.0},
    ]
    assert [h["hour"] for h in body["quietest_hours"]] == [0, 1, 2]
    again = requests.get(
        f"{seeded.url}/api/v1/public/sites/{SITE}/indicators", params={"month": "2026-03"}
    )
    assert again.json() == body


@pytest.mark.parametrize("month", ["2026-13", "1999-12", "2026-05", "0001-01", "9999-12"])
def test_a_month_out_of_range_is_a_clear_422(seeded: Srv, month: str) -> None:
    r = requests.get(
        f"{seeded.url}/api/v1/public/sites/{SITE}/indicators", params={"month": month}, timeout=30
    )
    assert r.status_code == 422, r.text
    assert r.json()["field"] in ("month", "query.month")
    page = requests.get(f"{seeded.url}/indicators/{SITE}", params={"month": month}, timeout=30)
    assert page.status_code == 422


def test_an_unknown_site_is_404(seeded: Srv) -> None:
    assert requests.get(f"{seeded.url}/api/v1/public/sites/nowhere/indicators").status_code == 404
    assert requests.get(f"{seeded.url}/indicators/nowhere").status_code == 404


@pytest.mark.browser
def test_the_page_shows_the_figures_in_each_language_and_passes_axe(
    seeded: Srv, audited: BrowserContext, shots: Path
) -> None:
    page = audited.new_page()
    page.goto(f"{seeded.url}/indicators/{SITE}?lang=fr")
    assert flat(page.locator("#ind-month").inner_text()) == "mars 2026"
    rows = page.locator("#ind-table tbody tr")
    assert cells(rows.nth(0).locator("th, td").all_inner_texts()) == [
        "État civil",
        "8,0",
        "21,6",
        "67 %",
        "100 % (1 réponse)",
    ]
    assert cells(rows.nth(1).locator("th, td").all_inner_texts()) == [
        "Passeports",
        "6,5",
        "10,9",
        "100 %",
        "50 % (2 réponses)",
    ]
    whole = cells(page.locator("#ind-table tfoot tr").locator("th, td").all_inner_texts())
    assert whole == ["Tout le site", "8,0", "19,8", "80 %", "67 % (3 réponses)"]
    busiest = [flat(t) for t in page.locator("#ind-busiest li").all_inner_texts()]
    assert busiest == [
        "09:00 – 10:00 · 4,0 arrivées par jour en moyenne",
        "10:00 – 11:00 · 1,0 arrivées par jour en moyenne",
    ]
    shoot(page, shots, "indicators")
    assert axe_violations(page) == []

    page.goto(f"{seeded.url}/indicators/{SITE}?lang=en")
    assert flat(page.locator("#ind-month").inner_text()) == "March 2026"
    assert cells(page.locator("#ind-table tbody tr").nth(0).locator("td").all_inner_texts()) == [
        "8.0",
        "21.6",
        "67%",
        "100% (1 answer)",
    ]
    assert flat(page.locator("#ind-busiest li").first.inner_text()).startswith("9:00 – 10:00 AM")
    assert axe_violations(page) == []

    # In Arabic the page reads right to left, the service column on the right.
    page.goto(f"{seeded.url}/indicators/{SITE}?lang=ar")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    whole = cells(page.locator("#ind-table tfoot tr").locator("td").all_inner_texts())
    assert whole == ["8.0", "19.8", "80%", "67% (3 إجابات)"]
    headers = page.locator("#ind-table thead th").all_inner_texts()
    assert any("(دقيقة)" in h for h in headers)
    table = page.locator("#ind-table").bounding_box()
    first = page.locator("#ind-table thead th").first.bounding_box()
    assert table is not None and first is not None
    assert first["x"] > table["x"] + table["width"] / 2  # the service column is on the right
    shoot(page, shots, "indicators-ar")
    assert axe_violations(page) == []


@pytest.mark.browser
def test_the_embed_may_be_framed_and_passes_axe(seeded: Srv, audited: BrowserContext) -> None:
    r = requests.get(f"{seeded.url}/embed/{SITE}/indicators", timeout=30)
    assert r.status_code == 200
    assert "frame-ancestors *" in r.headers["content-security-policy"]
    assert "x-frame-options" not in r.headers
    assert "set-cookie" not in r.headers
    page = audited.new_page()
    page.goto(f"{seeded.url}/embed/{SITE}/indicators?lang=fr")
    assert cells(page.locator("#ind-table tfoot tr").locator("th, td").all_inner_texts()) == [
        "Tout le site",
        "8,0",
        "19,8",
        "80 %",
        "67 % (3 réponses)",
    ]
    assert axe_violations(page) == []


@pytest.mark.browser
def test_the_embed_sizes_its_frame_on_a_town_website(seeded: Srv, context: BrowserContext) -> None:
    """GIVEN the code the administration page gives, pasted in a page of another origin
    THEN the frame shows the indicators and grows to their height (no scroll inside)."""
    code = embed_code(seeded.url, SITE, "fr", "Engagements", page="/indicators", height=200)
    town = TownWebsite(f"<!doctype html><title>Mairie</title><main>{code}</main>")
    host = context.new_page()
    with town:
        host.goto(town.url)
        frame = host.frame_locator("iframe")
        expect(frame.locator("#ind-table tfoot th")).to_have_text("Tout le site")
        inner = next(f for f in host.frames if "/embed/" in f.url)
        content = inner.evaluate("document.documentElement.getBoundingClientRect().height")
        assert content > 200
        host.wait_for_function(
            "h => Math.abs(document.querySelector('iframe').getBoundingClientRect().height - h)"
            " <= 2",
            arg=content,
        )


def appointment_day(srv: Srv) -> None:
    """Wednesday 2026-04-01: two booked visitors checked in for civil status, at 10:00 (called
    10:03, 3 min late) and 10:30 (called 10:41, 11 min late); one walk-in."""
    kiosk, board = DeviceClock("kiosk-b"), DeviceClock("board-b")
    day = "2026-04-01"

    def t(hhmm: str) -> float:
        return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=PARIS).timestamp()

    issued = []
    for n, (checked_in, booked) in enumerate((("09:52", "10:00"), ("10:20", "10:30")), start=30):
        plain = kiosk.at(t(checked_in)).issued(n, day=day)
        issued.append(
            kiosk.make(
                EventKind.TICKET_ISSUED,
                **plain.data,
                appointment=f"rdv-{n}",
                appointment_at=t(booked),
            )
        )
    issued.append(kiosk.at(t("10:25")).issued(40, day=day))
    calls = [
        board.at(t("10:03")).make(EventKind.TICKET_CALLED, ticket=issued[0].ticket, counter="1"),
        board.at(t("10:41")).make(EventKind.TICKET_CALLED, ticket=issued[1].ticket, counter="1"),
        board.at(t("10:50")).make(EventKind.TICKET_CALLED, ticket=issued[2].ticket, counter="1"),
    ]
    assert srv.sync("kiosk-b", events=wire(issued)).status_code == 200
    assert srv.sync("board-b", events=wire(calls)).status_code == 200


@pytest.mark.browser
def test_appointments_punctuality_is_published_when_there_are_any(
    seeded: Srv, audited: BrowserContext
) -> None:
    """GIVEN the month of March has no appointment WHEN April has two THEN March's page has no
    appointment table and April's gives the median delay of the call and the share on time."""
    march = requests.get(f"{seeded.url}/indicators/{SITE}?lang=fr", timeout=30).text
    assert 'id="ind-appointments"' not in march
    appointment_day(seeded)
    body = requests.get(
        f"{seeded.url}/api/v1/public/sites/{SITE}/indicators", params={"month": "2026-04"}
    ).json()
    civil = body["services"][0]
    assert (civil["appointments"], civil["appointment_delay_p50_seconds"]) == (2, 420.0)
    assert civil["appointment_on_time_share"] == 0.5
    assert body["whole_site"]["appointments"] == 2
    page = requests.get(f"{seeded.url}/indicators/{SITE}?lang=fr&month=2026-04", timeout=30)
    assert 'id="ind-appointments"' in page.text
    assert "7,0" in page.text and "50\xa0%" in page.text
    browser_page = audited.new_page()
    browser_page.goto(f"{seeded.url}/indicators/{SITE}?lang=fr&month=2026-04")
    assert cells(browser_page.locator("#ind-appointments tbody tr td").all_inner_texts()) == [
        "2",
        "7,0",
        "50 %",
    ]
    assert axe_violations(browser_page) == []


@pytest.mark.browser
def test_the_managers_page_counts_the_transfer_per_passage(
    seeded: Srv, audited: BrowserContext
) -> None:
    """GIVEN the day of docs/statistics.md's worked example (A1 sent from civil status to
    passports) WHEN a manager opens the statistics page for that day THEN each service shows
    the figures computed by hand there: passports counts A1's second passage, its wait from
    the transfer and its service; the site counts A1 once as a ticket; axe finds nothing."""
    page = audited.new_page()
    login(page, seeded.url, MANAGER, then=f"/stats/{SITE}?from={DAY}&to={DAY}")
    rows = page.locator("#services-table tbody tr")
    expect(rows).to_have_count(2)
    heads = page.locator("#services-table thead tr").nth(1).locator("th")
    expect(heads).to_have_text(["Reçus", "Envoyés"])  # under "Transferts"
    # service, tickets, passages, in by transfer, sent on, never called, median, 90th,
    # within 15 min, service time (min), absent
    assert cells(rows.nth(0).locator("th, td").all_inner_texts()) == [
        "État civil", "3", "3", "0", "1", "0", "8,0", "21,6", "67 %", "3,5", "1",
    ]  # fmt: skip
    assert cells(rows.nth(1).locator("th, td").all_inner_texts()) == [
        "Passeports", "2", "3", "1", "0", "1", "6,5", "10,9", "100 %", "11,0", "0",
    ]  # fmt: skip
    assert cells(page.locator("#services-table tfoot tr th, #services-table tfoot tr td")
                 .all_inner_texts()) == [
        "Tout le site", "5", "6", "1", "1", "1", "8,0", "19,8", "80 %", "7,3", "1",
    ]  # fmt: skip
    expect(page.locator("#kpi-transfers")).to_have_text("1")
    # By hour: at 9 h passports had 2 arrivals (B1 and A1's transfer) and 2 calls.
    passports_9 = page.locator("#hours-table tbody tr", has_text="Passeports").first
    assert cells(passports_9.locator("td").all_inner_texts()) == [
        "Passeports", "09:00 – 10:00", "2", "2", "6,5", "10,9", "100 %",
    ]  # fmt: skip
    assert axe_violations(page) == []  # a table too wide for its frame would be one
