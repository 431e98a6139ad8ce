"""Appointment indicators over HTTP, from a day of bookings, check-ins and calls on the real
server: bookings, check-ins, no-shows, punctuality, lead and the published delay kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.server.appointments import MONDAY, appointment_site, paris
from tests.server.conftest import start_server
from tests.server.helpers import Srv
from tickets.hlc import HybridClock

API = "/api/v1"
TUESDAY = date(2026, 11, 24)


@pytest.fixture
def rdv(tmp_path: Path) -> Iterator[Srv]:
    for srv in start_server(f"sqlite:///{tmp_path}/guichet.db"):
        srv.tokens.update(srv.thread.load_site(appointment_site(target_delay_days=1)))
        at(srv, paris(MONDAY, 8))
        yield srv


def at(srv: Srv, now: float) -> None:
    """The server's wall clock and event clock on site time (the statistics read the events'
    clock)."""
    srv.thread.ctx.wall = lambda: now
    srv.thread.ctx.clock = HybridClock("server", lambda: now)


def book(srv: Srv, day: date, hour: int, minute: int = 0) -> dict[str, Any]:
    r = srv.request(
        "POST",
        f"{API}/public/sites/rdv/appointments",
        json={"service": "passports", "start": int(paris(day, hour, minute))},
    )
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def check_in_and_call(srv: Srv, code: str, arrive: float, called: float) -> None:
    at(srv, arrive)
    r = srv.request(
        "POST", f"{API}/sites/rdv/appointments/check-in", device="kiosk-a", json={"code": code}
    )
    assert r.status_code == 200, r.text
    at(srv, called)
    r = srv.request("POST", f"{API}/sites/rdv/counters/2/next", device="board-a")
    assert r.json()["ticket"]["id"] == srv_ticket(srv, code)


def srv_ticket(srv: Srv, code: str) -> str:
    r = srv.request("GET", f"{API}/public/sites/rdv/appointments/code/{code}")
    day = srv.request(
        "GET",
        f"{API}/sites/rdv/appointments",
        device="kiosk-a",
        params={"day": r.json()["local"][:10]},
    )
    return str(next(a["ticket"] for a in day.json()["appointments"] if a["code"] == code))


def test_indicators_of_a_day(rdv: Srv) -> None:
    on_time = book(rdv, MONDAY, 10)
    late_call = book(rdv, MONDAY, 10, 20)
    book(rdv, MONDAY, 10, 40)  # never comes
    book(rdv, TUESDAY, 10)
    check_in_and_call(rdv, on_time["code"], paris(MONDAY, 9, 55), paris(MONDAY, 10, 5))
    check_in_and_call(rdv, late_call["code"], paris(MONDAY, 10, 18), paris(MONDAY, 10, 50))
    at(rdv, paris(TUESDAY, 8))
    r = rdv.request(
        "GET",
        f"{API}/public/sites/rdv/appointments/indicators",
        params={"from": "2026-11-23", "to": "2026-11-24"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    monday, tuesday = body["days"]
    assert monday["day"] == "2026-11-23" and monday["service"] == "passports"
    assert (monday["booked"], monday["checked_in"], monday["no_shows"]) == (3, 2, 1)
    assert monday["called_on_time_share"] == 0.5
    assert monday["within_target_share"] == 1.0
    assert monday["mean_lead_days"] == pytest.approx((2 + 2 + 1 / 3 + 2 + 2 / 3) / 3 / 24)
    assert (tuesday["booked"], tuesday["no_shows"]) == (1, 0)  # today: not a no-show yet
    (first_free,) = body["first_free"]
    assert first_free["days_ahead"] == 0  # 09:00 Tuesday, an hour's notice from 08:00
    bad = rdv.request(
        "GET",
        f"{API}/public/sites/rdv/appointments/indicators",
        params={"from": "2026-11-24", "to": "2026-11-23"},
    )
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("first", "last"),
    [("0001-01-01", "0001-01-02"), ("9999-12-30", "9999-12-31"), ("1999-12-31", "2000-01-01")],
)
def test_days_outside_the_statistics_range_are_a_clear_422(rdv: Srv, first: str, last: str) -> None:
    """A day the site's clock cannot hold (year 1, year 9999) is refused as the statistics'
    periods are (2000-01-01 to 2199-12-31), never a server error."""
    r = rdv.request(
        "GET",
        f"{API}/public/sites/rdv/appointments/indicators",
        params={"from": first, "to": last},
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid"
