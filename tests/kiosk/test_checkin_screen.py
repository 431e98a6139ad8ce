"""Check-in on the kiosk's screen, with no server at all: the short code typed by taps on the
on-screen keypad, or typed by a 2D scanner in keyboard mode (real X key events from xdotool),
prints a ticket that carries the appointment's time."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from kiosk.checkin import CheckIn
from kiosk.selftest import KioskDriver
from printer.virtual import VirtualPrinter
from tests.conftest import PATIENCE
from tests.kiosk.conftest import MONDAY_10, paced_frames
from tests.kiosk.test_checkin import appointment_site
from tickets.daybook import BOOKED, Expected
from tickets.events import EventKind

pytestmark = pytest.mark.kivy

OpenUI = Callable[..., KioskDriver]
AT_10_20 = MONDAY_10.replace(minute=20).timestamp()


def kiosk_with_appointments(open_ui: OpenUI, size: tuple[int, int] = (1024, 600)) -> KioskDriver:
    """A kiosk whose site takes passport appointments (as a sync would bring it), holding
    today's list: K7QM-3XHP at 10:20 (French) and TRUC-4567 at 11:00 (English)."""
    d = open_ui(size)
    site = appointment_site()
    d.runtime.core.set_site(site)
    d.app._site_changed(site)
    day = d.runtime.core.today()
    d.runtime.appointments.replace_day(
        day,
        [
            Expected("appt-1", "K7QM3XHP", "passeports", AT_10_20, day, "fr", BOOKED),
            Expected(
                "appt-2",
                "TRUC4567",
                "passeports",
                MONDAY_10.replace(hour=11).timestamp(),
                day,
                "en",
                BOOKED,
            ),
        ],
    )
    d.frames(3)
    return d


def type_on_keypad(d: KioskDriver, code: str) -> None:
    screen = d.screen("checkin")
    for ch in code:
        while screen.page != screen.page_of(ch):
            d.tap(screen.key("more"))
        d.tap(screen.key(ch))


def finished(process: subprocess.Popen[bytes]) -> bool:
    return process.poll() is not None


def issued_tickets(d: KioskDriver) -> list[Any]:
    return [e for e in d.runtime.journal.outbox() if e.kind is EventKind.TICKET_ISSUED]


@pytest.mark.parametrize("size", [(1024, 600), (1920, 1080), (600, 1024)])
def test_a_code_typed_on_the_keypad_prints_the_appointments_ticket(
    open_ui: OpenUI, printer: VirtualPrinter, tmp_path: Path, size: tuple[int, int]
) -> None:
    """GIVEN today's appointments on the kiosk and no server WHEN a person taps "I have an
    appointment" on the idle screen and types K7QM-3XHP on the keypad THEN a passport ticket
    is printed with the appointment's time, journaled with the appointment; the same code again
    gives no second ticket and says so; an unknown code says so."""
    d = kiosk_with_appointments(open_ui, size)
    idle = d.screen("idle")
    assert idle.checkin_button().opacity == 1
    d.screenshot(tmp_path / "idle.png")
    d.tap(idle.checkin_button())
    assert d.wait_until(lambda: d.current == "checkin")
    screen = d.screen("checkin")
    d.screenshot(tmp_path / "keypad-empty.png")
    type_on_keypad(d, "K7QM3XH")
    assert screen.ids.code.text == "K7QM-3XH·"
    d.screenshot(tmp_path / "keypad-typing.png")
    type_on_keypad(d, "PP")  # one too many: ignored
    d.tap(screen.key("erase"))
    type_on_keypad(d, "P")
    assert screen.code == "K7QM3XHP"
    d.tap(screen.key("ok"))
    ticket = d.screen("ticket")
    assert d.wait_until(lambda: d.current == "ticket" and ticket.state == "printed", PATIENCE)
    assert ticket.label.startswith("B")
    printer.wait_for_tickets(1, PATIENCE)
    printed = printer.printed[0]
    assert printed.headline == ticket.label
    assert "Rendez-vous : 10:20" in printed.text_lines()
    (event,) = issued_tickets(d)
    assert event.data["appointment"] == "appt-1"
    assert event.data["appointment_at"] == AT_10_20
    d.tap(ticket.ids.done)
    assert d.wait_until(lambda: d.current == "idle")

    d.tap(idle.checkin_button())
    assert d.wait_until(lambda: d.current == "checkin")
    type_on_keypad(d, "K7QM3XHP")
    d.tap(screen.key("ok"))
    assert d.wait_until(lambda: screen.state == "typing" and bool(screen.message), PATIENCE)
    assert screen.message == ("Ce rendez-vous est déjà enregistré\u00a0: son ticket a été imprimé.")
    for _ in range(8):
        d.tap(screen.key("erase"))
    type_on_keypad(d, "ZZZZ2222")
    d.tap(screen.key("ok"))
    assert d.wait_until(lambda: screen.message.startswith("Aucun rendez-vous"), PATIENCE)
    d.screenshot(tmp_path / "keypad-unknown.png")
    assert len(issued_tickets(d)) == 1
    assert len(printer.printed) == 1
    d.tap(screen.key("back"))
    assert d.wait_until(lambda: d.current == "idle")
    keep = os.environ.get("GUICHET_SHOTS")
    if keep:
        for png in tmp_path.glob("*.png"):
            shutil.copy(png, Path(keep) / f"{size[0]}x{size[1]}-{png.name}")


@pytest.mark.skipif(shutil.which("xdotool") is None, reason="xdotool is not installed")
def test_a_keyboard_mode_scanner_checks_in_from_any_screen(
    open_ui: OpenUI, printer: VirtualPrinter
) -> None:
    """GIVEN the kiosk on its idle screen WHEN a scanner in keyboard mode types the
    confirmation's link then Enter (real X key events) THEN the appointment's ticket prints,
    in the appointment's language; a scanned line holding no code does nothing."""
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs an X display (pytest-xvfb provides one)")
    d = kiosk_with_appointments(open_ui)
    d.read_window_events = True
    assert d.current == "idle"
    found = subprocess.run(
        ["xdotool", "search", "--sync", "--pid", str(os.getpid())],
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        check=True,
    )
    window = found.stdout.split()[0]
    subprocess.run(["xdotool", "windowfocus", "--sync", window], timeout=PATIENCE, check=True)

    def scan(text: str) -> None:
        """What the scanner sends: the text as key presses, then Enter."""
        for args in (["type", "--delay", "5", text], ["key", "Return"]):
            typing = subprocess.Popen(["xdotool", *args])
            assert d.wait_until(partial(finished, typing), PATIENCE)
            assert typing.returncode == 0

    scan("hello world")
    paced_frames(d, 5)
    assert d.current == "idle" and issued_tickets(d) == []
    scan("https://mairie.example/a/abcdef?code=TRUC-4567")
    ticket = d.screen("ticket")
    assert d.wait_until(lambda: d.current == "ticket" and ticket.state == "printed", PATIENCE)
    printer.wait_for_tickets(1, PATIENCE)
    assert "Appointment: 11:00" in printer.printed[0].text_lines()
    (event,) = issued_tickets(d)
    assert event.data["appointment"] == "appt-2" and event.data["lang"] == "en"
    assert d.runtime.check_in("TRUC4567").outcome is CheckIn.ALREADY
