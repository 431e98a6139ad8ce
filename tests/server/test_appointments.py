"""Appointments over HTTP on the real server: slots, book, move, cancel, check-in; and the
database constraint that keeps a slot from being overbooked by concurrent bookers on SQLite
and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from server import migrations, schema
from server.appointments import booking
from server.appointments.booking import Contact
from server.db import create_db_engine
from server.errors import ApiError
from server.sites import load_site
from tests.server.appointments import MONDAY, appointment_site, paris
from tests.server.conftest import start_server
from tests.server.helpers import SUPERADMIN, Srv

API = "/api/v1"


@pytest.fixture
def rdv(tmp_path: Path) -> Iterator[Srv]:
    """The server at 08:00 on Monday 2026-11-23, with the appointment site "rdv"."""
    for srv in start_server(f"sqlite:///{tmp_path}/guichet.db"):
        srv.tokens.update(srv.thread.load_site(appointment_site()))
        set_clock(srv, paris(MONDAY, 8))
        yield srv


def set_clock(srv: Srv, now: float) -> None:
    srv.thread.ctx.wall = lambda: now


def book(srv: Srv, start: float, **body: Any) -> Any:
    return srv.request(
        "POST",
        f"{API}/public/sites/rdv/appointments",
        json={"service": "passports", "start": int(start), **body},
    )


def test_slots_follow_hours_notice_closures_and_public_holidays(rdv: Srv) -> None:
    r = rdv.request(
        "GET",
        f"{API}/public/sites/rdv/services/passports/slots",
        params={"from": "2026-11-23", "days": 5},
    )
    assert r.status_code == 200, r.text
    starts = {s["local"][:16] for s in r.json()["slots"]}
    assert "2026-11-23T08:40" not in starts and "2026-11-23T09:00" in starts  # notice: 1 h
    assert "2026-11-23T11:40" in starts and "2026-11-23T12:00" not in starts
    assert not any(s.startswith("2026-11-27") for s in starts)  # a closure
    assert all(s["free"] == 2 for s in r.json()["slots"])
    later = rdv.request(
        "GET",
        f"{API}/public/sites/rdv/services/passports/slots",
        params={"from": "2026-12-25", "days": 1},
    )
    assert later.json()["slots"] == []  # Christmas: a public holiday (and past the horizon)
    r = rdv.request("GET", f"{API}/public/sites/rdv/services/civil/slots")
    assert r.status_code == 422 and "no appointments" in r.json()["message"]


def test_public_holidays_come_from_the_holidays_library(rdv: Srv) -> None:
    set_clock(rdv, paris(date(2026, 11, 2), 8))
    r = rdv.request(
        "GET",
        f"{API}/public/sites/rdv/services/passports/slots",
        params={"from": "2026-11-10", "days": 3},
    )
    days = {s["local"][:10] for s in r.json()["slots"]}
    assert days == {"2026-11-10", "2026-11-12"}  # 11 November: Armistice Day


def test_book_move_cancel_by_link_and_code(rdv: Srv) -> None:
    r = book(rdv, paris(MONDAY, 10), name="Ada", email="ada@example.org", lang="en")
    assert r.status_code == 200, r.text
    appt = r.json()
    assert appt["status"] == "booked" and appt["local"].startswith("2026-11-23T10:00")
    assert len(appt["code"]) == 9 and appt["code"][4] == "-"
    assert "email" not in appt  # the public view shows no personal data
    token = appt["token"]
    by_code = rdv.request("GET", f"{API}/public/sites/rdv/appointments/code/{appt['code'].lower()}")
    assert by_code.status_code == 200 and by_code.json()["token"] == token

    moved = rdv.request(
        "POST", f"{API}/public/appointments/{token}/move", json={"start": int(paris(MONDAY, 14))}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["local"].startswith("2026-11-23T14:00")
    cancelled = rdv.request("POST", f"{API}/public/appointments/{token}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    again = rdv.request(
        "POST", f"{API}/public/appointments/{token}/move", json={"start": int(paris(MONDAY, 15))}
    )
    assert again.status_code == 409 and again.json()["code"] == "not_booked"
    assert rdv.request("GET", f"{API}/public/appointments/{'x' * 24}").status_code == 404


def test_a_slot_takes_parallel_places_and_a_cancellation_frees_one(rdv: Srv) -> None:
    start = paris(MONDAY, 9, 20)
    first, second = book(rdv, start), book(rdv, start)
    assert first.status_code == second.status_code == 200
    third = book(rdv, start)
    assert third.status_code == 409 and third.json()["code"] == "slot_full"
    rdv.request("POST", f"{API}/public/appointments/{first.json()['token']}/cancel")
    assert book(rdv, start).status_code == 200


@pytest.mark.parametrize(
    ("start", "body", "field"),
    [
        (paris(MONDAY, 8, 40), {}, "start"),  # less than an hour's notice
        (paris(MONDAY, 10, 5), {}, "start"),  # no slot starts then
        (paris(date(2026, 11, 27), 10), {}, "start"),  # closed
        (paris(date(2027, 1, 4), 10), {}, "start"),  # beyond the horizon
        (paris(MONDAY, 10), {"email": "not an address"}, "email"),
        (paris(MONDAY, 10), {"service": "civil"}, "service"),
    ],
)
def test_refused_bookings_say_why_and_store_nothing(
    rdv: Srv, start: float, body: dict[str, Any], field: str
) -> None:
    r = book(rdv, start, **body)
    assert r.status_code == 422, r.text
    assert field in (r.json().get("field") or "") + r.json()["message"]
    with rdv.engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(schema.appointments)).scalar() == 0
        )


def test_check_in_makes_a_ticket_called_at_its_time_ahead_of_walk_ins(rdv: Srv) -> None:
    appt = book(rdv, paris(MONDAY, 10)).json()
    set_clock(rdv, paris(MONDAY, 9, 50))
    walk_in = rdv.request(
        "POST",
        f"{API}/sites/rdv/tickets",
        device="kiosk-a",
        json={"service": "passports"},
    ).json()
    r = rdv.request(
        "POST",
        f"{API}/sites/rdv/appointments/check-in",
        device="kiosk-a",
        json={"code": appt["code"], "note": "needs the form 12100"},
    )
    assert r.status_code == 200, r.text
    ticket = r.json()["ticket"]
    assert r.json()["appointment"]["status"] == "checked_in"
    assert r.json()["appointment"]["ticket"] == ticket["id"]
    twice = rdv.request(
        "POST",
        f"{API}/sites/rdv/appointments/check-in",
        device="kiosk-a",
        json={"code": appt["code"]},
    )
    assert twice.status_code == 409 and twice.json()["code"] == "checked_in"

    def call(at: float) -> str:
        set_clock(rdv, at)
        r = rdv.request("POST", f"{API}/sites/rdv/counters/2/next", device="board-a")
        assert r.status_code == 200, r.text
        return str(r.json()["ticket"]["id"])

    # 09:52: the appointment (10:00) is not due yet; the walk-in goes first.
    assert call(paris(MONDAY, 9, 52)) == walk_in["ticket"]["id"]
    walk_in2 = rdv.request(
        "POST", f"{API}/sites/rdv/tickets", device="kiosk-a", json={"service": "passports"}
    ).json()
    # 09:56: due (grace 5 minutes): ahead of the walk-in who came earlier.
    assert call(paris(MONDAY, 9, 56)) == ticket["id"]
    assert call(paris(MONDAY, 10, 10)) == walk_in2["ticket"]["id"]
    day = rdv.request(
        "GET", f"{API}/sites/rdv/appointments", user=SUPERADMIN, params={"day": "2026-11-23"}
    )
    assert [a["note"] for a in day.json()["appointments"]] == ["needs the form 12100"]


def check_in(srv: Srv, code: str) -> Any:
    return srv.request(
        "POST", f"{API}/sites/rdv/appointments/check-in", device="kiosk-a", json={"code": code}
    )


def test_check_in_refuses_another_day_and_late_under_the_rebook_rule(tmp_path: Path) -> None:
    for srv in start_server(f"sqlite:///{tmp_path}/guichet.db"):
        cfg = appointment_site().model_dump(mode="json")
        cfg["appointments"] = {"late_rule": "rebook", "late_tolerance_minutes": 10}
        srv.tokens.update(srv.thread.load_site(type(appointment_site()).model_validate(cfg)))
        set_clock(srv, paris(MONDAY, 8))
        code = book(srv, paris(MONDAY, 10)).json()["code"]
        tomorrow = book(srv, paris(date(2026, 11, 24), 10)).json()["code"]

        assert check_in(srv, tomorrow).json()["code"] == "not_today"
        set_clock(srv, paris(MONDAY, 10, 11))
        late = check_in(srv, code)
        assert late.status_code == 409 and late.json()["code"] == "late"
        assert check_in(srv, "ZZZZ-ZZZZ").status_code == 404
        assert srv.count("kind = 'TicketIssued'") == 0


# ---- never overbooked, whoever books at once ------------------------------------------------
def _race(database_url: str, bookers: int) -> tuple[int, int, list[int]]:
    """``bookers`` threads, each with an engine of its own (as many server processes), book
    the same two-place slot at once; returns (booked, refused as full, seats held)."""
    setup = create_db_engine(database_url)
    migrations.migrate(setup)
    load_site(setup, appointment_site())
    engines = [create_db_engine(database_url) for _ in range(bookers)]
    from server.sites import SiteRegistry

    loaded = SiteRegistry().get_by_engine(setup, "rdv")
    assert loaded is not None
    start = int(paris(MONDAY, 11))
    now = paris(MONDAY, 8)
    barrier = threading.Barrier(bookers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def one(engine: sa.Engine) -> None:
        barrier.wait()
        try:
            booking.book(engine, loaded, "passports", start, now, Contact(), "api")
            result = "booked"
        except ApiError as exc:
            result = exc.body.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=one, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    with setup.connect() as conn:
        seats = sorted(
            r[0]
            for r in conn.execute(
                sa.select(schema.appointments.c.seat).where(schema.appointments.c.seat.is_not(None))
            )
        )
    for e in [*engines, setup]:
        e.dispose()
    assert len(outcomes) == bookers, outcomes
    return outcomes.count("booked"), outcomes.count("slot_full"), seats


def test_concurrent_bookers_never_overbook_on_sqlite(tmp_path: Path) -> None:
    booked, full, seats = _race(f"sqlite:///{tmp_path}/race.db", 8)
    assert (booked, full, seats) == (2, 6, [0, 1])


@pytest.mark.postgres
def test_concurrent_bookers_never_overbook_on_postgres(postgres_url: str) -> None:
    booked, full, seats = _race(postgres_url, 8)
    assert (booked, full, seats) == (2, 6, [0, 1])


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_database_refuses_a_second_appointment_in_one_place(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The constraint itself, without the booking code: a writer that skipped the check (or
    raced past it) cannot store a second appointment in a taken place."""
    url = (
        f"sqlite:///{tmp_path}/c.db"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    engine = create_db_engine(url)
    migrations.migrate(engine)
    load_site(engine, appointment_site())
    row = {
        "site": "rdv",
        "service": "passports",
        "starts_at": 1,
        "day": "2026-11-23",
        "seat": 0,
        "status": "booked",
        "channel": "api",
        "lang": "fr",
        "note": "",
        "created_at": 0.0,
        "updated_at": 0.0,
    }
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(schema.appointments).values(id="a", code="A", token="ta", **row))
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.insert(schema.appointments).values(id="b", code="B", token="tb", **row))
        with engine.begin() as conn:  # a cancelled appointment holds no place
            conn.execute(
                sa.insert(schema.appointments).values(
                    id="c", code="C", token="tc", **{**row, "seat": None, "status": "cancelled"}
                )
            )
    finally:
        engine.dispose()
