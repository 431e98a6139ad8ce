"""Arabic on the kiosk: shaped letters reach the labels, rows mirror, the layout still holds.

Kivy draws one glyph per code point, left to right, in Roboto (no Arabic). tickets/rtl.py,
installed by the app in Kivy's label class, shapes and reorders text holding Arabic and draws
it in DejaVu Sans; the app mirrors its rows and right-aligns its text in a right-to-left visit.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kiosk import theme as T
from kiosk.selftest import KioskDriver
from kiosk.widgets import KioskLanguageChooser
from printer.virtual import VirtualPrinter
from tests.conftest import PATIENCE
from tests.kiosk.test_layout import layout_problems, overlaps, text_boxes, text_problems
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


def screen_problems(d: KioskDriver, name: str, size: tuple[int, int]) -> list[str]:
    """What ``layout_problems`` checks on the services cards, on any screen: every visible text
    inside the window and inside its button, at least the smallest font, no word cut, no two
    texts overlapping; every button at least a touch target."""
    from kiosk.widgets import KioskButton

    screen = d.screen(name)
    scale = T.scale_for(*size)
    problems: list[str] = []
    boxes = text_boxes(screen)
    for button in screen.walk(restrict=True):
        if isinstance(button, KioskButton) and button.opacity > 0 and button.text:
            if min(button.size) / scale < T.TOUCH - 0.5:
                problems.append(f"button {button.text!r} {button.size} under 2 cm")
            x0, y0 = button.to_window(button.x, button.y)
            for label, (a, b, c, e) in text_boxes(button):
                if (
                    a < x0 - 1
                    or b < y0 - 1
                    or c > x0 + button.width + 1
                    or e > y0 + button.height + 1
                ):
                    problems.append(f"{label.text!r} leaves its button")
    for label, (a, b, c, e) in boxes:
        if a < -1 or b < -1 or c > size[0] + 1 or e > size[1] + 1:
            problems.append(f"{label.text!r} outside the window")
        problems += text_problems(label, scale)
    return problems + overlaps([(label.text, box) for label, box in boxes])


def window_x(widget: Any) -> tuple[float, float]:
    """Left and right edges of ``widget`` in window coordinates."""
    x0, _ = widget.to_window(widget.x, widget.y)
    return x0, x0 + widget.width


@pytest.mark.kivy
def test_arabic_check_in_and_booking_screens_read_right_to_left(
    open_ui: OpenUI, tmp_path: Path
) -> None:
    """GIVEN an Arabic visit at 1024x600 WHEN the check-in keypad opens THEN its prompt is
    right-aligned and right of the code, the keypad fills from the right ("Back" right of
    "Check in" on the bottom row, the first key top right), the code keeps its Latin order and
    nothing overlaps or leaves the window; WHEN booking opens with no server THEN its texts are
    right-aligned, the "Back" button's arrow is right of its text and points right (mirrored,
    still drawn) and nothing overlaps."""
    size = (1024, 600)
    d = open_ui(size, site_file=five_language_site(tmp_path / "site.toml"))
    d.app.set_language("ar")
    to_services(d)
    assert d.app.rtl
    d.app.open_check_in()  # its button shows on sites with appointments; this one has none
    assert d.wait_until(lambda: d.current == "checkin")
    screen = d.screen("checkin")
    d.settle()
    prompt, code = screen.ids.prompt, screen.ids.code
    assert prompt.halign == "right" and has_arabic(core_text(prompt))
    assert window_x(prompt)[0] > window_x(code)[1]  # the row's first element on the right
    keys = list(reversed(screen.ids.keypad.children))  # in the order they were added
    first, back, ok = keys[0], screen.key("back"), screen.key("ok")
    assert first.text == "A"
    assert window_x(first)[1] == max(window_x(k)[1] for k in keys)
    assert window_x(back)[0] > window_x(ok)[1] and back.y == ok.y
    for ch in "ABC":
        d.tap(screen.key(ch))
    assert d.wait_until(lambda: screen.code == "ABC")
    d.settle()
    assert core_text(code) == "ABC·-····"  # Latin: never reordered
    d.screenshot(tmp_path / "checkin-ar-1024x600.png")
    assert screen_problems(d, "checkin", size) == []

    d.tap(back)
    assert d.wait_until(lambda: d.current == "idle")
    d.app.set_language("ar")
    to_services(d)
    service = d.screen("services").visible_cards()[0].service_id
    d.app.open_booking(service, "الانتظار طويل")
    booking = d.screen("booking")
    assert d.wait_until(lambda: booking.state == "offline", PATIENCE)
    d.settle()
    for label in (booking.ids.headline, booking.ids.message):
        assert label.halign == "right" and has_arabic(core_text(label))
    back_button = booking.ids.back
    icon, text = back_button.children[-1], back_button.children[-2]
    assert icon.name == "back" and icon.mirrored and icon.opacity == 1
    assert len(icon.canvas.children) > 0  # drawn: mirroring once made it vanish
    assert window_x(icon)[0] >= window_x(text)[1] - 0.5
    assert text.halign == "right"
    shot = d.screenshot(tmp_path / "booking-ar-1024x600.png")
    # "Back" goes to the reading start: the right, in Arabic.
    assert arrowhead_side(shot, back_button, icon, size) == "right"
    assert screen_problems(d, "booking", size) == []
    keep = os.environ.get("GUICHET_SHOTS")
    if keep:
        for png in tmp_path.glob("*-ar-*.png"):
            shutil.copy(png, Path(keep) / png.name)


def has_arabic(text: str) -> bool:
    return any(ord(c) in PRESENTATION_FORMS for c in text)


def arrowhead_side(shot: Path, button: Any, icon: Any, size: tuple[int, int]) -> str:
    """From the screenshot, which half of the icon's square holds the arrowhead ("left" or
    "right"): the column with the most pixels of the button's text colour (the head is
    taller than the shaft)."""
    from PIL import Image

    side = min(icon.size)
    cx, cy = icon.to_window(icon.center_x, icon.center_y)
    x0, x1 = int(cx - side / 2), int(cx + side / 2)
    y0, y1 = int(size[1] - (cy + side / 2)), int(size[1] - (cy - side / 2))  # image rows go down
    fg = tuple(round(v * 255) for v in button.fg[:3])
    pixels = Image.open(shot).convert("RGB").load()
    assert pixels is not None

    def ink(x: int, y: int) -> bool:
        rgb: tuple[int, int, int] = pixels[x, y]  # type: ignore[assignment]
        return sum(abs(a - b) for a, b in zip(rgb, fg, strict=True)) < 60

    heights = [sum(ink(x, y) for y in range(y0, y1)) for x in range(x0, x1)]
    assert max(heights) > 0, "no arrow drawn"
    tallest = heights.index(max(heights))
    return "left" if tallest < len(heights) / 2 else "right"
