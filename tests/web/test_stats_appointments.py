"""Appointment indicators on the manager's statistics page and in its CSV, from a scripted set
of bookings, check-ins and calls on the real server, each figure computed here again from the
script by the definitions of docs/statistics.md "Appointments"."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from server.appointments.indicators import record_first_free
from tests.server.appointments import MONDAY, appointment_site, paris
from tests.server.helpers import Srv
from tests.server.test_appointment_indicators import at, book, check_in_and_call
from tests.web.conftest import axe_violations, form_session, login, shoot, start

pytestmark = pytest.mark.browser

RDV_MANAGER = ("rita", "rdv-manager-password")
TARGET_DAYS = 7
FRIDAY = date(2026, 11, 20)
TUESDAY = date(2026, 11, 24)


@dataclass(frozen=True)
class Scripted:
    """One appointment of Monday 2026-11-23 (passports): when it was booked, its time, and
    what became of it (minutes after midnight, site time)."""

    booked_at: float
    hour: int
    minute: int
    checked_in: float | None = None
    called: float | None = None
    cancelled: bool = False

    @property
    def start(self) -> float:
        return paris(MONDAY, self.hour, self.minute)


SCRIPT = (
    # Booked 13 days ahead; arrives early, called 5 minutes after its time.
    Scripted(paris(date(2026, 11, 10), 8), 9, 0, paris(MONDAY, 8, 55), paris(MONDAY, 9, 5)),
    # Booked 3 days ahead; arrives in time, called 30 minutes late.
    Scripted(paris(FRIDAY, 9), 9, 20, paris(MONDAY, 9, 10), paris(MONDAY, 9, 50)),
    # Booked 2 days ahead; never comes.
    Scripted(paris(date(2026, 11, 21), 8), 10, 0),
    # Booked the day before, then cancelled.
    Scripted(paris(date(2026, 11, 22), 8), 10, 20, cancelled=True),
    # Booked 6.96 days ahead; arrives 30 minutes late (beyond the 15-minute tolerance: a
    # walk-in), called ten minutes later.
    Scripted(paris(date(2026, 11, 16), 12), 11, 0, paris(MONDAY, 11, 30), paris(MONDAY, 11, 40)),
)


def expected() -> dict[str, object]:
    """The Monday row by the definitions, from the script alone."""
    kept = [s for s in SCRIPT if not s.cancelled]
    tolerance = 15 * 60
    in_time = [
        s
        for s in kept
        if s.checked_in is not None and s.called is not None and s.checked_in - s.start <= tolerance
    ]
    on_time = [s for s in in_time if s.called is not None and s.called - s.start <= 15 * 60]
    within = [s for s in kept if (s.start - s.booked_at) / 86400 <= TARGET_DAYS]
    return {
        "booked": len(kept),
        "checked_in": sum(s.checked_in is not None for s in kept),
        "no_shows": sum(s.checked_in is None for s in kept),
        "on_time": len(on_time) / len(in_time),
        "within": len(within) / len(kept),
    }


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Srv]:
    """The script played on the real server; then Friday's first free slot is written down at
    15:50 (no slot left that day with an hour's notice), and the clock stops on Tuesday 10:00."""
    for srv in start(tmp_path_factory.mktemp("stats-appointments")):
        srv.tokens.update(srv.thread.load_site(appointment_site(target_delay_days=TARGET_DAYS)))
        srv.thread.add_user(*RDV_MANAGER, "manager", ["rdv"])
        codes = {}
        for s in sorted(SCRIPT, key=lambda s: s.booked_at):
            at(srv, s.booked_at)
            made = book(srv, MONDAY, s.hour, s.minute)
            codes[s] = made
            if s.cancelled:
                r = srv.request("POST", f"/api/v1/public/appointments/{made['token']}/cancel")
                assert r.status_code == 200, r.text
        loaded = srv.thread.ctx.sites.get_by_engine(srv.engine, "rdv")
        assert loaded is not None
        assert record_first_free(srv.engine, loaded, paris(FRIDAY, 15, 50)) == 1
        for s in sorted(SCRIPT, key=lambda s: s.checked_in or 0):
            if s.checked_in is not None and s.called is not None:
                check_in_and_call(srv, codes[s]["code"], s.checked_in, s.called)
                r = srv.request("POST", "/api/v1/sites/rdv/counters/2/done", device="board-a")
                assert r.status_code == 200, r.text
        at(srv, paris(TUESDAY, 10))
        yield srv


def test_the_csv_has_the_scripted_figures(played: Srv) -> None:
    http, _csrf = form_session(played.url, RDV_MANAGER)
    r = http.get(
        f"{played.url}/stats/rdv/appointments.csv",
        params={"from": "2026-11-20", "to": "2026-11-24"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = {
        (row["day"], row["service"]): row
        for row in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")))
    }
    want = expected()
    monday = rows[("2026-11-23", "passports")]
    assert int(monday["booked"]) == want["booked"] == 4
    assert int(monday["checked_in"]) == want["checked_in"] == 3
    assert int(monday["no_shows"]) == want["no_shows"] == 1
    assert float(monday["called_within_15_min_share"]) == want["on_time"] == 0.5
    assert float(monday["within_published_delay_share"]) == want["within"] == 0.75
    assert monday["first_free_slot"] == ""  # nobody looked on Monday
    friday = rows[("2026-11-20", "passports")]
    assert friday["booked"] == "0"
    assert friday["first_free_slot"] == "2026-11-23T09:00:00+01:00"
    assert friday["first_free_days_ahead"] == "3"
    # Tuesday was looked at by this very export (10:00, an hour's notice): 11:00 that day.
    tuesday = rows[("2026-11-24", "passports")]
    assert (tuesday["first_free_slot"], tuesday["first_free_days_ahead"]) == (
        "2026-11-24T11:00:00+01:00",
        "0",
    )


def test_the_statistics_page_shows_them(played: Srv, audited: BrowserContext, shots: Path) -> None:
    page = audited.new_page()
    login(page, played.url, RDV_MANAGER, then="/stats/rdv?from=2026-11-20&to=2026-11-24")
    section = page.get_by_role("region", name="Rendez-vous")
    monday = section.locator('tr[data-day="2026-11-23"][data-service="passports"] td')
    expect(monday).to_have_text(
        ["23 nov. 2026", "Passeports", "4", "3", "1", "50\u00a0%", "75\u00a0%", "—"]
    )
    friday = section.locator('tr[data-day="2026-11-20"] td').nth(7)
    expect(friday).to_have_text("23 nov. 2026 09:00 (dans 3 j)")
    expect(section.locator("#appt-now dt")).to_have_text(["Passeports"])
    expect(section.locator("#appt-now dd")).to_have_text(["24 nov. 2026 11:00 (dans 0 j)"])
    expect(section.get_by_role("link", name="Exporter les rendez-vous (CSV)")).to_have_attribute(
        "href", "/stats/rdv/appointments.csv?from=2026-11-20&to=2026-11-24"
    )
    shoot(page, shots, "stats-appointments")
    assert axe_violations(page) == []
    page.goto(f"{played.url}/stats/rdv?from=2026-11-20&to=2026-11-24&lang=en")
    section = page.get_by_role("region", name="Appointments")
    expect(section.get_by_role("columnheader", name="Seen on time (15 min)")).to_be_visible()
    assert axe_violations(page) == []
