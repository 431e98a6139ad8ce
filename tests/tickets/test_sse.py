"""The text/event-stream parser: fed in arbitrary pieces, it gives the same messages."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tickets.sse import Message, Parser

STREAM = (
    "retry: 2000\n\n"
    ": keep-alive\n\n"
    'id: 7\nevent: TicketCalled\ndata: {"a":1}\n\n'
    "data: first line\r\ndata: second line\r\n\r\n"
    "id: 9\rdata:no space\r\r"
    "event: empty\n\n"  # no data: nothing dispatched
    "id: 10\nevent: CounterOpened\ndata: {}\n\n"
    "data: unfinished"
)
EXPECTED = [
    Message("TicketCalled", '{"a":1}', "7"),
    Message("message", "first line\nsecond line", "7"),
    Message("message", "no space", "9"),
    Message("CounterOpened", "{}", "10"),
]


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, len(STREAM)), max_size=12))
def test_messages_do_not_depend_on_how_the_stream_is_cut(cuts: list[int]) -> None:
    parser = Parser()
    points = [0, *sorted(cuts), len(STREAM)]
    got: list[Message] = []
    for lo, hi in itertools.pairwise(points):
        got += parser.feed(STREAM[lo:hi])
    assert got == EXPECTED
    assert parser.retry_ms == 2000
    assert parser.last_id == "10"


def test_a_message_without_an_id_keeps_the_last_id() -> None:
    parser = Parser()
    assert parser.feed("data: x\n\n") == [Message("message", "x", None)]
    assert parser.feed("id: 3\n\ndata: y\n\n") == [Message("message", "y", "3")]
