"""The board's decisions without a screen: presses decided on the board, calls from elsewhere,
what is announced, what the screen shows. Real journal on disk; no server here (see
test_server.py for presses the server decides)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from display.core import BoardCore, CallView, round_minutes
from display.protocol import Action, Press, Reason
from tests.display.helpers import Kiosk
from tickets.events import EventKind, new_event
from tickets.hlc import HybridClock
from tickets.journal import Journal
from tickets.model import Site

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))


def make_core(site: Site, journal: Journal, **kw: object) -> tuple[BoardCore, list[CallView]]:
    core = BoardCore(site, journal, **kw)  # type: ignore[arg-type]
    announced: list[CallView] = []
    core.on_calls = announced.extend
    return core, announced


def outbox_kinds(journal: Journal) -> list[tuple[str, str | None, str | None]]:
    return [(e.kind.value, e.data.get("ticket"), e.data.get("counter")) for e in journal.outbox()]


def test_next_calls_the_counters_next_ticket_and_journals_it(
    site: Site, journal: Journal, kiosk: Kiosk
) -> None:
    """GIVEN A001, A002 (civil status) and B001 (passports) issued at the kiosk
    WHEN counter 3 (passports first, then civil status) presses NEXT twice
    THEN it calls B001, then serves B001 and calls A001; each step journaled for upload."""
    journal.store_remote([kiosk.issue("etat-civil"), kiosk.issue("etat-civil")])
    journal.store_remote([kiosk.issue("passeports")])
    core, announced = make_core(site, journal)

    first = core.press(Press("3", Action.NEXT))
    assert (first.ticket, first.decided_by, first.error) == ("B001", "board", None)
    assert first.reply_lines() == ["3 SHOW B001\n"]
    second = core.press(Press("3", Action.NEXT))
    assert second.ticket == "A001"

    assert outbox_kinds(journal) == [
        ("CounterOpened", None, "3"),
        ("TicketCalled", "passeports-1", "3"),
        ("TicketServed", "passeports-1", "3"),
        ("TicketCalled", "etat-civil-1", "3"),
    ]
    assert [(c.ticket, c.counter_label, c.recall) for c in announced] == [
        ("B001", "Guichet 3", False),
        ("A001", "Guichet 3", False),
    ]
    view = core.view()
    assert view.latest is not None and view.latest.ticket == "A001"
    assert [c.ticket for c in view.history] == ["B001"]


def test_next_with_nobody_waiting_finishes_the_ticket_and_says_empty(
    site: Site, journal: Journal, kiosk: Kiosk
) -> None:
    journal.store_remote([kiosk.issue("ccas")])
    core, _ = make_core(site, journal)
    assert core.press(Press("5", Action.NEXT)).ticket == "D001"
    out = core.press(Press("5", Action.NEXT))
    assert (out.ticket, out.error) == (None, Reason.EMPTY)
    assert out.reply_lines() == ["5 ERR EMPTY\n", "5 SHOW ---\n"]
    assert outbox_kinds(journal)[-1] == ("TicketServed", "ccas-1", "5")


def monday_10() -> Callable[[], float]:
    """A wall clock starting on a Monday at 10:00, when civil status and passports are open
    and planning (urbanisme) is closed, that then runs with real time."""
    start, t0 = MONDAY_10.timestamp(), time.monotonic()
    return lambda: start + time.monotonic() - t0


@pytest.fixture
def monday(tmp_path: Path, site: Site) -> Iterator[tuple[Journal, Callable[[], float]]]:
    """The board's journal and its clock, on Monday at 10:00 (one clock, as in the board)."""
    wall = monday_10()
    with Journal(tmp_path / "monday.sqlite3", site.id, "board-salle", wall) as journal:
        yield journal, wall


def test_recall_is_announced_again_and_absent_done_transfer_act_on_the_current_ticket(
    site: Site, monday: tuple[Journal, Callable[[], float]]
) -> None:
    journal, wall = monday
    kiosk = Kiosk(site, wall)
    journal.store_remote([kiosk.issue("etat-civil") for _ in range(3)])
    core, announced = make_core(site, journal, wall=wall)
    core.press(Press("2", Action.NEXT))
    recall = core.press(Press("2", Action.RECALL))
    assert recall.ticket == "A001"
    assert [(c.ticket, c.recall) for c in announced] == [("A001", False), ("A001", True)]
    assert announced[0].key != announced[1].key

    assert core.press(Press("2", Action.NO_SHOW)).ticket is None
    core.press(Press("2", Action.NEXT))
    core.press(Press("3", Action.OPEN))  # a transfer goes only to a service a counter serves
    transfer = core.press(Press("2", Action.TRANSFER, "passeports"))
    assert (transfer.ticket, transfer.error) == (None, None)
    core.press(Press("1", Action.NEXT))  # counter 1 takes civil status first: A003
    assert core.counter_ticket("1") == "A003"
    core.press(Press("1", Action.DONE))

    kinds = [k for k, _, _ in outbox_kinds(journal)]
    assert kinds == [
        "CounterOpened",
        "TicketCalled",
        "TicketRecalled",
        "TicketNoShow",
        "TicketCalled",
        "CounterOpened",
        "TicketTransferred",
        "CounterOpened",
        "TicketCalled",
        "TicketServed",
    ]
    transferred = journal.outbox()[6]
    data = dict(transferred.data)
    assert data.pop("press")  # the id of the press this decision answers
    assert data == {"ticket": "etat-civil-2", "service": "passeports", "counter": "2"}
    # The transferred ticket waits for passports now, in its original place.
    assert core.press(Press("3", Action.NEXT)).ticket == "A002"


def test_transfer_goes_only_to_a_service_open_and_served_now(
    site: Site, monday: tuple[Journal, Callable[[], float]]
) -> None:
    """GIVEN Monday 10:00, counter 2 (civil status only) serving A001 WHEN it transfers the
    ticket to passports while no open counter takes passports, or to planning, closed on
    Mondays THEN the box gets ERR CLOSEDSERVICE and nothing is journaled; once counter 3
    (passports) opens, the transfer to passports goes through."""
    journal, wall = monday
    kiosk = Kiosk(site, wall)
    journal.store_remote([kiosk.issue("etat-civil")])
    core, _ = make_core(site, journal, wall=wall)
    core.press(Press("2", Action.NEXT))
    before = len(journal.outbox())
    for target in ("passeports", "urbanisme"):
        refused = core.press(Press("2", Action.TRANSFER, target))
        assert refused.error is Reason.CLOSED_SERVICE
        assert "2 ERR CLOSEDSERVICE\n" in refused.reply_lines()
        assert core.counter_ticket("2") == "A001"
    core.press(Press("4", Action.OPEN))  # counter 4 takes planning, still closed by its hours
    assert core.press(Press("2", Action.TRANSFER, "urbanisme")).error is Reason.CLOSED_SERVICE
    assert [e.kind.value for e in journal.outbox()[before:]] == ["CounterOpened"]
    core.press(Press("3", Action.OPEN))
    assert core.press(Press("2", Action.TRANSFER, "passeports")).error is None
    assert core.counter_ticket("2") is None


def test_refused_presses_change_nothing(site: Site, journal: Journal, kiosk: Kiosk) -> None:
    journal.store_remote([kiosk.issue("etat-civil")])
    core, announced = make_core(site, journal)
    unknown = core.press(Press("99", Action.NEXT))
    assert (unknown.error, unknown.reply_lines()) == (
        Reason.UNKNOWN_COUNTER,
        ["99 ERR UNKNOWNCOUNTER\n"],
    )
    for action in (Action.RECALL, Action.DONE, Action.NO_SHOW):
        assert core.press(Press("2", action)).error is Reason.NO_TICKET
    core.press(Press("2", Action.NEXT))
    bad = core.press(Press("2", Action.TRANSFER, "piscine"))
    assert (bad.error, bad.ticket) == (Reason.UNKNOWN_SERVICE, "A001")
    assert [k for k, _, _ in outbox_kinds(journal)] == ["CounterOpened", "TicketCalled"]
    assert len(announced) == 1


def test_a_call_made_elsewhere_is_shown_and_announced_once(
    site: Site, journal: Journal, kiosk: Kiosk
) -> None:
    issued = kiosk.issue("passeports")
    journal.store_remote([issued])
    core, announced = make_core(site, journal)
    console = HybridClock("server")
    ts = console.now()
    call = new_event(
        EventKind.TICKET_CALLED,
        site=site.id,
        device="server",
        hlc=ts,
        wall_time=ts.seconds,
        ticket="passeports-1",
        counter="1",
    )
    journal.store_remote([call])
    core.receive([call])
    core.receive([call])  # the same event again (push, then sync)
    assert [(c.ticket, c.counter_id, c.key) for c in announced] == [("B001", "1", call.id)]
    assert core.counter_ticket("1") == "B001"


def test_calls_already_in_the_journal_at_start_are_shown_not_announced(
    site: Site, journal: Journal, kiosk: Kiosk
) -> None:
    journal.store_remote([kiosk.issue("etat-civil") for _ in range(3)])
    first, _ = make_core(site, journal)
    for _ in range(3):
        first.press(Press("2", Action.NEXT))
    restarted, announced = make_core(site, journal)
    assert announced == []
    view = restarted.view()
    assert view.latest is not None and view.latest.ticket == "A003"
    assert [c.ticket for c in view.history] == ["A002", "A001"]


def test_a_backlog_of_old_calls_goes_to_the_history_silently(
    site: Site, journal: Journal, tmp_path: Path
) -> None:
    """GIVEN the board was cut off for an hour WHEN sync brings the calls made meanwhile
    THEN only those within max_age of the newest event are announced."""
    t = [1_795_000_000.0]
    kiosk = Kiosk(site, wall=lambda: t[0])
    other = HybridClock("board-etage", lambda: t[0])
    core, announced = make_core(site, journal, max_age=120.0)
    events = []
    for i in range(1, 4):
        events.append(kiosk.issue("etat-civil"))
        t[0] += 1200  # twenty minutes between calls
        ts = other.now()
        events.append(
            new_event(
                EventKind.TICKET_CALLED,
                site=site.id,
                device="board-etage",
                hlc=ts,
                wall_time=ts.seconds,
                ticket=f"etat-civil-{i}",
                counter="2",
            )
        )
    journal.store_remote(events)
    core.receive(events)
    assert [c.ticket for c in announced] == ["A003"]


def test_the_view_lists_each_ticket_once_and_the_waiting_per_open_service(
    site: Site, tmp_path: Path
) -> None:
    tuesday_10am = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Europe/Paris")).timestamp()
    # The board's journal and its core read one clock, as in the running board.
    with Journal(
        tmp_path / "board.sqlite3", site.id, "board-salle", lambda: tuesday_10am
    ) as journal:
        kiosk = Kiosk(site, wall=lambda: tuesday_10am)
        journal.store_remote([kiosk.issue("etat-civil") for _ in range(5)])
        journal.store_remote([kiosk.issue("passeports") for _ in range(2)])
        core, _ = make_core(site, journal, history=3, wall=lambda: tuesday_10am)
        core.press(Press("2", Action.NEXT))  # A001
        core.press(Press("2", Action.RECALL))  # A001 again: still one history line
        core.press(Press("1", Action.NEXT))  # A002
        core.press(Press("3", Action.NEXT))  # B001
        core.press(Press("4", Action.NEXT))  # A003
        core.press(Press("1", Action.NEXT))  # A004
        view = core.view()
        assert view.latest is not None and view.latest.ticket == "A004"
        assert [(c.ticket, c.counter_label) for c in view.history] == [
            ("A003", "Guichet 4"),
            ("B001", "Guichet 3"),
            ("A002", "Guichet 1"),
        ]
        # Tuesday 10:00: all four services are open; A005 and B002 wait. B002: 12 min per
        # person (the seed: no passport finished yet) over counters 1 and 3 = 6 min, shown "10".
        assert [(s.prefix, s.waiting, s.wait_minutes, s.open_now) for s in view.services] == [
            ("A", 1, 5, True),
            ("B", 1, 10, True),
            ("C", 0, None, True),
            ("D", 0, None, True),
        ]


def test_wait_estimates_are_shown_to_the_next_five_minutes() -> None:
    assert [round_minutes(s) for s in (0, 60, 301, 600, 3599)] == [5, 5, 10, 10, 60]


def test_presses_at_an_unknown_counter_log_one_warning_then_a_count(
    site: Site, journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    """A box set up for a counter the site lacks may press all day: each press is answered
    ERR UNKNOWNCOUNTER, but the log gets one warning and then, every few seconds at most,
    one with how many were left out."""
    now = [1000.0]
    core, _ = make_core(site, journal, monotonic=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="display.core"):
        for i in range(10_001):
            now[0] = 1000.0 + i * 0.001  # ten seconds of presses, a thousand a second
            assert core.press(Press("99", Action.NEXT)).error is Reason.UNKNOWN_COUNTER
    warned = [r.getMessage() for r in caplog.records if "unknown counter" in r.getMessage()]
    assert len(warned) == 3  # at 0 s, 5 s and 10 s
    assert "(4999 more since the last such message)" in warned[1]
