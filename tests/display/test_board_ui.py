"""The board on screen (Kivy under Xvfb): a button line on a serial port shows the ticket at the
counter, big and flashing; both orientations; the staff dots; the keyboard of the virtual box.

Screenshots go to the test's temporary folder; the documentation's are made by
``python -m display.gallery``.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from config.display import DisplaySettings
from display.protocol import Action
from display.runtime import Board, build_board
from display.selftest import PORTRAIT, BoardDriver
from display.virtual import VirtualButtonBox
from tests.conftest import PATIENCE
from tests.display.helpers import SITE_FILE, Kiosk, board_settings
from tickets.journal import Journal
from tickets.model import Site

pytestmark = pytest.mark.kivy


@pytest.fixture
def box() -> Iterator[VirtualButtonBox]:
    b = VirtualButtonBox()
    yield b
    b.close()


@pytest.fixture
def drive(tmp_path: Path) -> Iterator[Any]:
    drivers: list[BoardDriver] = []

    def make(board: Board, size: tuple[int, int] = (1920, 1080)) -> BoardDriver:
        d = BoardDriver(board, size)
        drivers.append(d)
        return d

    yield make
    for d in drivers:
        d.close()


def fill(journal: Journal, kiosk: Kiosk) -> None:
    journal.store_remote([kiosk.issue("etat-civil") for _ in range(6)])
    journal.store_remote([kiosk.issue("passeports") for _ in range(3)])
    journal.store_remote([kiosk.issue("ccas")])


def share(img: Image.Image, box: tuple[int, int, int, int], rgb: tuple[int, int, int]) -> float:
    """Share of the pixels of ``box`` within a few levels of ``rgb``."""
    data = img.convert("RGB").crop(box).tobytes()
    pixels = [data[i : i + 3] for i in range(0, len(data), 3)]
    near = sum(1 for p in pixels if all(abs(a - b) <= 6 for a, b in zip(p, rgb, strict=True)))
    return near / len(pixels)


def boxed_board(
    tmp_path: Path, kiosk: Kiosk, box: VirtualButtonBox, drive: Any, **settings: Any
) -> BoardDriver:
    """A board on screen with tickets waiting and ``box`` on its serial port, connected."""
    board = build_board(board_settings(tmp_path, buttons={"ports": [box.path]}, **settings))
    fill(board.journal, kiosk)  # type: ignore[arg-type]
    board.core.resync()  # type: ignore[union-attr]
    d: BoardDriver = drive(board)
    assert d.wait_until(lambda: board.buttons.state.value == "connected", PATIENCE)
    return d


def test_a_button_line_on_the_serial_port_shows_the_ticket_at_the_counter(
    tmp_path: Path, site: Site, kiosk: Kiosk, box: VirtualButtonBox, drive: Any
) -> None:
    """GIVEN tickets waiting and a button box on a serial port (a pseudo-terminal)
    WHEN counter 3 sends "3 NEXT" THEN the board shows B001 → Guichet 3 big and flashing,
    the box's display gets "3 SHOW B001", and the previous call moves to the history."""
    d = boxed_board(tmp_path, kiosk, box, drive)
    box.send(b"1 NEXT\n")
    assert d.wait_until(lambda: d.shows("A001", "Guichet 1"), PATIENCE)
    box.send(b"3 NEXT\n")
    assert d.wait_until(lambda: d.shows("B001", "Guichet 3"), PATIENCE)
    assert box.wait_for("3 SHOW B001", timeout=PATIENCE)
    assert d.call.flash is True
    assert d.call.service == "Passeports et cartes d'identité"
    history = d.app.board_screen.ids.history.ids.rows.children[::-1]
    assert (history[0].ticket, history[0].counter) == ("A001", "Guichet 1")
    assert [c.ticket for c in d.app.shown_calls] == ["A001", "B001"]

    d.hold_flash(True)
    with Image.open(d.screenshot(tmp_path / "call.png")) as shot:
        shot.load()
    assert shot.size == (1920, 1080)
    accent = (0xFF, 0xC2, 0x0E)
    call_panel = d.call
    x, y, w, h = (int(v) for v in (*call_panel.pos, *call_panel.size))
    top = 1080 - (y + h)  # Kivy counts from the bottom, images from the top
    assert share(shot, (x, top, x + w, top + h), accent) > 0.5  # lit, with the number on it
    assert share(shot, (x, top, x + w, top + h), (0x0B, 0x1F, 0x3A)) > 0.08  # dark digits


def test_a_call_ended_while_it_blinks_leaves_the_welcome_on_the_panel_colour(
    tmp_path: Path, site: Site, kiosk: Kiosk, box: VirtualButtonBox, drive: Any
) -> None:
    """GIVEN counter 3's call still blinking WHEN counter 3 sends "3 DONE" THEN the panel
    shows the welcome at once on its own colour, no longer blinking (the welcome's light text
    on the accent colour could not be read)."""
    d = boxed_board(tmp_path, kiosk, box, drive, flash_seconds=60)
    box.send(b"3 NEXT\n")
    assert d.wait_until(lambda: d.shows("B001", "Guichet 3"), PATIENCE)
    assert d.app._flash_event is not None  # blinking, for the next minute

    box.send(b"3 DONE\n")
    assert d.wait_until(lambda: d.call.ticket == "", PATIENCE)
    assert d.call.flash is False and d.app._flash_event is None
    d.frames(3)
    with Image.open(d.screenshot(tmp_path / "welcome-after-done.png")) as shot:
        shot.load()
    x, y, w, h = (int(v) for v in (*d.call.pos, *d.call.size))
    top = 1080 - (y + h)
    assert share(shot, (x, top, x + w, top + h), (0xFF, 0xC2, 0x0E)) < 0.01  # no accent
    assert d.call.ids.idle_title.opacity == 1


def test_portrait_puts_the_call_above_the_history(
    tmp_path: Path, site: Site, kiosk: Kiosk, drive: Any
) -> None:
    board = build_board(board_settings(tmp_path, history=8))
    fill(board.journal, kiosk)  # type: ignore[arg-type]
    core = board.core
    assert core is not None
    core.resync()
    from display.protocol import Press

    for counter in ("1", "2", "3", "4", "5", "1", "2"):
        core.press(Press(counter, Action.NEXT))
    d = drive(board, PORTRAIT)
    assert d.wait_until(lambda: d.call.ticket == "A005", PATIENCE)
    assert d.app.portrait
    screen = d.app.board_screen
    call, history = screen.ids.call, screen.ids.history
    assert call.y > history.top - 1  # above
    assert call.width == pytest.approx(history.width)
    rows = [r.ticket for r in history.ids.rows.children[::-1] if r.ticket]
    assert rows == ["A004", "D001", "A003", "B001", "A002", "A001"]
    with Image.open(d.screenshot(tmp_path / "portrait.png")) as shot:
        assert shot.size == PORTRAIT


def test_the_sync_dot_turns_offline_colour_when_the_server_does_not_answer(
    tmp_path: Path, site: Site, drive: Any
) -> None:
    with socket.socket() as s:  # a loopback port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = board_settings(
        tmp_path,
        server={"url": f"http://127.0.0.1:{port}", "token": "t", "sync_interval_seconds": 0.2},
    )
    board = build_board(settings)
    d = drive(board)
    offline = [int(settings.colours.offline[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    assert d.wait_until(lambda: board.sync_state == "offline", PATIENCE)
    assert d.wait_until(lambda: list(d.app.board_screen.sync_colour[:3]) == offline, PATIENCE)
    assert board.health()["sync"] == "offline"
    assert board.health()["buttons"] == "not configured"
    d.screenshot(tmp_path / "offline.png")


def test_the_keyboard_drives_the_virtual_box_and_escape_does_not_quit(
    tmp_path: Path, site: Site, kiosk: Kiosk, drive: Any
) -> None:
    from kivy.base import EventLoop

    board = build_board(board_settings(tmp_path, buttons={"virtual": True}))
    fill(board.journal, kiosk)  # type: ignore[arg-type]
    board.core.resync()  # type: ignore[union-attr]
    d = drive(board)
    assert d.wait_until(lambda: board.buttons.state.value == "connected", PATIENCE)
    d.key("5")
    d.key("n")
    assert d.wait_until(lambda: d.shows("D001", "Bureau CCAS"), PATIENCE)
    assert board.virtual is not None and board.virtual.wait_for("5 SHOW D001", timeout=PATIENCE)
    from kivy.core.window import WindowBase

    # The board switched Escape off (checked first: a live Escape would end this test run).
    assert WindowBase.on_keyboard.exit_on_escape is False
    status = EventLoop.status
    d.window.dispatch("on_keyboard", 27, 9, None, [])  # Escape
    d.frames(2)
    assert (EventLoop.status, EventLoop.stopping) == (status, False)
    assert d.app.root in d.window.children


def test_without_a_site_yet_the_board_waits_on_a_standby_screen(tmp_path: Path, drive: Any) -> None:
    board = build_board(board_settings(tmp_path, site_file=None))
    d = drive(board)
    assert d.app.root.current == "standby"
    d.screenshot(tmp_path / "standby.png")


def test_the_selftest_presses_through_a_virtual_box_and_saves_each_screen(
    tmp_path: Path, site: Site, kiosk: Kiosk
) -> None:
    from display.selftest import run_selftest

    journal = Journal(tmp_path / "board.sqlite3", site.id, "board-salle")
    journal.store_remote([kiosk.issue("passeports")])
    journal.close()
    cfg = tmp_path / "display.toml"
    cfg.write_text(
        'role = "display"\nsite = "mairie"\ndevice_id = "board-salle"\n'
        f'journal_path = "{tmp_path / "board.sqlite3"}"\nsite_file = "{SITE_FILE}"\n'
        f'[audio]\nenabled = false\ncache_dir = "{tmp_path / "audio"}"\n'
    )
    out = tmp_path / "shots"
    assert run_selftest(cfg, out, ["3 NEXT", "3 RECALL", "3 DONE"]) is True
    assert sorted(p.name for p in out.iterdir()) == [
        "board-01-3-next.png",
        "board-02-3-recall.png",
        "board-03-3-done.png",
    ]
    # Nobody waits any more: a NEXT shows no call, and the self-test says so.
    assert run_selftest(cfg, out, ["2 NEXT"]) is False


def test_the_configured_logo_is_shown_left_of_the_site_name(tmp_path: Path, drive: Any) -> None:
    logo = tmp_path / "logo.png"
    Image.new("RGB", (300, 100), (200, 30, 40)).save(logo)
    d = drive(build_board(board_settings(tmp_path, logo=logo)))
    widget = d.app.board_screen.ids.logo
    assert d.wait_until(lambda: widget.texture is not None and widget.width > 0, PATIENCE)
    assert widget.width == pytest.approx(widget.height * 3, rel=0.05)
    assert widget.right <= d.app.board_screen.ids.site_name.x + 1


def test_a_tv_on_its_side_gets_the_portrait_board_turned(tmp_path: Path, drive: Any) -> None:
    """GIVEN a 1920x1080 output and rotation = 90 THEN the board lays out 1080x1920 portrait,
    drawn turned a quarter: the screenshot, turned back, is the portrait board."""
    d = drive(build_board(board_settings(tmp_path, rotation=90)))
    try:
        assert tuple(d.window.system_size) == (1920, 1080)
        assert tuple(d.window.size) == (1080, 1920)
        assert d.app.portrait
        screen = d.app.board_screen
        assert screen.ids.call.y > screen.ids.history.top - 1
        with Image.open(d.screenshot(tmp_path / "rotated.png")) as shot:
            assert shot.size == (1920, 1080)
    finally:
        d.close()
    from kivy.core.window import Window

    assert Window.rotation == 0  # the next app gets the window as it was


def test_the_longest_message_allowed_scrolls_whole_on_the_band(tmp_path: Path, drive: Any) -> None:
    """GIVEN the longest board message the configuration takes (500 characters; a 5 MB one
    used to abort the board) WHEN the board shows it THEN it is drawn whole on one line and
    scrolls along the band."""
    longest = DisplaySettings.model_fields["message"].metadata[0].max_length
    message = " ".join(f"Avis {n:03d}" for n in range(60))[:longest]
    assert len(message) == longest
    d = drive(build_board(board_settings(tmp_path, message=message)))
    ticker = d.app.board_screen.ids.ticker
    label = ticker.ids.label
    assert d.wait_until(lambda: label.text == message and label.texture_size[0] > 0, PATIENCE)
    width, height = label.texture_size
    assert width > 4 * ticker.width and height < 2 * label.font_size  # one line, whole
    start = ticker.offset
    assert d.wait_until(lambda: ticker.offset < start - 100, PATIENCE)
