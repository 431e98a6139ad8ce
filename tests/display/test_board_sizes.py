"""The board for sites of 1 to 16 services with long names, in both orientations: the history
keeps its size (docs/display.md "Legibility"), service names stay whole inside their cards, and
every service takes its turn on the band."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import pytest

from config.loader import load_model
from config.site import SiteConfig
from display.protocol import Action, Press
from display.runtime import build_board
from display.selftest import LANDSCAPE, PORTRAIT, BoardDriver
from tests.conftest import PATIENCE
from tests.display.helpers import Kiosk, board_settings
from tests.sites import big_site

pytestmark = pytest.mark.kivy

COUNTS = [1, 5, 9, 12, 16]
HISTORY_FONT = 76
"""Tickets in the history, in pixels at 1080p (docs/display.md)."""
CALL_FONT = 330
"""The latest call's ticket, in pixels at 1080p."""
CALL_FONT_MIN = 280
"""Its smallest size, in portrait with two rows of services (docs/display.md)."""


def texts_inside(card: Any) -> list[str]:
    """Problems of the card's labels: a drawn text leaving the card, a word cut in two, a
    text shortened with an ellipsis."""
    from kivy.uix.label import CoreLabel, Label  # CoreLabel: shapes Arabic once installed

    problems = []
    x0, y0 = card.to_window(card.x, card.y)
    for w in card.walk(restrict=True):
        if not isinstance(w, Label) or not w.text.strip() or w.opacity == 0:
            continue
        tw, th = w.texture_size
        cx, cy = w.to_window(w.center_x, w.center_y)
        if cx - tw / 2 < x0 - 1 or cx + tw / 2 > x0 + card.width + 1:
            problems.append(f"{w.text!r} leaves its card sideways")
        if cy - th / 2 < y0 - 1 or cy + th / 2 > y0 + card.height + 1:
            problems.append(f"{w.text!r} leaves its card vertically")
        core = CoreLabel(text=w.text, font_size=w.font_size, bold=w.bold)
        if w.shorten and core.get_extents(core.text)[0] > w.width + 0.5:
            problems.append(f"{w.text!r} is shortened")
        if max(core.get_extents(word)[0] for word in core.text.split()) > w.width + 0.5:
            problems.append(f"{w.text!r}: a word is cut at {w.font_size:.0f} px")
    return problems


def rows_shown(history: Any, count: int) -> bool:
    return sum(1 for r in history.ids.rows.children if r.ticket) == count


@pytest.mark.parametrize("size", [LANDSCAPE, PORTRAIT], ids=["landscape", "portrait"])
def test_history_keeps_its_size_and_names_stay_whole_for_1_to_16_services(
    tmp_path: Path, drivers: list[BoardDriver], size: tuple[int, int]
) -> None:
    """GIVEN sites of 1, 5, 9, 12 and 16 services with long names, people waiting in each and
    six calls made WHEN the board shows them THEN the history tickets keep the same size
    whatever the number of services, the latest call stays within its stated sizes, every
    card's texts stay whole inside it (no word cut, nothing shortened), and each service is on
    one page of the band."""
    fonts: dict[int, float] = {}
    numbers: dict[int, float] = {}
    problems: list[str] = []
    for n in COUNTS:
        site_file = big_site(tmp_path / f"site-{n}.toml", n)
        board = build_board(board_settings(tmp_path / f"b{n}", site_file=site_file, history=6))
        site = load_model(SiteConfig, site_file).to_domain()
        kiosk = Kiosk(site)
        board.journal.store_remote([kiosk.issue(f"s{i % n + 1}") for i in range(2 * n + 8)])
        core = board.core
        assert core is not None
        core.resync()
        for k in range(7):
            core.press(Press(str(k % n + 1), Action.NEXT))
        d = BoardDriver(board, size)
        drivers.append(d)
        screen = d.app.board_screen
        history, band = screen.ids.history, screen.ids.services
        assert d.wait_until(partial(rows_shown, history, 6), PATIENCE)
        d.frames(10)
        rows = history.ids.rows.children
        fonts[n] = min(r.children[-1].font_size for r in rows)  # the ticket labels
        numbers[n] = screen.ids.call.ids.ticket.font_size
        assert band.pages == -(-n // 4)
        band._turn.cancel()  # the pages turn by the test's hand, not every 8 s
        seen: list[str] = []
        for page in range(int(band.pages)):
            d.frames(10)
            cards = list(reversed(band.ids.cards.children))
            seen += [c.name for c in cards]
            for card in cards:
                problems += [f"{n} services, page {page + 1}: {p}" for p in texts_inside(card)]
            d.screenshot(tmp_path / f"board-{n}-{size[0]}x{size[1]}-p{page + 1}.png")
            band.next_page()
        assert len(seen) == n and len(set(seen)) == n
    assert problems == []
    assert len(set(fonts.values())) == 1, fonts  # the same size whatever the number of services
    scale = min(size) / 1080
    assert fonts[16] >= HISTORY_FONT * scale * 0.99, fonts  # min(76 px, 72 % of a row)
    # The latest call: 330 px, or 284 px in portrait once the band needs its second row.
    assert all(CALL_FONT_MIN * scale <= f <= CALL_FONT * scale for f in numbers.values()), numbers
    if size == LANDSCAPE:
        assert set(numbers.values()) == {CALL_FONT * scale}, numbers
