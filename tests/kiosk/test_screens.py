"""The kiosk app under Xvfb, tapped like a finger would, printing to a virtual printer over TCP."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from kiosk import theme as T
from kiosk.gallery import tour
from kiosk.selftest import KioskDriver
from printer.virtual import VirtualPrinter
from tests.conftest import PATIENCE
from tickets.events import EventKind
from tickets.journal import PrintState

pytestmark = pytest.mark.kivy

OpenUI = Callable[..., KioskDriver]


def to_services(d: KioskDriver) -> None:
    d.tap(d.screen("idle").ids.touch_area)
    assert d.wait_until(lambda: d.current == "services")


def take(d: KioskDriver, service: str) -> Any:
    """Taps a service and waits for the printer's answer; returns the ticket screen."""
    d.tap(d.card(service))
    ticket = d.screen("ticket")
    assert d.wait_until(lambda: d.current == "ticket" and ticket.state != "printing", PATIENCE)
    return ticket


def labels(d: KioskDriver) -> list[Any]:
    from kivy.uix.label import Label

    out = []
    for name in ("idle", "services", "priority", "longwait", "ticket"):
        out += [w for w in d.screen(name).walk() if isinstance(w, Label) and w.text]
    return out


def test_a_tap_on_a_service_prints_its_ticket_over_tcp(
    open_ui: OpenUI, printer: VirtualPrinter
) -> None:
    d = open_ui()
    assert d.current == "idle"
    to_services(d)
    ticket = take(d, "etat-civil")
    assert ticket.state == "printed"
    assert ticket.label == "A900"
    assert ticket.ids.number.text == "A900"
    printed = printer.wait_for_tickets(1, PATIENCE)
    assert printer.printed[0].headline == "A900"
    assert "État civil" in printer.printed[0].text_lines()
    with Image.open(printed[0]) as png:
        assert png.height > 200 and len(png.getcolors(1 << 16) or []) >= 2
    d.tap(ticket.ids.done)
    assert d.wait_until(lambda: d.current == "idle")


def test_paper_out_shows_the_number_and_what_to_do(
    open_ui: OpenUI, printer: VirtualPrinter, tmp_path: Path
) -> None:
    printer.simulate("paper_out")
    d = open_ui()
    to_services(d)
    ticket = take(d, "ccas")
    assert ticket.state == "failed"
    assert ticket.ids.number.text == "D900"
    assert "papier" in ticket.ids.status_text.text
    assert "accueil" in ticket.ids.status_text.text
    assert printer.tickets == []
    rt = d.runtime
    result = d.app.last_result
    assert result is not None and result.ticket is not None
    assert rt.journal.print_state(result.ticket.ticket) is PrintState.FAILED
    assert rt.health()["printer"] == "paper_out"
    assert d.app.printer_state == "paper_out"
    assert d.app.dot is not None and tuple(d.app.dot.ring) == T.DOT["error"]
    shot = d.screenshot(tmp_path / "fault.png")
    with Image.open(shot) as png:
        assert png.size == (1024, 600)


def test_a_failed_print_is_printed_again_with_the_same_number_not_a_new_ticket(
    open_ui: OpenUI, printer: VirtualPrinter
) -> None:
    """GIVEN a ticket whose print failed (paper out) WHEN the paper is back and the person taps
    "print it again" THEN the same number prints, marked as a copy, with the people ahead as
    the screen said: no second ticket queues them behind their own first one."""
    printer.simulate("paper_out")
    d = open_ui()
    to_services(d)
    ticket = take(d, "ccas")
    assert ticket.state == "failed"
    assert ticket.ids.reprint.opacity == 1
    printer.simulate(None)
    d.tap(ticket.ids.reprint)
    assert d.wait_until(lambda: ticket.state == "printed", PATIENCE)
    printer.wait_for_tickets(1, PATIENCE)
    lines = printer.printed[0].text_lines()
    assert printer.printed[0].headline == "D900"
    assert "*** DUPLICATA ***" in lines
    assert "Personnes avant vous : 0" in lines
    issued = [e for e in d.runtime.journal.outbox() if e.kind is EventKind.TICKET_ISSUED]
    assert [e.data["label"] for e in issued] == ["D900"]
    result = d.app.last_result
    assert result is not None and result.ticket is not None
    assert d.runtime.journal.print_state(result.ticket.ticket) is PrintState.PRINTED
    assert ticket.ids.reprint.opacity == 0


def test_an_unreadable_printer_status_is_shown_to_staff(
    open_ui: OpenUI, printer: VirtualPrinter
) -> None:
    """GIVEN a printer whose status answers cannot be read (a serial speed mismatch looks like
    this) WHEN a ticket is taken THEN it is not printed, and staff see it as a fault: the red
    ring, and the banner telling visitors their number will be on screen."""
    printer.simulate("garbled")
    d = open_ui()
    to_services(d)
    ticket = take(d, "ccas")
    assert ticket.state == "failed"
    assert d.app.printer_state == "unknown"
    assert d.runtime.health()["printer_error_id"] == "printer.unknown.garbled"
    assert d.app.dot is not None and tuple(d.app.dot.ring) == T.DOT["error"]
    d.tap(ticket.ids.done)
    to_services(d)
    assert "imprimante" in d.screen("services").banner_text


def test_paper_near_end_is_reported_to_staff_only(open_ui: OpenUI, printer: VirtualPrinter) -> None:
    printer.simulate("paper_near_end")
    d = open_ui()
    to_services(d)
    ticket = take(d, "etat-civil")
    assert ticket.state == "printed"
    assert d.runtime.health()["printer"] == "paper_near_end"
    assert d.app.dot is not None and tuple(d.app.dot.ring) == T.DOT["offline"]
    d.tap(ticket.ids.done)
    to_services(d)
    assert d.screen("services").banner_text == ""


def test_a_closed_service_says_when_it_opens_and_issues_nothing(
    open_ui: OpenUI, printer: VirtualPrinter
) -> None:
    d = open_ui()
    to_services(d)
    card = d.card("urbanisme")
    assert card.available is False
    assert "demain" in card.detail
    d.tap(card)
    d.frames(3)
    assert d.current == "services"
    banner = d.screen("services").banner_text
    assert "Urbanisme" in banner
    assert "Prochaine ouverture\u00a0: demain à 9\u00a0h\u00a000" in banner
    assert d.runtime.journal.outbox() == []


def test_long_wait_offers_a_quieter_time_and_a_booking_qr_code(
    open_ui: OpenUI, printer: VirtualPrinter, tmp_path: Path
) -> None:
    """GIVEN four people waiting for passports (48 min) WHEN a fifth touches passports THEN
    the kiosk warns before printing, shows a QR code of the booking page that a reader
    decodes from the screen with the reception desk for people without a smartphone, and
    prints only after "take a ticket anyway"."""
    import zxingcpp

    d = open_ui()
    for _ in range(4):
        d.runtime.core.take_number("passeports", None, "fr")
    to_services(d)
    d.tap(d.card("passeports"))
    assert d.wait_until(lambda: d.current == "longwait")
    screen = d.screen("longwait")
    assert "48 min" in screen.headline
    assert printer.tickets == []
    shot = d.screenshot(tmp_path / "longwait.png")
    with Image.open(shot) as png:
        found = zxingcpp.read_barcodes(png.convert("L"))
    assert [r.text for r in found] == ["https://mairie-saint-exemple.fr/rendez-vous"]
    no_phone = screen.ids.no_phone
    assert no_phone.text == "Pas de smartphone\u00a0? L'accueil peut réserver pour vous."
    assert no_phone.opacity == 1 and no_phone.height > 0
    d.tap(screen.ids.anyway)
    ticket = d.screen("ticket")
    assert d.wait_until(lambda: d.current == "ticket" and ticket.state == "printed", PATIENCE)
    assert ticket.label == "B904"


def test_switching_language_changes_every_label(open_ui: OpenUI) -> None:
    """GIVEN every screen filled in French WHEN the visitor picks English and the same screens
    are filled again THEN no label shows its French text any more (except names that are the
    same in both languages: the site, the number, the language names)."""
    d = open_ui()
    core = d.runtime.core
    for _ in range(4):
        core.take_number("passeports", None, "fr")
    _, issued = core.take_number("etat-civil", "age", "fr")
    from kiosk.core import IssueResult, Outcome

    def fill() -> dict[int, str]:
        d.app.go("priority")
        d.settle()
        d.screen("longwait").show(core.status("passeports"), core.now_local())
        d.screen("ticket").show_number(IssueResult(Outcome.PRINTED, issued))
        d.app.priority = "age"
        d.app.refresh()
        d.frames(3)
        return {id(w): w.text for w in labels(d)}

    french = fill()
    d.app.priority = None
    d.app.go("services")
    d.settle()
    d.tap(d.screen("services").ids.languages.children[0])  # the "English" button
    assert d.app.lang == "en"
    english = fill()
    assert issued is not None
    same_everywhere = {"Mairie de Saint-Exemple", "Français", "English", issued.label, "Urbanisme"}
    unchanged = [
        text
        for key, text in french.items()
        if english.get(key) == text
        and text not in same_everywhere
        and not re.fullmatch(r"\d+ min", text)  # "12 min" reads the same in both
    ]
    assert unchanged == []
    assert "Choose your service" in english.values()
    assert "Touch the screen to take a ticket" in english.values()


SCREEN_OF_STEP = {
    "idle": "idle",
    "services": "services",
    "priority": "priority",
    "services-priority": "services",
    "longwait": "longwait",
    "ticket": "ticket",
    "checkin": "checkin",
    "services-printer-fault": "services",
    "printer-fault": "ticket",
}


@pytest.mark.parametrize("size", [(1024, 600), (1920, 1080), (600, 1024)])
def test_every_screen_keeps_targets_and_text_large_enough(
    open_ui: OpenUI, printer: VirtualPrinter, tmp_path: Path, size: tuple[int, int]
) -> None:
    """On every screen of the tour: each touchable thing is at least 2 cm (136 design px) on
    its smaller side, no text is under 24 design px, and nothing touchable leaves the window."""
    from kivy.uix.behaviors import ButtonBehavior
    from kivy.uix.label import Label

    d = open_ui(size)
    for _ in range(4):
        d.runtime.core.take_number("passeports", None, "fr")
    scale = T.scale_for(*size)
    problems: list[str] = []
    seen: list[str] = []

    def visible(w: Any) -> bool:
        while w is not None:
            if w.opacity == 0 or w.width <= 1 or w.height <= 1:
                return False
            w = w.parent if w.parent is not w else None
        return True

    def check(name: str) -> None:
        d.settle()
        seen.append(name)
        screen = d.screen(d.current)
        for w in screen.walk():
            if not visible(w):
                continue
            if isinstance(w, ButtonBehavior) and not w.disabled:
                side = min(w.size) / scale
                if side < T.TOUCH - 0.5:
                    problems.append(f"{name}: {type(w).__name__} {w.size} under 2 cm")
                x, y = w.to_window(w.x, w.y)
                if x < -1 or y < -1 or x + w.width > size[0] + 1 or y + w.height > size[1] + 1:
                    problems.append(f"{name}: {type(w).__name__} outside the window")
            if isinstance(w, Label) and w.text and w.font_size / scale < T.MIN_FONT - 0.01:
                problems.append(f"{name}: text {w.text!r} at {w.font_size / scale:.0f} px")
        d.screenshot(tmp_path / f"{name}.png")
        if d.current != SCREEN_OF_STEP[name]:
            problems.append(f"{name}: on screen {d.current!r}")

    tour(d, check, printer.simulate)
    assert seen == list(SCREEN_OF_STEP)
    assert problems == []
    with Image.open(tmp_path / "services.png") as png:
        assert png.size == size
        assert len(png.getcolors(1 << 20) or []) > 20  # drawn, not a blank window


def test_no_number_left_sends_the_person_to_the_desk(
    open_ui: OpenUI, printer: VirtualPrinter
) -> None:
    d = open_ui(device_id="kiosk-annexe")  # not in the site file: no offline range
    to_services(d)
    d.tap(d.card("etat-civil"))
    ticket = d.screen("ticket")
    assert d.wait_until(lambda: d.current == "ticket" and ticket.state == "error", PATIENCE)
    assert ticket.ids.number.text == "—"
    assert "accueil" in ticket.ids.status_text.text
    assert printer.tickets == []
