"""The chaos report's FIFO check (``guichet.sim.report.fifo_inversions``) on queues made by
hand: it counts a NEXT that called a ticket after one its board knew was waiting first, and
nothing else."""

from __future__ import annotations

from typing import Any

from guichet.sim.report import fifo_inversions
from tests.server.helpers import DeviceClock, site_config
from tickets.events import Event, EventKind
from tickets.queue import fold

SITE = site_config().to_domain()
START = 1_795_000_000.0


def _day(events: list[Event], presses: list[dict[str, Any]]) -> list[str]:
    state = fold(SITE, events)
    by_label = {t.label: t for t in state.tickets.values()}
    return fifo_inversions(SITE, events, presses, by_label)


def _next(counter: str, ticket: str, expected: str | None) -> dict[str, Any]:
    return {"action": "next", "counter": counter, "ticket": ticket, "expected": expected}


def test_a_call_after_a_ticket_the_board_knew_first_is_an_inversion() -> None:
    kiosk, board = DeviceClock("kiosk-a", wall=START), DeviceClock("board-a", wall=START + 60)
    first, second = kiosk.issued(1), kiosk.at(START + 1).issued(2)
    call = board.make(EventKind.TICKET_CALLED, ticket=second.ticket, counter="1")
    events = [first, second, call]
    assert _day(events, [_next("1", "A002", "A001")]) == ["A002 called at 1 before A001"]
    # What the board expected is what it called: in order.
    assert _day(events, [_next("1", "A002", "A002")]) == []


def test_what_the_board_could_not_know_or_what_left_the_line_is_not_counted() -> None:
    kiosk, board = DeviceClock("kiosk-a", wall=START), DeviceClock("board-a", wall=START + 60)
    first = kiosk.issued(1)
    plain = kiosk.at(START + 1).issued(2)
    second = kiosk.make(EventKind.TICKET_ISSUED, **{**plain.data, "priority": "pregnancy"})
    # A priority ticket the board did not know yet comes first: not an inversion.
    call_second = board.make(EventKind.TICKET_CALLED, ticket=second.ticket, counter="1")
    assert _day([first, second, call_second], [_next("1", "A002", "A001")]) == []
    # The expected ticket was called at another counter just before: it no longer waits.
    third = kiosk.at(START + 2).issued(3)
    elsewhere = board.make(EventKind.TICKET_CALLED, ticket=first.ticket, counter="2")
    call_third = board.make(EventKind.TICKET_CALLED, ticket=third.ticket, counter="3")
    events = [first, third, elsewhere, call_third]
    assert _day(events, [_next("3", "A003", "A001")]) == []
