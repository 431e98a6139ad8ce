"""Arabic on the kiosk: shaped letters reach the labels, rows mirror, the layout still holds.

Kivy draws one glyph per code point, left to right, in Roboto (no Arabic). tickets/rtl.py,
installed by the app in Kivy's label class, shapes and reorders text holding Arabic and draws
it in DejaVu Sans; the app mirrors its rows and right-aligns its text in a right-to-left visit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kiosk import theme as T
from kiosk.selftest import KioskDriver
from kiosk.widgets import KioskLanguageChooser
from printer.virtual import VirtualPrinter
from tests.conftest import PATIENCE
from tests.kiosk.test_layout import layout_problems
from tests.kiosk.test_screens import take, to_services
from tests.sites import ARABIC_NAMES, multilingual_site
from tickets import rtl

OpenUI = Callable[..., KioskDriver]
PRESENTATION_FORMS = range(0xFE70, 0xFF00)


def five_language_site(path: Path) -> Path:
    """The five-service town hall in French, English, Spanish, Portuguese and Arabic."""
    return multilingual_site(path, ["fr", "en", "es", "pt", "ar"])


def core_text(label: Any) -> str:
    """The text Kivy's renderer was given for ``label`` (after the app's shaping)."""
    return str(label._label.text)


def laid_out_lines(label: Any) -> list[str]:
    """The lines as Kivy broke them (logical order; each is reordered as it is drawn)."""
    return [w.text for line in label._label._cached_lines for w in line.words]


@pytest.mark.kivy
@pytest.mark.parametrize("size", [(1024, 600), (600, 1024)], ids=["1024x600", "600x1024"])
def test_arabic_visit_is_shaped_mirrored_and_still_fits(
    open_ui: OpenUI, printer: VirtualPrinter, tmp_path: Path, size: tuple[int, int]
) -> None:
    """GIVEN a site in five languages WHEN a visitor chooses العربية THEN the services screen's
    labels carry Arabic presentation forms (joined letters), each card's icon is right of its
    wait, the first card is top right, every text stays inside its card, apart from the
    others; the ticket screen keeps the number "A…" left to right; the ticket prints."""
    d = open_ui(size, site_file=five_language_site(tmp_path / "site.toml"))
    idle = d.screen("idle")
    d.settle()
    buttons = list(reversed(idle.ids.languages.children))
    # As many as fit at 1.35 touch targets beside "Listen"; the last button names the others.
    assert buttons[0].text == "Français" and len(buttons) < 5
    named = [name for b in buttons for name in b.text.split(" · ")]
    assert named == ["Français", "English", "Español", "Português", "العربية"]
    d.screenshot(tmp_path / f"idle-{size[0]}x{size[1]}.png")
    d.tap(buttons[-1])
    chooser = next(w for w in d.window.children if isinstance(w, KioskLanguageChooser))
    d.settle()
    choices = list(reversed(chooser.ids.grid.children))
    assert [b.text for b in choices] == ["Français", "English", "Español", "Português", "العربية"]
    assert all(min(b.size) >= T.TOUCH * d.app.scale - 0.5 for b in choices)
    d.screenshot(tmp_path / f"chooser-{size[0]}x{size[1]}.png")
    d.tap(choices[-1])
    assert d.wait_until(lambda: d.current == "services")
    assert d.app.rtl
    d.settle()
    screen = d.screen("services")
    cards = screen.visible_cards()
    first = cards[0]
    assert first.name == ARABIC_NAMES[0]
    name_label = first.ids.name
    shaped = core_text(name_label)
    assert shaped == rtl.shape(ARABIC_NAMES[0])
    assert sum(ord(c) in PRESENTATION_FORMS for c in shaped) > 20
    lines = laid_out_lines(name_label)
    # Broken in logical order, then reordered per line: the top line holds the name's first
    # word, drawn at its right end.
    assert len(lines) > 1 and lines[0].startswith(rtl.shape("جوازات"))
    assert rtl.visual_line(lines[0]).rstrip().endswith(rtl.visual_line(rtl.shape("جوازات")))
    assert name_label.texture is not None and name_label.halign == "right"
    # Rows mirror: the icon sits right of the wait; the first card is the top-right one.
    top_row = first.children[-1]
    icon, badge = top_row.children[-1], top_row.children[-2]
    assert icon.x > badge.x
    assert first.right == max(c.right for c in cards)
    more_icon = cards[-1].children[-1].children[-1].children[0]
    if not cards[-1].service_id:  # "other services": its arrow points the reading way, left
        assert more_icon.name == "next" and more_icon.mirrored
    d.screenshot(tmp_path / f"services-ar-{size[0]}x{size[1]}.png")
    assert layout_problems(d, size) == []

    ticket = take(d, "s5")
    assert ticket.state == "printed"
    assert ticket.ids.number.text == ticket.label and ticket.label.startswith("E")
    assert core_text(ticket.ids.number) == ticket.label  # the number is never reordered
    status = ticket.ids.status_text
    assert any(ord(c) in PRESENTATION_FORMS for c in core_text(status))
    d.screenshot(tmp_path / f"ticket-ar-{size[0]}x{size[1]}.png")
    printed = printer.wait_for_tickets(1, PATIENCE)
    assert printed and printer.printed[0].headline == ticket.label
    assert not any("?" in t for t in printer.printed[0].text_lines())


@pytest.mark.kivy
def test_back_to_french_the_rows_unmirror(open_ui: OpenUI, tmp_path: Path) -> None:
    d = open_ui((1024, 600), site_file=five_language_site(tmp_path / "site.toml"))
    d.app.set_language("ar")
    to_services(d)
    d.settle()
    d.app.end_visit()
    to_services(d)
    d.settle()
    assert not d.app.rtl
    first = d.screen("services").visible_cards()[0]
    top_row = first.children[-1]
    assert top_row.children[-1].x < top_row.children[-2].x
    assert first.ids.name.halign == "left"
