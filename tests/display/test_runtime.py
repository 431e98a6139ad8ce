"""The board's wiring without a screen: no site yet, a site from the server, the periodic full
resync from the journal, the health report."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from config.loader import load_model
from config.site import SiteConfig
from display.core import CallView
from display.runtime import build_board
from display.virtual import VirtualButtonBox
from tests.conftest import PATIENCE
from tests.display.helpers import SITE_FILE, Kiosk, board_settings, wait_until
from tickets.events import EventKind, new_event
from tickets.hlc import HybridClock
from tickets.model import Site


class Screen:
    def __init__(self) -> None:
        self.calls: list[CallView] = []
        self.changes = 0
        self.statuses = 0

    def board_calls(self, calls: list[CallView]) -> None:
        self.calls.extend(calls)

    def board_changed(self) -> None:
        self.changes += 1

    def board_status(self) -> None:
        self.statuses += 1


def test_without_a_site_presses_are_refused_until_the_server_sends_one(
    tmp_path: Path, site: Site, kiosk: Kiosk
) -> None:
    box = VirtualButtonBox()
    board = build_board(board_settings(tmp_path, site_file=None, buttons={"ports": [box.path]}))
    screen = Screen()
    board.listener = screen
    board.start()
    try:
        assert wait_until(lambda: board.buttons.state.value == "connected")
        box.press("1", "next")
        assert box.wait_for("1 ERR NOTREADY", timeout=PATIENCE)
        assert board.health()["site_loaded"] is False

        board.on_sync_config({"site": {"id": "mairie"}}, "broken")  # refused, logged
        assert board.core is None

        config = load_model(SiteConfig, SITE_FILE).model_dump(mode="json")
        board.on_sync_config(config, "v1")
        assert board.core is not None and screen.changes >= 1
        board.journal.store_remote([kiosk.issue("etat-civil")])
        board.core.resync()
        box.press("1", "next")
        assert box.wait_for("1 SHOW A001", timeout=PATIENCE)
        assert wait_until(lambda: [c.ticket for c in screen.calls] == ["A001"])
    finally:
        board.stop()
        box.close()


def test_the_periodic_resync_catches_events_that_bypassed_the_board(
    tmp_path: Path, site: Site, kiosk: Kiosk
) -> None:
    """GIVEN events stored in the journal without the board being told (a lost push)
    WHEN the resync interval passes THEN the board shows them, and announces the fresh call."""
    board = build_board(board_settings(tmp_path, server={"resync_interval_seconds": 0.2}))
    screen = Screen()
    board.listener = screen
    board.start()
    try:
        # The call comes after the ticket's issue, in hybrid-clock order as on a real site.
        issued = kiosk.issue("passeports")
        clock = HybridClock("server")
        clock.receive(issued.hlc)
        ts = clock.now()
        call = new_event(
            EventKind.TICKET_CALLED,
            site=site.id,
            device="server",
            hlc=ts,
            wall_time=ts.seconds,
            ticket="passeports-1",
            counter="3",
        )
        board.journal.store_remote([issued, call])
        core = board.core
        assert core is not None
        assert wait_until(lambda: core.counter_ticket("3") == "B001")
        assert wait_until(lambda: [c.ticket for c in screen.calls] == ["B001"])
    finally:
        board.stop()


def test_health_reports_buttons_audio_sync_and_version(tmp_path: Path) -> None:
    board = build_board(board_settings(tmp_path, buttons={"ports": [str(tmp_path / "none")]}))
    board.start()
    try:
        assert wait_until(lambda: board.health()["buttons"] == "disconnected")
        health = board.health()
        assert health["audio"] == "disabled"
        assert health["sync"] == "standalone"
        assert health["version"] not in ("", None)
        assert health["site_loaded"] is True
        assert health["decided_locally"] == 0
        assert health["clock_offset_seconds"] is None, "never measured: no server"
        board.journal.adjust_clock(600.0)
        assert board.health()["clock_offset_seconds"] == 600.0
    finally:
        board.stop()


def test_garbled_lines_and_unknown_counters_through_a_real_serial_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN a board reading a button box on a pseudo-terminal WHEN the box sends garbled lines
    that start with a counter (a byte that is not ASCII, a control character, a line longer
    than the protocol allows) THEN each gets ``<counter> ERR BADLINE`` and a good press after
    them is still answered; WHEN a box set up for a counter the site lacks presses a thousand
    times THEN each press is answered ERR UNKNOWNCOUNTER but the log gets one warning per
    few seconds, not one per press."""
    box = VirtualButtonBox()
    board = build_board(board_settings(tmp_path, buttons={"ports": [box.path]}))
    board.start()
    try:
        assert wait_until(lambda: board.buttons.state.value == "connected")
        garbled = [b"5 OPEN \xc3(", b"5 OPEN\x01", b"5 \xff", b"5 NEXT " + b"x" * 5000]
        for line in garbled:
            box.send(line + b"\n")
        box.press("1", "next")
        assert box.wait_for("1 SHOW ---", PATIENCE)
        assert box.received == ["5 ERR BADLINE"] * len(garbled) + ["1 ERR EMPTY", "1 SHOW ---"]
        answered = len(box.received)

        presses, batch = 1000, 20  # batches within the answers' outbox (a box reads them)
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="display.core"):
            for sent in range(batch, presses + 1, batch):
                box.send(b"99 NEXT\n" * batch)
                assert wait_until(lambda n=sent: len(box.received) == answered + n)
        elapsed = time.monotonic() - started
        assert box.received[-presses:] == ["99 ERR UNKNOWNCOUNTER"] * presses
        warned = [r for r in caplog.records if "unknown counter" in r.getMessage()]
        # the first press, then one every 5 s at most, however slow the machine was
        assert 1 <= len(warned) <= 2 + elapsed / 5.0, (len(warned), elapsed)
    finally:
        board.stop()
        box.close()
