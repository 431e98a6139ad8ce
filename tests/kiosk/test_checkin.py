"""Check-in at the kiosk with the server stopped: the day's appointments fetched from the real
server on loopback earlier, a serial 2D scanner on a pseudo-terminal, the ticket printed on the
virtual printer and journaled with its appointment for upload."""

from __future__ import annotations

import os
import threading
import tty
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from config.kiosk import KioskSettings
from config.loader import load_model
from config.server import ServerSettings
from config.site import SiteConfig
from kiosk.checkin import CheckIn, CheckInResult, check_in
from kiosk.runtime import KioskRuntime
from kiosk.scanner import code_of
from printer.virtual import VirtualPrinter
from server.run import ServerThread
from tests.conftest import PATIENCE, wait_until
from tests.kiosk.conftest import MONDAY_10, SITE_FILE, SiteClock
from tests.kiosk.link import Link
from tests.printer.conftest import STATUS_PATIENCE
from tickets.daybook import DayBook
from tickets.events import EventKind
from tickets.hlc import HybridClock

WAIT_SECONDS = PATIENCE


def appointment_site() -> SiteConfig:
    raw = load_model(SiteConfig, SITE_FILE).model_dump(mode="json")
    for service in raw["services"]:
        if service["id"] == "passeports":
            service["appointments"] = {
                "duration_minutes": 20,
                "hours": {d: ["09:00-12:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
                "min_notice_minutes": 0,
            }
    return SiteConfig.model_validate(raw)


@pytest.fixture
def server(tmp_path: Path, site_clock: SiteClock) -> Iterator[tuple[ServerThread, dict[str, str]]]:
    thread = ServerThread(ServerSettings(database_url=f"sqlite:///{tmp_path}/server.db"))
    thread.ctx.wall = site_clock
    thread.ctx.clock = HybridClock("server", site_clock)
    thread.start()
    tokens = thread.load_site(appointment_site())
    yield thread, tokens
    thread.stop()


def book(url: str, hour: int, minute: int) -> dict[str, str]:
    start = MONDAY_10.replace(hour=hour, minute=minute).timestamp()
    r = requests.post(
        f"{url}/api/v1/public/sites/mairie/appointments",
        json={"service": "passeports", "start": int(start), "lang": "en"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    out: dict[str, str] = r.json()
    return out


class Results:
    def __init__(self) -> None:
        self.items: list[CheckInResult] = []
        self.cond = threading.Condition()

    def add(self, item: CheckInResult) -> None:
        with self.cond:
            self.items.append(item)
            self.cond.notify_all()

    def wait_for(self, count: int) -> list[CheckInResult]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.items) >= count, WAIT_SECONDS)
        return list(self.items)


def test_a_scanner_line_checks_in_with_the_server_stopped(
    server: tuple[ServerThread, dict[str, str]],
    make_settings: Callable[..., KioskSettings],
    site_clock: SiteClock,
    printer: VirtualPrinter,
    tmp_path: Path,
) -> None:
    """GIVEN two appointments this morning, fetched by the kiosk while the server ran
    WHEN the server is stopped and a scanner line carries the first one's code
    THEN the kiosk prints a ticket for it and journals it with the appointment for upload;
    the same code again gives no second ticket; an unknown code gives none."""
    thread, tokens = server
    first = book(thread.url, 10, 20)
    second = book(thread.url, 11, 0)
    link = Link()
    link.restore(int(thread.url.rsplit(":", 1)[1]))
    master, slave = os.openpty()
    tty.setraw(slave)
    runtime = KioskRuntime(
        make_settings(
            server={
                "url": link.url,
                "token": tokens["kiosk-entree"],
                "sync_interval_seconds": 0.2,
                "timeout_seconds": STATUS_PATIENCE,
            },
            scanner_port=os.ttyname(slave),
        ),
        clock=site_clock,
    )
    book_file = runtime.appointments
    results = Results()
    try:
        runtime.start_appointments(results.add)  # fetches the day's list, opens the scanner
        wait_until(lambda: len(book_file) >= 2, WAIT_SECONDS)
        assert len(book_file) == 2
        thread.stop()
        assert runtime.refresh_appointments() is None  # the server is away: the list stays
        assert len(DayBook(book_file.path)) == 2  # and it is on disk
        try:
            os.write(master, f"{first['code']}\r\n".encode())
            (result,) = results.wait_for(1)
            assert result.outcome is CheckIn.PRINTED
            assert result.issued is not None and result.issued.ticket is not None
            label = result.issued.ticket.label
            assert label.startswith("B")
            printer.wait_for_tickets(1, WAIT_SECONDS)
            assert printer.printed[0].headline == label

            os.write(master, f"garbage line\r\nhttps://x/a/t?code={first['code']}\n".encode())
            os.write(master, b"ZZZZ-ZZZZ\n")
            results.wait_for(3)
            assert [r.outcome for r in results.items[1:]] == [CheckIn.ALREADY, CheckIn.UNKNOWN]
        finally:
            os.close(master)

        issued = [e for e in runtime.journal.outbox() if e.kind is EventKind.TICKET_ISSUED]
        assert len(issued) == 1
        assert issued[0].data["appointment_at"] == MONDAY_10.replace(minute=20).timestamp()
        assert issued[0].data["lang"] == "en"
        # Typed on the keypad, in any case and spacing, the second one checks in too.
        typed = check_in(runtime.core, book_file, second["code"].lower().replace("-", " "))
        assert typed.outcome is CheckIn.PRINTED

        # The server is back: the kiosk's upload checks both appointments in there too.
        again = ServerThread(ServerSettings(database_url=f"sqlite:///{tmp_path}/server.db"))
        again.ctx.wall = site_clock
        again.ctx.clock = HybridClock("server", site_clock)
        with again:
            link.restore(int(again.url.rsplit(":", 1)[1]))
            runtime.start_sync()

            def status(appt: dict[str, str]) -> str:
                r = requests.get(
                    f"{again.url}/api/v1/public/appointments/{appt['token']}", timeout=PATIENCE
                )
                return str(r.json()["status"])

            def checked_in() -> bool:
                runtime.wake_sync()
                return status(first) == "checked_in"

            assert wait_until(checked_in, WAIT_SECONDS, step=0.1)
            assert status(second) == "checked_in"
            runtime.close()
    finally:
        runtime.close()
        os.close(slave)
        link.close()


def test_codes_in_scanned_lines() -> None:
    assert code_of("K7QM-3XHP") == "K7QM3XHP"
    assert code_of(" k7qm3xhp\r") == "K7QM3XHP"
    assert code_of("https://mairie.example/a/abc?code=K7QM3XHP") == "K7QM3XHP"
    assert code_of("hello world") is None
    assert code_of("") is None


def test_an_appointment_checked_in_elsewhere_gives_no_second_ticket(
    server: tuple[ServerThread, dict[str, str]],
    make_settings: Callable[..., KioskSettings],
    site_clock: SiteClock,
    printer: VirtualPrinter,
) -> None:
    """GIVEN an appointment in the kiosk's list of the day (still "booked" there) WHEN it is
    checked in on the server (reception, another device) and the kiosk's sync brings that
    ticket THEN its code typed at the kiosk prints nothing: one ticket per appointment."""
    thread, tokens = server
    appt = book(thread.url, 10, 20)
    token = tokens["kiosk-entree"]
    runtime = KioskRuntime(
        make_settings(server={"url": thread.url, "token": token, "sync_interval_seconds": 0.2}),
        clock=site_clock,
    )
    try:
        assert runtime.refresh_appointments() == 1
        r = requests.post(
            f"{thread.url}/api/v1/sites/mairie/appointments/check-in",
            json={"code": appt["code"]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        label = r.json()["ticket"]["label"]
        runtime.start_sync()
        assert wait_until(
            lambda: runtime.core.appointment_ticket(r.json()["appointment"]["id"]) is not None,
            WAIT_SECONDS,
        ), "the server's ticket never reached the kiosk"
        assert runtime.appointments.find(appt["code"]).status == "booked"  # list not refreshed
        result = check_in(runtime.core, runtime.appointments, appt["code"])
        assert result.outcome is CheckIn.ALREADY
        assert runtime.core.appointment_ticket(r.json()["appointment"]["id"]) == label
        assert [e for e in runtime.journal.outbox() if e.kind is EventKind.TICKET_ISSUED] == []
        assert printer.printed == []
    finally:
        runtime.close()
