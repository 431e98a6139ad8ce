"""Boards correct themselves: what the screen's "Now calling" panel and a counter's box show
follows the queue when it changes elsewhere, not only at the next press.

The box is the virtual button box, a real pseudo-terminal pair the board reads and writes as it
does a serial port (docs/buttons.md); the board runs without a server (it decides presses
alone) and learns what happened elsewhere as the sync worker hands it events.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from display.runtime import Board, build_board
from display.virtual import VirtualButtonBox
from tests.conftest import PATIENCE
from tests.display.helpers import Kiosk, board_settings, wait_until
from tickets.events import Event, EventKind, new_event
from tickets.hlc import HybridClock, Timestamp
from tickets.model import Site


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Board, VirtualButtonBox]]:
    box = VirtualButtonBox()
    board = build_board(board_settings(tmp_path, buttons={"ports": [box.path]}))
    board.start()
    try:
        assert wait_until(lambda: board.buttons.state.value == "connected")
        yield board, box
    finally:
        board.stop()
        box.close()


def _elsewhere(site: Site, device: str, kind: EventKind, at: Timestamp, **data: Any) -> Event:
    return new_event(kind, site=site.id, device=device, hlc=at, wall_time=at.seconds, **data)


def _learn(board: Board, events: list[Event]) -> None:
    """What the sync worker does with events it pulled."""
    board.journal.store_remote(events)
    board.on_sync_events(events)


def _press(box: VirtualButtonBox, counter: str, action: str, expect: str) -> list[str]:
    """Presses and returns every line the box got for it (the answer ends with ``expect``)."""
    start = len(box.received)
    box.press(counter, action)
    assert box.wait_for(expect, start=start, timeout=PATIENCE), box.received[start:]
    box.send(b"PING\n")
    assert box.wait_for("PONG", start=start, timeout=PATIENCE)
    return [line for line in box.received[start:] if line != "PONG"]


def test_a_call_overruled_as_a_conflict_leaves_the_box_and_the_screen(
    running: tuple[Board, VirtualButtonBox], site: Site, kiosk: Kiosk
) -> None:
    """GIVEN counter 1 called A001 on another board during a partition, first by clock
    WHEN this board, which called A001 at counter 2 alone, learns that call
    THEN counter 2's box is told it has no ticket, and "Now calling" shows A001 at counter 1."""
    board, box = running
    ticket = kiosk.issue("etat-civil")
    _learn(board, [ticket])
    # The other board learnt the ticket before calling it: its call comes after the ticket
    # (in the same millisecond, a clock that had not seen the ticket could stamp it before).
    other = HybridClock("board-etage")
    other.receive(ticket.hlc)
    earlier = other.now()
    assert _press(box, "2", "next", "2 SHOW A001") == ["2 SHOW A001"]
    assert board.core is not None
    view = board.core.view()
    assert view.latest is not None and (view.latest.ticket, view.latest.counter_id) == ("A001", "2")

    mark = len(box.received)
    call = _elsewhere(
        site,
        "board-etage",
        EventKind.TICKET_CALLED,
        earlier,
        ticket=ticket.data["ticket"],
        counter="1",
    )
    _learn(board, [call])
    assert box.wait_for("2 SHOW ---", start=mark, timeout=PATIENCE)
    # counter 1's display follows too
    assert box.wait_for("1 SHOW A001", start=mark, timeout=PATIENCE)
    view = board.core.view()
    assert view.latest is not None and (view.latest.ticket, view.latest.counter_id) == ("A001", "1")
    assert [c.ticket for c in view.history] == []
    assert board.core.counter_ticket("2") is None
    # The next press at counter 2 starts from there: nobody waits.
    assert _press(box, "2", "next", "2 SHOW ---") == ["2 ERR EMPTY", "2 SHOW ---"]


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (EventKind.TICKET_SERVED, {"counter": "3"}),
        (EventKind.TICKET_NO_SHOW, {"counter": "3"}),
        (EventKind.TICKET_TRANSFERRED, {"counter": "3", "service": "urbanisme"}),
    ],
    ids=["served", "absent", "transferred"],
)
def test_a_ticket_finished_elsewhere_is_no_longer_now_calling(
    running: tuple[Board, VirtualButtonBox],
    site: Site,
    kiosk: Kiosk,
    kind: EventKind,
    data: dict[str, Any],
) -> None:
    """GIVEN counter 3 calls B001 from this board's box WHEN the agent finishes it in the web
    console (served, absent, or sent to another service) THEN the screen no longer shows it as
    being called and the box shows no ticket; the earlier call moves to the history."""
    board, box = running
    ticket = kiosk.issue("passeports")
    _learn(board, [ticket])
    _press(box, "3", "next", "3 SHOW B001")
    mark = len(box.received)
    console = HybridClock("server")
    _learn(
        board, [_elsewhere(site, "agent:agnes", kind, console.now(), ticket="passeports-1", **data)]
    )
    assert box.wait_for("3 SHOW ---", start=mark, timeout=PATIENCE)
    assert board.core is not None
    view = board.core.view()
    assert view.latest is None
    assert [c.ticket for c in view.history] == ["B001"]
    if kind is EventKind.TICKET_TRANSFERRED:
        assert board.core.waiting_count("urbanisme") == 1


def test_a_box_gets_one_answer_per_press_and_a_line_when_a_call_is_made_elsewhere(
    running: tuple[Board, VirtualButtonBox], site: Site, kiosk: Kiosk
) -> None:
    board, box = running
    tickets = [kiosk.issue("etat-civil") for _ in range(3)]
    _learn(board, tickets)
    assert _press(box, "2", "next", "2 SHOW A001") == ["2 SHOW A001"]
    assert _press(box, "2", "recall", "2 SHOW A001") == ["2 SHOW A001"]
    mark = len(box.received)
    console = HybridClock("server")
    for kind in (EventKind.TICKET_CALLED, EventKind.TICKET_RECALLED):
        at = console.now()
        event = _elsewhere(site, "agent:agnes", kind, at, ticket="etat-civil-2", counter="4")
        _learn(board, [event])
        assert box.wait_for("4 SHOW A002", start=mark, timeout=PATIENCE)
    # The recall made elsewhere changed no counter's ticket: no second line for counter 4.
    assert _press(box, "2", "done", "2 SHOW ---") == ["2 SHOW ---"]
    assert box.received[mark:].count("4 SHOW A002") == 1
