"""The call button line protocol (docs/buttons.md): what a box may send, what it gets back."""

from __future__ import annotations

import pytest

from display.protocol import (
    MAX_LINE,
    Action,
    BadLine,
    Echo,
    LineSplitter,
    Ping,
    Press,
    Reason,
    error_line,
    parse_line,
    show_line,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"3 NEXT", Press("3", Action.NEXT)),
        (b"3 next", Press("3", Action.NEXT)),
        (b"  12   RECALL ", Press("12", Action.RECALL)),
        (b"3 DONE", Press("3", Action.DONE)),
        (b"3 ABSENT", Press("3", Action.NO_SHOW)),
        (b"3 NOSHOW", Press("3", Action.NO_SHOW)),
        (b"3 OPEN", Press("3", Action.OPEN)),
        (b"3 CLOSE", Press("3", Action.CLOSE)),
        (b"3 TRANSFER passeports", Press("3", Action.TRANSFER, "passeports")),
        (b"ccas-1 NEXT", Press("ccas-1", Action.NEXT)),
    ],
)
def test_a_press_line_gives_the_counter_and_the_action(raw: bytes, expected: Press) -> None:
    assert parse_line(raw) == expected


def test_a_press_prints_back_as_the_line_a_box_sends() -> None:
    assert Press("3", Action.TRANSFER, "ccas").line() == "3 TRANSFER ccas"
    assert parse_line(Press("4", Action.NO_SHOW).line().encode()) == Press("4", Action.NO_SHOW)


@pytest.mark.parametrize(
    ("raw", "counter", "why"),
    [
        (b"3 JUMP", "3", "unknown action"),
        (b"3", "3", "no action"),
        (b"3 NEXT now", "3", "takes no argument"),
        (b"3 TRANSFER", "3", "TRANSFER needs"),
        (b"3 TRANSFER a b", "3", "TRANSFER needs"),
        (b"#3 NEXT", None, "bad counter"),
        (b"\xff\xfe\x00garbage", None, "not ASCII"),
        (b"3 NE\x07XT", "3", "control characters"),
        (b"5 OPEN \xc3(", "5", "not ASCII"),
        (b"5 OPEN\x01", "5", "control characters"),
        (b"5 \xff", "5", "not ASCII"),
        (b"5 NEXT " + b"x" * MAX_LINE, "5", "longer than"),
        (b"\xff5 NEXT", None, "not ASCII"),
        (b"", None, "empty"),
        (b"x" * (MAX_LINE + 1), None, "longer than"),
    ],
)
def test_a_bad_line_is_refused_with_a_reason(raw: bytes, counter: str | None, why: str) -> None:
    parsed = parse_line(raw)
    assert isinstance(parsed, BadLine)
    assert parsed.counter == counter
    assert why in parsed.reason


def test_ping_and_the_boards_own_answers_echoed_back() -> None:
    assert parse_line(b"PING") == Ping()
    for echoed in (b"3 SHOW A042", b"3 ERR EMPTY", b"PONG", b"ERR BADLINE"):
        assert parse_line(echoed) == Echo(), echoed


def test_answer_lines() -> None:
    assert show_line("3", "A042") == "3 SHOW A042\n"
    assert show_line("3", None) == "3 SHOW ---\n"
    assert error_line("3", Reason.EMPTY) == "3 ERR EMPTY\n"
    assert error_line(None, Reason.BAD_LINE) == "ERR BADLINE\n"


def test_lines_are_cut_on_any_ending_even_across_reads() -> None:
    s = LineSplitter()
    assert s.feed(b"3 NEXT\r") == [b"3 NEXT"]
    assert s.feed(b"\n4 RE") == []  # the \n of a \r\n split across two reads is no line
    assert s.feed(b"CALL\n5 DONE\n\n6 OPEN") == [b"4 RECALL", b"5 DONE"]
    assert s.feed(b"\r\n") == [b"6 OPEN"]


def test_of_an_overlong_line_only_its_start_is_kept_and_the_next_one_is_read() -> None:
    s = LineSplitter(limit=10)
    assert s.feed(b"0123456789ABCDEF") == []
    assert s.feed(b"still the same line") == []
    assert s.feed(b"\n3 NEXT\n") == [b"0123456789A", b"3 NEXT"]
