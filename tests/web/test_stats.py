"""The statistics page and the CSV export, against days seeded with known times and computed
by hand (definitions: docs/statistics.md)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.server.helpers import AGENT, MANAGER, SITE, DeviceClock, Srv, wire
from tests.web.conftest import form_session, login, shoot, start
from tickets.events import Event, EventKind

PARIS = ZoneInfo("Europe/Paris")
PERIOD = "from=2026-03-10&to=2026-03-12"


def at(day: str, hhmmss: str) -> float:
    return datetime.fromisoformat(f"{day}T{hhmmss}").replace(tzinfo=PARIS).timestamp()


def seed(srv: Srv) -> None:
    """Site time (Europe/Paris). Tuesday 2026-03-10:

    civil     C1 issued 08:55, called 09:01 (counter 1), done 09:09    wait  360 s, service  480 s
              C2 issued 09:00, called 09:10 (counter 1), done 09:16    wait  600 s, service  360 s
              C3 issued 09:05, called 09:25 (counter 1), absent 09:27  wait 1200 s, no-show
              C4 issued 09:30, called 09:32 (counter 2), done 09:52    wait  120 s, service 1200 s
              C5 issued 10:15, cancelled 11:00                         never called
    passports P1 issued 14:10, called 14:40 (counter 2), done 14:55    wait 1800 s, service  900 s
    Thursday 2026-03-12:
    civil     D1 issued 16:20, called 16:25 (counter 1), done 16:30    wait  300 s, service  300 s

    By hand, civil on the 10th: waits 120, 360, 600, 1200 -> median 480 s (8.0 min), 90th
    percentile 600 + 0.7 x 600 = 1020 s (17.0 min), 3 of 4 within 15 min (75 %), service
    (480 + 360 + 1200) / 3 = 680 s (11.3 min), 1 no-show, 5 tickets.
    """
    kiosk, board = DeviceClock("kiosk-a"), DeviceClock("board-a")
    issued: dict[str, Event] = {}
    kiosk_events: list[Event] = []
    for name, day, hhmm, service in (
        ("C1", "2026-03-10", "08:55:00", "civil"),
        ("C2", "2026-03-10", "09:00:00", "civil"),
        ("C3", "2026-03-10", "09:05:00", "civil"),
        ("C4", "2026-03-10", "09:30:00", "civil"),
        ("C5", "2026-03-10", "10:15:00", "civil"),
        ("cancel C5", "2026-03-10", "11:00:00", ""),
        ("P1", "2026-03-10", "14:10:00", "passports"),
        ("D1", "2026-03-12", "16:20:00", "civil"),
    ):
        kiosk.at(at(day, hhmm))  # in clock order: a device's clock never goes back
        if name == "cancel C5":
            kiosk_events.append(kiosk.make(EventKind.TICKET_CANCELLED, ticket=issued["C5"].ticket))
            continue
        issued[name] = kiosk.issued(900 + len(issued), service=service)
        kiosk_events.append(issued[name])

    def ev(day: str, hhmm: str, kind: EventKind, name: str, counter: str) -> Event:
        return board.at(at(day, hhmm)).make(kind, ticket=issued[name].ticket, counter=counter)

    d = "2026-03-10"
    board_events = [
        ev(d, "09:01:00", EventKind.TICKET_CALLED, "C1", "1"),
        ev(d, "09:09:00", EventKind.TICKET_SERVED, "C1", "1"),
        ev(d, "09:10:00", EventKind.TICKET_CALLED, "C2", "1"),
        ev(d, "09:16:00", EventKind.TICKET_SERVED, "C2", "1"),
        ev(d, "09:25:00", EventKind.TICKET_CALLED, "C3", "1"),
        ev(d, "09:27:00", EventKind.TICKET_NO_SHOW, "C3", "1"),
        ev(d, "09:32:00", EventKind.TICKET_CALLED, "C4", "2"),
        ev(d, "09:52:00", EventKind.TICKET_SERVED, "C4", "2"),
        ev(d, "14:40:00", EventKind.TICKET_CALLED, "P1", "2"),
        ev(d, "14:55:00", EventKind.TICKET_SERVED, "P1", "2"),
        ev("2026-03-12", "16:25:00", EventKind.TICKET_CALLED, "D1", "1"),
        ev("2026-03-12", "16:30:00", EventKind.TICKET_SERVED, "D1", "1"),
    ]
    assert srv.sync("kiosk-a", events=wire(kiosk_events)).status_code == 200
    assert srv.sync("board-a", events=wire(board_events)).status_code == 200


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Srv]:
    for srv in start(tmp_path_factory.mktemp("stats")):
        seed(srv)
        yield srv


def flat(text: str) -> str:
    """Babel's no-break and thin spaces as plain spaces."""
    return " ".join(text.replace("\u202f", " ").replace("\u2009", " ").replace("\xa0", " ").split())


def cells(row: list[str]) -> list[str]:
    return [flat(c) for c in row]


@pytest.mark.browser
def test_statistics_page_shows_the_hand_computed_figures_and_its_charts(
    seeded: Srv, context: BrowserContext, shots: Path
) -> None:
    page = context.new_page()
    login(page, seeded.url, MANAGER, then=f"/stats/{SITE}?{PERIOD}")
    table = page.locator("#stats-table tbody tr")
    expect(table).to_have_count(3)
    rows = [cells(table.nth(i).locator("td").all_inner_texts()) for i in range(3)]
    # Numbers and dates as French writes them (Babel).
    assert rows == [
        ["10 mars 2026", "État civil", "5", "8,0", "17,0", "75 %", "11,3", "1"],
        ["10 mars 2026", "Passeports", "1", "30,0", "30,0", "0 %", "15,0", "0"],
        ["12 mars 2026", "État civil", "1", "5,0", "5,0", "100 %", "5,0", "0"],
    ]
    expect(page.locator("#kpi-tickets")).to_have_text("7")
    expect(page.locator("#kpi-no-shows")).to_have_text("1")
    # Whole site: waits 120, 300, 360, 600, 1200, 1800 -> median 480 s, 90th 1500 s.
    assert flat(page.locator("#kpi-p50").inner_text()) == "8,0"
    assert flat(page.locator("#kpi-p90").inner_text()) == "25,0"
    assert flat(page.locator("#kpi-within15").inner_text()) == "67 %"
    assert flat(page.locator("#stats-period").inner_text()) == "Du 10 mars 2026 au 12 mars 2026"
    services = page.locator("#services-table tbody tr")
    assert cells(services.nth(0).locator("th, td").all_inner_texts())[:4] == [
        "État civil",
        "6",
        "6",
        "0",
    ]
    # By hour, the site first: 9 h had 3 arrivals (C2, C3, C4) and 4 calls (C1 to C4).
    site_9 = page.locator("#hours-table tbody tr.site-row").nth(1)  # after 8 h
    assert cells(site_9.locator("td").all_inner_texts())[:4] == [
        "Tout le site",
        "09:00 – 10:00",
        "3",
        "4",
    ]

    # The charts are SVG drawn on the server, one series per service (median and 90th).
    wait_chart = page.locator("#wait-chart svg")
    expect(wait_chart).to_have_count(1)
    expect(wait_chart).to_contain_text("État civil · Attente médiane")
    expect(wait_chart).to_contain_text("Passeports · Attente 90 %")
    expect(wait_chart).to_contain_text("12 mars")  # the axis in the page's language
    expect(wait_chart).to_contain_text("20 min")  # a round tick: no decimal
    bars = page.locator("#tickets-chart svg .series rect.rect")
    assert bars.count() >= 3
    box = page.locator("#tickets-chart svg").bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 150

    # Arrivals heatmap: Tuesday 8 h 1, 9 h 3, 10 h 1, 14 h 1; Thursday 16 h 1.
    heat = page.locator("#heatmap")
    expect(heat.locator("thead th")).to_have_text(["Jour", "8 h", "9 h", "10 h", "14 h", "16 h"])
    tuesday = cells(heat.locator("tbody tr").nth(0).locator("th, td").all_inner_texts())
    thursday = cells(heat.locator("tbody tr").nth(1).locator("th, td").all_inner_texts())
    assert tuesday == ["mardi", "1", "3", "1", "1", ""]
    assert thursday == ["jeudi", "", "", "", "", "1"]
    assert flat(page.locator("#stats-peaks li").first.inner_text()) == "mardi 09:00 – 10:00"
    expect(page.locator("#heat-chart svg")).to_have_count(1)
    shoot(page, shots, "stats")

    page.click(".lang-switch a[hreflang=en]")
    expect(page.locator("h1")).to_have_text("Statistics")
    expect(page.locator("#stats-table tbody tr").first).to_contain_text("Civil status")
    english = cells(page.locator("#stats-table tbody tr").first.locator("td").all_inner_texts())
    assert english == ["Mar 10, 2026", "Civil status", "5", "8.0", "17.0", "75%", "11.3", "1"]
    assert flat(page.locator("#stats-peaks li").first.inner_text()) == "Tuesday 9:00 – 10:00 AM"
    expect(page.locator("#wait-chart svg")).to_contain_text("Civil status · Median wait")


def test_csv_export_has_every_passage_with_its_timestamps(seeded: Srv) -> None:
    http, _csrf = form_session(seeded.url, MANAGER)
    r = http.get(f"{seeded.url}/stats/{SITE}/tickets.csv?{PERIOD}", timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    text = r.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["ticket"] for row in rows] == [
        "A900",
        "A901",
        "A902",
        "A903",
        "A904",
        "B905",
        "A906",
    ]
    c1 = rows[0]
    assert (c1["day"], c1["service"], c1["outcome"], c1["counter"]) == (
        "2026-03-10",
        "civil",
        "served",
        "1",
    )
    assert c1["issued_at"] == "2026-03-10T08:55:00+01:00"
    assert c1["first_called_at"] == "2026-03-10T09:01:00+01:00"
    assert c1["ended_at"] == "2026-03-10T09:09:00+01:00"
    assert (c1["waited_seconds"], c1["service_seconds"]) == ("360", "480")
    c3, c5 = rows[2], rows[4]
    assert (c3["outcome"], c3["service_seconds"]) == ("no_show", "")
    assert (c5["outcome"], c5["first_called_at"], c5["waited_seconds"]) == ("cancelled", "", "")
    assert c5["ended_at"] == "2026-03-10T11:00:00+01:00"


@pytest.mark.parametrize("path", ["", "/tickets.csv"])
def test_dates_outside_the_bounds_get_a_clear_422(seeded: Srv, path: str) -> None:
    http, _csrf = form_session(seeded.url, MANAGER)
    for query in ("from=0001-01-01&to=2026-03-10", "from=2026-03-10&to=9999-12-31"):
        r = http.get(f"{seeded.url}/stats/{SITE}{path}?{query}", timeout=10)
        assert r.status_code == 422
        assert "2000-01-01" in r.text and "2199-12-31" in r.text


def test_statistics_need_a_manager(seeded: Srv) -> None:
    http, _csrf = form_session(seeded.url, AGENT)
    r = http.get(f"{seeded.url}/stats/{SITE}", allow_redirects=False, timeout=10)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?")
    assert "reason=forbidden" in r.headers["location"]
    r = http.get(f"{seeded.url}/stats/{SITE}/tickets.csv", allow_redirects=False, timeout=10)
    assert r.status_code == 303


@pytest.mark.browser
def test_in_arabic_the_charts_keep_their_layout_and_read_right_to_left(
    seeded: Srv, context: BrowserContext, shots: Path
) -> None:
    """GIVEN the statistics page in Arabic (a right-to-left page)
    THEN each chart is laid out as in French: the value axis's labels end left of the plot,
    each legend text starts right of its colour key and ends inside the chart, and the hours
    and units are written in Arabic."""
    page = context.new_page()
    login(page, seeded.url, MANAGER, then=f"/stats/{SITE}?{PERIOD}&lang=ar")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    for chart in ("#wait-chart", "#tickets-chart"):
        svg = page.locator(f"{chart} svg")
        frame = svg.bounding_box()
        plot = svg.locator(".plot > rect.background").first.bounding_box()
        assert frame is not None and plot is not None
        labels = svg.locator(".axis.y text")
        assert labels.count() >= 3
        for i in range(labels.count()):
            box = labels.nth(i).bounding_box()
            assert box is not None and box["x"] + box["width"] <= plot["x"] + 1, chart
            assert box["x"] >= frame["x"] - 1, chart
        legends = svg.locator(".legends .legend")
        assert legends.count() >= 2
        for i in range(legends.count()):
            key = legends.nth(i).locator("rect").first.bounding_box()
            text = legends.nth(i).locator("text").first.bounding_box()
            assert key is not None and text is not None
            assert text["x"] >= key["x"] + key["width"], chart
            assert text["x"] + text["width"] <= frame["x"] + frame["width"], chart
    expect(page.locator("#wait-chart svg")).to_contain_text("دقيقة")
    expect(page.locator("#kpi-p50 + .label")).to_have_text("الانتظار الوسيط (دقيقة)")
    expect(page.locator("#heatmap thead th").nth(2)).to_have_text("9:00 ص")
    shoot(page, shots, "stats-ar")
