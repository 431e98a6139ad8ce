"""A press the server answers with a ticket the board has not heard of yet.

Found by the chaos run: a kiosk's ticket reaches the server; before the board pulls it, an
agent presses NEXT and the server calls it. The server's answer carried the call (and the
ticket's view), but the board folded the call against its own events, where the ticket did
not exist yet: the call was dropped. The counter's display showed "---", nothing was announced,
and the person was never called. Now the answer carries the ticket's TicketIssued too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from config.server import ServerSettings
from display.core import BoardCore, CallView
from display.protocol import Action, Press
from server.run import ServerThread
from tests.server.helpers import SITE, DeviceClock, site_config
from tickets.journal import Journal
from tickets.sync import SyncClient


@pytest.fixture
def board(tmp_path: Path) -> Iterator[tuple[BoardCore, list[CallView]]]:
    cfg = site_config()
    with ServerThread(ServerSettings(database_url=f"sqlite:///{tmp_path}/s.db")) as server:
        tokens = server.load_site(cfg)
        journal = Journal(tmp_path / "board.sqlite3", SITE, "board-a")
        action = SyncClient(server.url, tokens["board-a"], "board-a")
        core = BoardCore(cfg.to_domain(), journal, client=action)
        shown: list[CallView] = []
        core.on_calls = shown.extend
        kiosk = SyncClient(server.url, tokens["kiosk-a"], "kiosk-a")
        kiosk.sync(0, [DeviceClock("kiosk-a").issued(1)], [], "")
        yield core, shown
        for c in (kiosk, action):
            c.session.close()
        journal.close()


def test_a_call_of_a_ticket_the_board_has_not_pulled_yet_is_shown_and_announced(
    board: tuple[BoardCore, list[CallView]],
) -> None:
    core, shown = board
    outcome = core.press(Press("1", Action.NEXT))
    assert outcome.decided_by == "server"
    assert outcome.ticket == "A001"
    assert [c.ticket for c in shown] == ["A001"]
