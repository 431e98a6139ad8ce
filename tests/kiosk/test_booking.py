"""Booking at the kiosk under Xvfb: the long-wait screen offers the next free times of a
service from the real server on loopback, a tap books one, and the appointment slip is read
back from the printer's bytes; offline, the screen says booking needs the network."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk.selftest import KioskDriver
from printer.print_engine import Picture
from printer.virtual import VirtualPrinter
from server.run import ServerThread
from tests.conftest import PATIENCE
from tests.kiosk.conftest import MONDAY_10, PARIS
from tests.kiosk.test_checkin import server  # noqa: F401  (the fixture)
from tests.kiosk.test_rtl import screen_problems
from tests.printer.conftest import STATUS_PATIENCE

pytestmark = pytest.mark.kivy

OpenUI = Callable[..., KioskDriver]


def reach_long_wait(d: KioskDriver) -> Any:
    """Once the kiosk has its server's site (passports by appointment), the long wait for
    passports (``long_wait_for_passports``)."""
    assert d.wait_until(lambda: d.app.books("passeports"), PATIENCE)
    return long_wait_for_passports(d)


def long_wait_for_passports(d: KioskDriver) -> Any:
    """Four people wait for passports (a long wait); a fifth touches passports. Returns the
    long-wait screen."""
    for _ in range(4):
        d.runtime.core.take_number("passeports", None, "fr")
    d.tap(d.screen("idle").ids.touch_area)
    assert d.wait_until(lambda: d.current == "services")
    d.tap(d.card("passeports"))
    assert d.wait_until(lambda: d.current == "longwait")
    return d.screen("longwait")


def long_wait_booking(d: KioskDriver) -> None:
    """The long wait for passports, then "book a time here" on its screen."""
    longwait = reach_long_wait(d)
    assert longwait.book_button.opacity == 1
    d.tap(longwait.book_button)
    assert d.wait_until(lambda: d.current == "booking")


def free_places(url: str, start: float) -> int:
    """Free places of the passport slot starting at ``start``, as the public API says."""
    slots = requests.get(
        f"{url}/api/v1/public/sites/mairie/services/passeports/slots", timeout=10
    ).json()["slots"]
    return next((int(x["free"]) for x in slots if x["start"] == start), 0)


def test_a_time_touched_then_confirmed_is_booked_and_its_slip_printed(
    server: tuple[ServerThread, dict[str, str]],  # noqa: F811
    open_ui: OpenUI,
    printer: VirtualPrinter,
    tmp_path: Path,
) -> None:
    """GIVEN a server whose passports take appointments (09:00-12:00, 20 min) WHEN a person
    facing a long wait touches the first time offered THEN the screen asks to confirm it
    ("Réserver aujourd'hui à 10 h 20, Passeports… ?") and nothing is booked or printed; "Back"
    shows the same times again; WHEN the person touches it again and confirms THEN the
    server holds the booking and the printer got a slip with the place, service, date, time
    and code, and the QR code of the page that manages it; nothing personal is printed."""
    thread, tokens = server
    d = open_ui(server={"url": thread.url, "token": tokens["kiosk-entree"]})
    long_wait_booking(d)
    screen = d.screen("booking")
    assert d.wait_until(lambda: screen.state == "slots", PATIENCE)
    free = requests.get(
        f"{thread.url}/api/v1/public/sites/mairie/services/passeports/slots", timeout=10
    ).json()["slots"]
    assert 3 <= len(screen.slot_buttons) <= 6  # what the screen holds, three a row
    assert [b.text for b in screen.slot_buttons[:2]] == [
        "aujourd'hui à 10\u00a0h\u00a020",
        "aujourd'hui à 10\u00a0h\u00a040",
    ]
    assert free[0]["start"] == MONDAY_10.replace(minute=20).timestamp()
    first = free[0]["start"]
    d.screenshot(tmp_path / "booking-slots.png")
    offered = [b.text for b in screen.slot_buttons]
    d.tap(screen.slot_buttons[0])
    # A touch only asks to confirm: nothing is booked, nothing printed yet.
    assert d.wait_until(lambda: screen.state == "confirm")
    assert screen.headline == (
        "Réserver aujourd'hui à 10\u00a0h\u00a020, Passeports et cartes d'identité ?"
    )
    assert screen.slot_buttons == [] and screen.confirm_button.parent is not None
    d.settle()
    d.screenshot(tmp_path / "booking-confirm.png")
    assert screen_problems(d, "booking", (1024, 600)) == []
    assert free_places(thread.url, first) == free[0]["free"]
    assert printer.printed == []
    d.tap(screen.ids.back)  # back to the same times
    assert d.wait_until(lambda: screen.state == "slots")
    assert [b.text for b in screen.slot_buttons] == offered
    assert screen.confirm_button.parent is None
    d.tap(screen.slot_buttons[0])
    assert d.wait_until(lambda: screen.state == "confirm")
    d.tap(screen.confirm_button)
    assert d.wait_until(lambda: screen.state == "booked", PATIENCE)
    assert free_places(thread.url, first) == free[0]["free"] - 1
    printer.wait_for_tickets(1, PATIENCE)
    slip = printer.printed[0]
    lines = slip.text_lines()
    d.screenshot(tmp_path / "booking-done.png")
    from datetime import datetime

    at = datetime.fromtimestamp(first, PARIS)
    assert "Mairie de Saint-Exemple" in lines
    assert "RENDEZ-VOUS" in lines and "Passeports et cartes d'identité" in lines
    assert f"Date : {at:%d/%m/%Y}" in lines
    assert f"Heure : {at:%H:%M}" in lines
    (code_line,) = [x for x in lines if x.startswith("Code : ")]
    code = code_line.removeprefix("Code : ")
    assert screen.code == code
    (qr,) = [e for e in slip.elements if isinstance(e, Picture) and e.kind == "qr"]
    assert qr.data.startswith(f"{thread.url}/a/")
    token = qr.data.rsplit("/", 1)[1]
    appt = requests.get(f"{thread.url}/api/v1/public/appointments/{token}", timeout=10).json()
    assert appt["status"] == "booked" and appt["start"] == first
    assert appt["code"].replace("-", "") == code.replace("-", "")
    assert appt["service"] == "passeports"
    d.tap(screen.ids.back)
    assert d.wait_until(lambda: d.current == "idle")
    keep = os.environ.get("GUICHET_SHOTS")
    if keep:
        for png in tmp_path.glob("*.png"):
            shutil.copy(png, Path(keep) / png.name)


def test_in_arabic_the_confirmation_reads_right_to_left(
    server: tuple[ServerThread, dict[str, str]],  # noqa: F811
    open_ui: OpenUI,
    printer: VirtualPrinter,
    tmp_path: Path,
) -> None:
    """GIVEN an Arabic visit WHEN a time is touched THEN the question is in Arabic, right
    aligned, "Confirm" sits left of "Back" (the reading end) and nothing overlaps or is cut;
    nothing is printed."""
    from tests.kiosk.test_rtl import PRESENTATION_FORMS, core_text, window_x

    thread, tokens = server
    # No touch before the time's: on a saturated machine the slots may take longer than the
    # untouched visit's 45 s, which ends the visit and its language (not what this test is about).
    d = open_ui(server={"url": thread.url, "token": tokens["kiosk-entree"]}, idle_after_seconds=600)
    # The site's own languages are French and English: Arabic is chosen once the screens have
    # the server's configuration (``takes_appointments``), not merely the sync (``books``):
    # applying it afterwards would take the visit back to a language the site offers.
    assert d.wait_until(lambda: d.app.books("passeports") and d.app.takes_appointments, PATIENCE)
    d.app.set_language("ar")
    d.app.open_booking("passeports", "")
    screen = d.screen("booking")
    assert d.wait_until(lambda: screen.state == "slots", PATIENCE)
    d.tap(screen.slot_buttons[0])
    assert d.wait_until(lambda: screen.state == "confirm")
    headline = screen.ids.headline
    # The direction reaches the labels through their rules' bindings: wait for it, then settle.
    assert d.wait_until(lambda: headline.halign == "right", PATIENCE), headline.halign
    d.settle()
    assert any(ord(c) in PRESENTATION_FORMS for c in core_text(headline))
    assert window_x(screen.confirm_button)[1] <= window_x(screen.ids.back)[0] + 0.5
    d.screenshot(tmp_path / "booking-confirm-ar.png")
    assert screen_problems(d, "booking", (1024, 600)) == []
    assert printer.printed == []
    keep = os.environ.get("GUICHET_SHOTS")
    if keep:
        shutil.copy(tmp_path / "booking-confirm-ar.png", Path(keep) / "booking-confirm-ar.png")


def test_offline_the_kiosk_says_booking_needs_the_network(
    server: tuple[ServerThread, dict[str, str]],  # noqa: F811
    open_ui: OpenUI,
    printer: VirtualPrinter,
    tmp_path: Path,
) -> None:
    """GIVEN a kiosk that had the site from its server WHEN the server stops and a person
    asks to book THEN the screen says booking needs the network and lists no time."""
    thread, tokens = server
    d = open_ui(
        server={
            "url": thread.url,
            "token": tokens["kiosk-entree"],
            "timeout_seconds": STATUS_PATIENCE,
        }
    )
    assert d.wait_until(lambda: d.app.books("passeports"), PATIENCE)
    thread.stop()
    long_wait_booking(d)
    screen = d.screen("booking")
    assert d.wait_until(lambda: screen.state == "offline", PATIENCE)
    assert screen.slot_buttons == []
    assert screen.message.startswith("La réservation a besoin du réseau")
    d.screenshot(tmp_path / "booking-offline.png")
    assert printer.printed == []
    keep = os.environ.get("GUICHET_SHOTS")
    if keep:
        shutil.copy(tmp_path / "booking-offline.png", Path(keep) / "booking-offline.png")
