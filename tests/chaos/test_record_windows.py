"""The chaos report's time checks (``guichet.sim.report.compare_stats``) on a record and a
queue made by hand: the record times a ticket at the touch and a call at the press, and knows
when the device answered; the server's time must lie in between, give or take the
tolerance, however long the device took (a busy machine), and nowhere else."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from guichet.sim.record import Record, Visit
from guichet.sim.report import (
    Report,
    _answers_lost_to_a_kill,
    compare_stats,
    decided_twice,
    lags,
)
from server.stats import percentile
from tests.server.helpers import DeviceClock, site_config
from tickets.events import Event, EventKind
from tickets.queue import Ticket, fold

SITE = site_config().to_domain()
START = 1_795_000_000.0
TOL = 60.0


def _queue(issued: float, called: float) -> tuple[list[Event], dict[str, Ticket]]:
    kiosk = DeviceClock("kiosk-a", wall=issued)
    ticket = kiosk.issued(1)
    call = DeviceClock("board-a", wall=called).make(
        EventKind.TICKET_CALLED, ticket=ticket.ticket, counter="1"
    )
    events = [ticket, call]
    state = fold(SITE, events)
    return events, {t.label: t for t in state.tickets.values()}


def _stats(by_label: dict[str, Ticket]) -> dict[str, dict[str, Any]]:
    """What the server's statistics say of these tickets (counts, wait percentiles)."""
    waits = [t.waited_seconds for t in by_label.values() if t.waited_seconds is not None]
    return {
        "civil": {
            "tickets": len(by_label),
            "called": len(waits),
            "served": 0,
            "no_shows": 0,
            "waiting_p50_seconds": percentile(waits, 0.5),
            "waiting_p90_seconds": percentile(waits, 0.9),
        }
    }


def _check(visit: Visit, by_label: dict[str, Ticket]) -> list[str]:
    r = Report()
    compare_stats(r, ["civil"], _stats(by_label), [visit], by_label, set(), [], TOL)
    return r.violations


def _visit(by_label: dict[str, Ticket], **times: float | None) -> Visit:
    t = by_label["A001"]
    v = Visit("A001", "civil", t.day, "kiosk-a", 0.0, ticket=t.id, counter="1")
    v.outcome = "called"
    for k, x in times.items():
        setattr(v, k, x)
    return v


def test_a_kiosk_that_journals_seconds_after_the_touch_is_within_its_window() -> None:
    # The kiosk stamped the ticket 300 s (five real seconds at 60x) after the touch, and
    # answered 100 s later: beyond the tolerance from the touch, inside the window.
    _events, by_label = _queue(START + 300, START + 900)
    v = _visit(by_label, issued_at=START, issued_by=START + 400, called_at=START + 880)
    v.called_by = START + 920
    assert _check(v, by_label) == []
    assert lags([v]) == {"issue_max_seconds": 400.0, "call_max_seconds": 40.0}


def test_a_time_outside_the_window_is_still_a_violation() -> None:
    _events, by_label = _queue(START + 300, START + 900)
    # The server's stamp is before the touch, beyond the tolerance.
    v = _visit(by_label, issued_at=START + 400, issued_by=START + 500, called_at=START + 880)
    v.called_by = START + 920
    assert any("A001: issued at" in x for x in _check(v, by_label))
    # Or after the kiosk answered, beyond the tolerance.
    v = _visit(by_label, issued_at=START, issued_by=START + 200, called_at=START + 880)
    v.called_by = START + 920
    assert any("A001: issued at" in x for x in _check(v, by_label))
    # A call the server places after the board answered, beyond the tolerance.
    v = _visit(by_label, issued_at=START, issued_by=START + 400, called_at=START + 700)
    v.called_by = START + 800
    violations = _check(v, by_label)
    assert any("A001: called at" in x for x in violations)
    # Without the answer's time, the act's time alone with the tolerance (as before).
    v = _visit(by_label, issued_at=START, called_at=START + 900)
    assert any("A001: issued at" in x for x in _check(v, by_label))


def test_the_wait_percentiles_lie_between_those_the_record_allows() -> None:
    _events, by_label = _queue(START + 300, START + 900)
    v = _visit(by_label, issued_at=START, issued_by=START + 400, called_at=START + 880)
    v.called_by = START + 920
    assert _check(v, by_label) == []
    stats = _stats(by_label)
    # A server wait longer than the longest the record allows (920 s), beyond the tolerance.
    stats["civil"]["waiting_p50_seconds"] = 920 + TOL + 1
    r = Report()
    compare_stats(r, ["civil"], stats, [v], by_label, set(), [], TOL)
    assert r.violations == [
        f"civil: waiting_p50_seconds is {920 + TOL + 1} at the server, 480.0 to 920.0 in the record"
    ]


def test_a_ticket_the_statistics_time_a_day_off_is_a_violation() -> None:
    """GIVEN a ticket whose stamps (the queue's times) are right, but whose issue the server
    timed 23 h early for its statistics (its kiosk rebooted on another clock before uploading
    it) THEN the report says so, though the day's wait percentiles of many tickets would not
    show it."""
    events, by_label = _queue(START + 300, START + 900)
    v = _visit(by_label, issued_at=START, issued_by=START + 400, called_at=START + 880)
    v.called_by = START + 920
    right = {
        t.label: t
        for t in fold(SITE, [replace(e, occurred_at=e.wall_time) for e in events]).tickets.values()
    }
    off = [replace(events[0], occurred_at=START + 300 - 23 * 3600), events[1]]
    wrong = {t.label: t for t in fold(SITE, off).tickets.values()}
    for timed, expected in ((right, []), (wrong, ["A001: issued at"])):
        r = Report()
        compare_stats(r, ["civil"], _stats(by_label), [v], by_label, set(), [], TOL, timed=timed)
        assert [x[: len("A001: issued at")] for x in r.violations] == expected
        assert all("for the server's statistics" in x for x in r.violations)


def _lost_calls(path: Path, kill: float, press: tuple[str, str, float, float]) -> set[str]:
    """What ``_answers_lost_to_a_kill`` says of A001 (issued at START + 300, called by
    board-a at counter 1 at START + 900, never called in the record), board-a killed at
    ``kill``, with one press lost: (counter, board, pressed, noticed)."""
    events, by_label = _queue(START + 300, START + 900)
    record = Record(path)
    try:
        record.issued(_visit(by_label, issued_at=START, issued_by=START + 400))
        record.fault("kill", kill, device="board-a")
        counter, device, pressed, noticed = press
        record.lost_press(counter, "next", device, pressed, noticed)
        return _answers_lost_to_a_kill(events, record, TOL, by_label)
    finally:
        record.close()


def test_a_call_lost_with_its_killed_board_is_counted_from_the_server(tmp_path: Path) -> None:
    # The agent pressed NEXT at START + 850 on board-a; board-a made the call at START + 900
    # and was killed at START + 1000, long after (a busy machine), before it answered; the
    # agent noticed at START + 1100. The record never heard of the call.
    lost = _lost_calls(tmp_path / "1", START + 1000, ("1", "board-a", START + 850, START + 1100))
    assert lost == {"A001"}
    # A lost press at another counter, or on a board not killed meanwhile, explains nothing.
    for n, (counter, device) in enumerate((("2", "board-a"), ("1", "board-b"))):
        press = (counter, device, START + 850, START + 1100)
        assert _lost_calls(tmp_path / f"o{n}", START + 1000, press) == set()
    # Nor does a press lost well after the call was made.
    press = ("1", "board-a", START + 1900, START + 2100)
    assert _lost_calls(tmp_path / "late", START + 2000, press) == set()


def test_the_call_that_stands_for_a_press_decided_twice_is_taken_from_the_server() -> None:
    # The server called A001 for board-a's press at counter 2; board-a, no answer in time,
    # decided the same press itself and showed A002. The fold keeps the server's (first by
    # clock) and flags A002; the record, which saw A002, cannot know of A001's call.
    kiosk = DeviceClock("kiosk-a", wall=START)
    first, second = kiosk.issued(1), kiosk.at(START + 1).issued(2)
    server = DeviceClock("server-a", wall=START + 80).make(
        EventKind.TICKET_CALLED, ticket=first.ticket, counter="2", press="p1"
    )
    board = DeviceClock("board-a", wall=START + 120).make(
        EventKind.TICKET_CALLED, ticket=second.ticket, counter="2", press="p1"
    )
    events = [first, second, server, board]
    state = fold(SITE, events)
    assert [c.label for c in state.conflicts if c.kind == "double_decision"] == ["A002"]
    assert decided_twice(state, events) == {"A001"}
    # A press decided once: nothing.
    assert decided_twice(fold(SITE, [first, second, server]), [first, second, server]) == set()
