"""The board of a site whose first language is Arabic: shaped text reaches its labels, its rows
mirror, the ticket numbers stay left to right, every card's texts stay inside the card."""

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
from tests.display.test_board_sizes import rows_shown, texts_inside
from tests.sites import ARABIC_NAMES, multilingual_site
from tickets import rtl

pytestmark = pytest.mark.kivy
PRESENTATION_FORMS = range(0xFE70, 0xFF00)


def shaped(label: Any) -> bool:
    return any(ord(c) in PRESENTATION_FORMS for c in label._label.text)


@pytest.mark.parametrize("size", [LANDSCAPE, PORTRAIT], ids=["landscape", "portrait"])
def test_an_arabic_board_is_shaped_and_mirrored(
    tmp_path: Path, drivers: list[BoardDriver], size: tuple[int, int]
) -> None:
    site_file = multilingual_site(tmp_path / "site.toml", ["ar", "fr"])
    board = build_board(board_settings(tmp_path / "b", site_file=site_file, history=6))
    site = load_model(SiteConfig, site_file).to_domain()
    kiosk = Kiosk(site)
    board.journal.store_remote([kiosk.issue(f"s{i % 5 + 1}") for i in range(14)])
    core = board.core
    assert core is not None
    core.resync()
    for k in range(7):
        core.press(Press(str(k % 5 + 1), Action.NEXT))
    d = BoardDriver(board, size)
    drivers.append(d)
    screen = d.app.board_screen
    history, band, call = screen.ids.history, screen.ids.services, screen.ids.call
    assert d.wait_until(partial(rows_shown, history, 6), PATIENCE)
    band._turn.cancel()
    d.frames(10)
    assert d.app.rtl
    # The headings: Arabic first, shaped; French beside it, as it is.
    assert call.ids.heading.text == "النداء الحالي" and shaped(call.ids.heading)
    assert call.ids.heading_2.text == "Appel en cours"
    assert call.ids.heading.x > call.ids.heading_2.x  # Arabic starts at the right
    # The latest call: its number and counter as they are, left to right.
    assert call.ids.ticket._label.text == call.ticket and call.ticket[0] in "ABCDE"
    # History rows mirror: the ticket on the right, the counter on the left.
    row = history.ids.rows.children[-1]  # the first row
    ticket_label, counter_label = row.children[-1], row.children[-2]
    assert ticket_label.text[0] in "ABCDE" and ticket_label._label.text == ticket_label.text
    assert ticket_label.x > counter_label.x
    # Service cards: the first on the right, its letter right of its Arabic name.
    cards = list(reversed(band.ids.cards.children))
    assert cards[0].name == ARABIC_NAMES[0]
    assert cards[0].right == max(c.right for c in cards)
    name_label = cards[0].children[0].children[-1]
    assert name_label.text == ARABIC_NAMES[0] and shaped(name_label)
    assert name_label._label.text == rtl.shape(ARABIC_NAMES[0])
    assert cards[0].children[-1].x > cards[0].children[0].x  # the letter badge on the right
    assert [p for c in cards for p in texts_inside(c)] == []
    assert shaped(screen.ids.date)
    d.screenshot(tmp_path / f"board-ar-{size[0]}x{size[1]}.png")
