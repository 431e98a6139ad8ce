"""The queue rules: who is next, transfers, recalls, no-shows, cancels, counters, estimates."""

from __future__ import annotations

import statistics
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tickets.events import Event, EventKind
from tickets.model import Counter, PriorityRule
from tickets.queue import (
    MAX_SERVICE_SAMPLE_SECONDS,
    ROLLING_SAMPLES,
    QueueState,
    TicketStatus,
    fold,
)

from .factory import Events, dump, make_site

SITE = make_site()


def _serve_all(state: QueueState, f: Events, counter: str, start: float) -> list[str]:
    """The counter calls until nobody waits for it; returns the called tickets in order."""
    order = []
    at = start
    while (ticket := state.next_for(counter)) is not None:
        at += 10
        state.add(f.call(ticket.id, counter, at))
        order.append(ticket.id)
    return order


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(("issue", "call")), st.booleans()), max_size=40))
def test_one_counter_calls_priority_first_then_in_issue_order(
    steps: list[tuple[str, bool]],
) -> None:
    """GIVEN a counter taking one service, tickets issued and called in any interleaving
    WHEN it always calls the next ticket
    THEN within each class calls follow issue order, and a normal ticket is never called while
    an earlier-issued priority ticket waits."""
    site = make_site(counters=(Counter("1", "Guichet 1", ("a",)),))
    f = Events()
    state = QueueState(site)
    issued: dict[str, bool] = {}
    called: list[str] = []
    at = 0.0
    for action, priority in steps:
        at += 5
        if action == "issue":
            tid = f"t{len(issued)}"
            issued[tid] = priority
            state.add(f.issue(tid, at, number=len(issued), priority="age" if priority else None))
            continue
        ticket = state.next_for("1")
        if ticket is None:
            assert not state.waiting("a")
            continue
        if not issued[ticket.id]:
            assert not any(issued[t.id] for t in state.waiting("a"))
        state.add(f.call(ticket.id, "1", at))
        called.append(ticket.id)
    called += _serve_all(state, f, "1", at)

    def issue_rank(tid: str) -> int:
        return int(tid[1:])

    for cls in (True, False):
        in_class = [t for t in called if issued[t] is cls]
        assert in_class == sorted(in_class, key=issue_rank)
    assert sorted(called, key=issue_rank) == list(issued)  # everyone called exactly once


def _b1_a1_priority_b2_a2(f: Events) -> list[Event]:
    """Ordinary tickets of a and b, and b2, a priority ticket of b, issued third."""
    return [
        f.issue("b1", 1, service="b", number=1),
        f.issue("a1", 2, service="a", number=1),
        f.issue("b2", 3, service="b", number=2, priority="pregnancy"),
        f.issue("a2", 4, service="a", number=2),
    ]


def test_a_counter_takes_its_services_in_preference_order_but_priority_first() -> None:
    f = Events()
    state = fold(SITE, _b1_a1_priority_b2_a2(f))
    assert [t.id for t in state.waiting()] == ["b2", "b1", "a1", "a2"]
    assert state.copy().next_for("2") is not None
    # Counter 1 prefers a, counter 3 prefers b; a priority ticket goes first at both.
    assert _serve_all(state.copy(), f, "1", 10) == ["b2", "a1", "a2", "b1"]
    assert _serve_all(state.copy(), f, "3", 10) == ["b2", "b1", "a1", "a2"]
    assert _serve_all(state.copy(), f, "2", 10) == ["a1", "a2"]
    assert state.next_for("no-such-counter") is None


@pytest.mark.parametrize(
    ("rule", "at_1", "at_3"),
    [
        (PriorityRule.ACROSS_SERVICES, ["b2", "a1", "a2", "b1"], ["b2", "b1", "a1", "a2"]),
        (PriorityRule.WITHIN_SERVICE, ["a1", "a2", "b2", "b1"], ["b2", "b1", "a1", "a2"]),
    ],
)
def test_the_site_chooses_where_priority_tickets_go_ahead(
    rule: PriorityRule, at_1: list[str], at_3: list[str]
) -> None:
    """GIVEN a priority ticket b2 for service b, and ordinary tickets of a and b
    WHEN counter 1 (a first) and counter 3 (b first) call everyone
    THEN across services b2 goes first at both; within a service counter 1 serves a's tickets
    first (its preference order) and b2 only ahead of b1."""
    site = replace(SITE, priority_rule=rule)
    f = Events()
    state = fold(site, _b1_a1_priority_b2_a2(f))
    assert _serve_all(state.copy(), f, "1", 10) == at_1
    assert _serve_all(state.copy(), f, "3", 10) == at_3
    # The waiting line of one service is the same either way: priority first.
    assert [t.id for t in state.waiting("b")] == ["b2", "b1"]


def test_passages_record_each_stay_in_a_service_queue() -> None:
    """GIVEN x issued for a, called at 1, transferred to b, called at 3, absent, taken back
    and served THEN x has three passages (a; b from the transfer; b again from the taking back)
    with their own join, call and end times."""
    f = Events()
    until_absent = [
        f.issue("x", 10),
        f.call("x", "1", 20),
        f.transfer("x", "b", 50, counter="1"),
        f.call("x", "3", 80),
        f.no_show("x", "3", 90),
    ]
    absent = fold(SITE, until_absent)
    state = absent.copy()
    state.extend([f.reactivate("x", 100), f.call("x", "3", 130), f.serve("x", "3", 200)])
    got = [
        (p.service, p.joined_by.value, p.joined_at, p.called_at, p.ended_at, p.outcome.value)
        for p in state.tickets["x"].passages
    ]
    assert got == [
        ("a", "issue", 10.0, 20.0, 50.0, "transferred"),
        ("b", "transfer", 50.0, 80.0, 90.0, "no_show"),
        ("b", "reactivation", 100.0, 130.0, 200.0, "served"),
    ]
    first, second, third = state.tickets["x"].passages
    assert (first.waited_seconds, first.service_seconds) == (10.0, 30.0)
    assert (second.waited_seconds, second.service_seconds) == (30.0, None)
    assert (third.waited_seconds, third.service_seconds) == (30.0, 70.0)
    # The copy taken before went on alone: its original still has x absent, two passages.
    assert [p.outcome.value for p in absent.tickets["x"].passages] == ["transferred", "no_show"]


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 1000), min_size=1, max_size=15, unique=True), st.integers(0, 1000))
def test_a_transferred_ticket_keeps_its_original_place(
    b_issue_times: list[int], x_issue_time: int
) -> None:
    """GIVEN tickets waiting for service b and ticket x issued for a at some time
    WHEN x is called at counter 2 and transferred to b after everyone was issued
    THEN counter 3 calls x among b's tickets by x's original issue time."""
    f = Events()
    events = [
        f.issue(f"b{t}", t, service="b", number=i + 1, node="kiosk")
        for i, t in enumerate(b_issue_times)
    ]
    events.append(f.issue("x", x_issue_time + 0.5, service="a", number=1))
    events.append(f.call("x", "2", 2000))
    events.append(f.transfer("x", "b", 2010, counter="2"))
    state = fold(SITE, events)
    x = state.tickets["x"]
    assert (x.status, x.service, x.transfers, x.counter) == (TicketStatus.WAITING, "b", 1, None)
    assert "2" not in state.current
    expected = sorted([*b_issue_times, x_issue_time + 0.5])
    order = _serve_all(state, f, "3", 3000)
    assert order == ["x" if t == x_issue_time + 0.5 else f"b{t}" for t in expected]
    assert state.people_ahead("x") == 0  # everyone was called


def test_a_transfer_to_an_unknown_service_or_of_a_finished_ticket_is_ignored() -> None:
    f = Events()
    state = fold(
        SITE,
        [
            f.issue("x", 1),
            f.transfer("x", "nowhere", 2),
            f.issue("y", 3, number=2),
            f.call("y", "1", 4),
            f.serve("y", "1", 5),
            f.transfer("y", "b", 6),
        ],
    )
    assert (state.tickets["x"].service, state.tickets["x"].transfers) == ("a", 0)
    assert state.tickets["y"].status is TicketStatus.SERVED


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 5), st.integers(0, 7))
def test_recalls_then_no_show_after_max_recalls(max_recalls: int, recalls: int) -> None:
    site = make_site(max_recalls=max_recalls)
    f = Events()
    events = [f.issue("x", 1), f.call("x", "1", 2)]
    events += [f.recall("x", "1", 3 + i) for i in range(recalls)]
    state = fold(site, events)
    x = state.tickets["x"]
    recall_calls = [c for c in state.calls if c.recall]
    if recalls <= max_recalls:
        assert (x.status, x.recalls, state.current.get("1")) == (TicketStatus.CALLED, recalls, "x")
        assert len(recall_calls) == recalls
    else:
        assert x.status is TicketStatus.NO_SHOW
        assert x.recalls == max_recalls
        assert len(recall_calls) == max_recalls
        assert "1" not in state.current


def test_a_recall_from_another_counter_changes_nothing() -> None:
    f = Events()
    state = fold(SITE, [f.issue("x", 1), f.call("x", "1", 2), f.recall("x", "2", 3)])
    assert state.tickets["x"].recalls == 0
    assert not [c for c in state.calls if c.recall]


def test_a_reactivated_no_show_waits_again_in_its_original_place() -> None:
    f = Events()
    state = fold(
        SITE,
        [
            f.issue("x", 1, number=1),
            f.issue("y", 2, number=2),
            f.call("x", "2", 3),
            f.no_show("x", "2", 4),
            f.issue("z", 5, number=3),
        ],
    )
    assert state.tickets["x"].status is TicketStatus.NO_SHOW
    assert [t.id for t in state.waiting("a")] == ["y", "z"]
    state.add(f.reactivate("x", 6))
    x = state.tickets["x"]
    assert (x.status, x.counter, x.recalls, x.finished_at) == (TicketStatus.WAITING, None, 0, None)
    assert [t.id for t in state.waiting("a")] == ["x", "y", "z"]
    assert state.people_ahead("z") == 2
    # Reactivating a ticket that is not a no-show does nothing.
    state.add(f.reactivate("y", 7))
    assert state.tickets["y"].status is TicketStatus.WAITING


def test_cancel_removes_a_waiting_ticket_only() -> None:
    f = Events()
    state = fold(
        SITE,
        [
            f.issue("x", 1, number=1),
            f.issue("y", 2, number=2),
            f.cancel("x", 3),
            f.call("y", "2", 4),
            f.cancel("y", 5),
        ],
    )
    assert state.tickets["x"].status is TicketStatus.CANCELLED
    assert state.tickets["y"].status is TicketStatus.CALLED
    assert state.next_for("2") is None
    assert state.people_ahead("x") == 0


def test_a_no_show_or_done_from_the_losing_counter_of_a_double_call_is_flagged() -> None:
    """GIVEN counters 1 and 2 both called x during a partition (1 first by clock)
    WHEN counter 2 marks x absent, or done
    THEN x stays called at counter 1, and each is flagged "finished_elsewhere"."""
    f = Events()
    state = fold(
        SITE,
        [
            f.issue("x", 1),
            f.call("x", "1", 2, node="server"),
            f.call("x", "2", 3, node="board"),
            f.no_show("x", "2", 4, node="board"),
            f.serve("x", "2", 5, node="board"),
        ],
    )
    x = state.tickets["x"]
    assert (x.status, x.counter, x.conflict) == (TicketStatus.CALLED, "1", True)
    assert [c.kind for c in state.conflicts] == [
        "double_call",
        "finished_elsewhere",
        "finished_elsewhere",
    ]
    assert all(c.kept_counter == "1" and c.other_counter == "2" for c in state.conflicts)
    state.add(f.serve("x", "1", 6, node="server"))
    assert state.tickets["x"].status is TicketStatus.SERVED


@pytest.mark.parametrize("finished", [False, True])
def test_a_second_call_of_a_ticket_at_the_same_counter_is_flagged(finished: bool) -> None:
    """GIVEN counter 1 called x (and, or not, served it) while the server did not know
    WHEN the server calls x at counter 1 too
    THEN the first call stands, x is flagged, and the second call is listed as a double call."""
    f = Events()
    events = [f.issue("x", 1), f.call("x", "1", 2, node="board")]
    if finished:
        events.append(f.serve("x", "1", 3, node="board"))
    second = f.call("x", "1", 4, node="server")
    state = fold(SITE, [*events, second])
    x = state.tickets["x"]
    status = TicketStatus.SERVED if finished else TicketStatus.CALLED
    assert (x.status, x.counter, x.conflict) == (status, "1", True)
    assert [(c.kind, c.kept_counter, c.other_counter, c.event) for c in state.conflicts] == [
        ("double_call", "1", "1", second.id)
    ]
    assert [c.event for c in state.calls] == [events[1].id]


@pytest.mark.parametrize("server_first", [True, False])
def test_one_press_decided_by_the_server_and_by_the_board_counts_once(server_first: bool) -> None:
    """GIVEN one NEXT press at counter 1, decided by the server (calling the priority ticket p)
    and by the board that stopped waiting (calling x, it had not pulled p)
    WHEN both decisions are folded, in either clock order
    THEN the first by clock stands, the other's call is flagged "double_decision" and its
    ticket waits on, and the fold is the same whatever the arrival order."""
    f = Events()
    press = "3f0c6f0e-55aa-4c2e-9a53-0d1f3c8b5e71"
    x, p = f.issue("x", 1), f.issue("p", 2, number=2, priority="age")
    server_at, board_at = (3, 4) if server_first else (4, 3)
    by_server = f.make(
        EventKind.TICKET_CALLED, server_at, "server", ticket="p", counter="1", press=press
    )
    by_board = f.make(
        EventKind.TICKET_CALLED, board_at, "board", ticket="x", counter="1", press=press
    )
    events = [x, p, by_server, by_board]
    state = fold(SITE, events)
    assert dump(state) == dump(fold(SITE, events[::-1]))
    kept, lost = ("p", "x") if server_first else ("x", "p")
    loser = by_board if server_first else by_server
    assert state.counter_ticket("1").id == kept  # type: ignore[union-attr]
    assert state.tickets[lost].status is TicketStatus.WAITING
    assert state.tickets[lost].conflict and not state.tickets[kept].conflict
    assert [(c.kind, c.ticket, c.event) for c in state.conflicts] == [
        ("double_decision", lost, loser.id)
    ]
    assert [e.id for e in state.press_events(press)] == [
        by_server.id if server_first else by_board.id
    ]


def test_two_tickets_with_the_same_number_the_same_day_are_flagged() -> None:
    f = Events()
    state = fold(
        SITE,
        [
            f.issue("x", 1, number=7, node="kiosk"),
            f.issue("y", 2, number=7, node="kiosk2"),
            f.issue("z", 3, number=7, service="b"),
            f.issue("w", 4, number=7, day="2026-11-24"),
        ],
    )
    assert [(c.kind, c.ticket) for c in state.conflicts] == [("duplicate_number", "y")]
    assert state.tickets["x"].conflict and state.tickets["y"].conflict
    assert not state.tickets["z"].conflict and not state.tickets["w"].conflict


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from("123"), st.booleans(), st.integers(0, 50)), max_size=30))
def test_open_counters_follow_the_last_open_or_close_by_clock(
    moves: list[tuple[str, bool, int]],
) -> None:
    f = Events()
    events = [
        (f.open if opened else f.close)(counter, at + i / 1000)
        for i, (counter, opened, at) in enumerate(moves)
    ]
    last: dict[str, tuple[float, bool]] = {}
    for i, (counter, opened, at) in enumerate(moves):
        t = at + i / 1000
        if counter not in last or t > last[counter][0]:
            last[counter] = (t, opened)
    state = fold(SITE, events)
    assert state.open_counters == {c for c, (_, opened) in last.items() if opened}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(30, 3000), max_size=30),
    st.sets(st.sampled_from("123")),
    st.integers(0, 40),
)
def test_wait_estimate_is_people_ahead_times_service_time_over_open_counters(
    durations: list[int], open_counters: set[str], ahead: int
) -> None:
    """The service time blends the configured 300 s with the median of the last
    ROLLING_SAMPLES services, each clamped to 75-1200 s, from three services on; counters
    serving the service count only when open, at least one."""
    f = Events()
    events = [f.open(c, 0.5) for c in open_counters]
    at = 1.0
    for i, d in enumerate(durations):
        events.append(f.issue(f"t{i}", at, number=i + 1))
        events.append(f.call(f"t{i}", "2", at + 1))
        events.append(f.serve(f"t{i}", "2", at + 1 + d))
        at += d + 10
    state = fold(SITE, events)
    recent = [min(1200, max(75, d)) for d in durations[-ROLLING_SAMPLES:]]
    n = len(recent)
    mean = (5 * 300 + n * statistics.median(recent)) / (5 + n) if n >= 3 else 300.0
    serving = len(open_counters)  # counters 1, 2 and 3 all take service a
    assert state.mean_service_seconds("a") == pytest.approx(mean)
    assert state.counters_serving("a") == sorted(open_counters)
    assert state.estimate_wait("a", ahead) == pytest.approx(ahead * mean / max(1, serving))


def test_service_time_runs_from_the_call_at_the_service_not_a_call_before_a_transfer() -> None:
    f = Events()
    state = fold(
        SITE,
        [
            f.issue("x", 0),
            f.call("x", "2", 100),
            f.transfer("x", "b", 160, counter="2"),
            f.call("x", "3", 1000),
            f.recall("x", "3", 1030),
            f.serve("x", "3", 1600),
        ],
    )
    assert list(state.service_times["b"]) == [600.0]
    assert "a" not in state.service_times
    assert state.tickets["x"].waited_seconds == 100.0


def test_calling_the_next_ticket_finishes_the_previous_one() -> None:
    f = Events()
    state = fold(
        SITE,
        [f.issue("x", 0), f.issue("y", 1, number=2), f.call("x", "2", 10), f.call("y", "2", 70)],
    )
    assert state.tickets["x"].status is TicketStatus.SERVED
    assert list(state.service_times["a"]) == [60.0]
    assert state.counter_ticket("2") is state.tickets["y"]
    assert state.by_token("tok-y") is state.tickets["y"]
    assert state.by_token("") is None


def test_a_service_time_of_hours_never_reaches_the_samples_of_an_estimate() -> None:
    """A call and its end 23 hours apart (a clock that was wrong, a counter left open) is not
    a service time: the samples keep only the true ones."""
    f = Events()
    state = fold(
        SITE,
        [
            f.issue("x", 0),
            f.issue("y", 1, number=2),
            f.call("x", "2", 10),
            f.serve("x", "2", 10 + 23 * 3600),
            f.call("y", "2", 20 + 23 * 3600),
            f.serve("y", "2", 320 + 23 * 3600),
        ],
    )
    assert state.tickets["x"].status is TicketStatus.SERVED
    assert list(state.service_times["a"]) == [300.0]
    assert MAX_SERVICE_SAMPLE_SECONDS < 23 * 3600
