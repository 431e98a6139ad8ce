"""The fold gives the same state whatever order the events arrive in, and never lets one
ticket be called at two counters without flagging it."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tickets.events import Event, EventKind
from tickets.hlc import HybridClock
from tickets.queue import QueueState, TicketStatus, fold

from .factory import DAY, Events, any_payload, dump, make_site

SITE = make_site()
NODES = ("kiosk", "kiosk2", "board", "server")
TICKETS = (*(f"t{i}" for i in range(6)), "ghost")


@st.composite
def event_soups(draw: st.DrawFn) -> list[Event]:
    """Any mix of events, legal or not, with many clock ties (small times, few nodes)."""
    f = Events()

    def clock() -> tuple[float, str, int]:
        return (
            draw(st.integers(0, 15)),
            draw(st.sampled_from(NODES)),
            draw(st.integers(0, 1)),
        )

    events = []
    for _ in range(draw(st.integers(0, 7))):
        at, node, logical = clock()
        events.append(
            f.make(
                EventKind.TICKET_ISSUED,
                at,
                node,
                logical,
                ticket=draw(st.sampled_from(TICKETS[:6])),
                service=draw(st.sampled_from(("a", "b"))),
                number=draw(st.integers(1, 4)),
                day=DAY,
                priority=draw(st.sampled_from((None, "age"))),
            )
        )
    kinds = [k for k in EventKind if k is not EventKind.TICKET_ISSUED]
    for _ in range(draw(st.integers(0, 30))):
        kind = draw(st.sampled_from(kinds))
        at, node, logical = clock()
        data = any_payload(draw, kind, TICKETS, ("1", "2", "3", "9"))
        events.append(f.make(kind, at, node, logical, **data))
    return events


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_arrival_order_gives_the_same_state(data: st.DataObject) -> None:
    events = data.draw(event_soups())
    reference = dump(fold(SITE, events))

    shuffled = data.draw(st.permutations(events))
    assert dump(fold(SITE, shuffled)) == reference

    one_by_one = QueueState(SITE)
    for e in shuffled:
        assert one_by_one.add(e)
    assert dump(one_by_one) == reference

    cuts = sorted(data.draw(st.lists(st.integers(0, len(shuffled)), max_size=4)))
    batched = QueueState(SITE)
    for lo, hi in zip([0, *cuts], [*cuts, len(shuffled)], strict=True):
        batched.extend(shuffled[lo:hi])
    assert dump(batched) == reference


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_an_event_delivered_twice_counts_once(data: st.DataObject) -> None:
    events = data.draw(event_soups())
    again = data.draw(st.lists(st.sampled_from(events), max_size=10)) if events else []
    state = fold(SITE, events)
    reference = dump(state)
    assert state.extend(again) == 0
    assert not any(state.add(e) for e in again)
    assert dump(state) == reference
    assert dump(fold(SITE, [*events, *again])) == reference


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_soups())
def test_a_copy_is_independent(events: list[Event]) -> None:
    half = len(events) // 2
    state = fold(SITE, events[:half])
    snapshot = state.copy()
    before = dump(snapshot)
    state.extend(events[half:])
    assert dump(snapshot) == before
    assert dump(state) == dump(fold(SITE, events))


class Snapshotting(QueueState):
    """The fold with a snapshot every two events: late events re-fold from snapshots."""

    CHECKPOINT_EVERY = 2
    CHECKPOINTS = 2


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_late_events_refolded_from_a_snapshot_give_the_same_state(data: st.DataObject) -> None:
    """GIVEN events in any order, some late (before events already applied) WHEN they are
    added one by one, in batches, and to a copy taken midway, to a fold that re-folds late
    events from its last snapshot before them THEN each gives the state of a fold in full."""
    events = data.draw(event_soups())
    reference = dump(fold(SITE, events))
    shuffled = data.draw(st.permutations(events))

    one_by_one = Snapshotting(SITE)
    copy: QueueState | None = None
    for i, e in enumerate(shuffled):
        assert one_by_one.add(e)
        if i == len(shuffled) // 2:
            copy = one_by_one.copy()
            frozen = dump(copy)
    assert dump(one_by_one) == reference
    if copy is not None:
        assert dump(copy) == frozen  # the snapshots it shares were not changed
        copy.extend(shuffled)
        assert dump(copy) == reference

    cuts = sorted(data.draw(st.lists(st.integers(0, len(shuffled)), max_size=4)))
    batched = Snapshotting(SITE)
    for lo, hi in zip([0, *cuts], [*cuts, len(shuffled)], strict=True):
        batched.extend(shuffled[lo:hi])
    assert dump(batched) == reference


def test_a_late_event_refolds_from_the_last_snapshot_not_from_the_start() -> None:
    """GIVEN 1,000 events applied in order WHEN one arrives that sorts just before the last
    two THEN the fold applies again only the events after its last snapshot (at most
    CHECKPOINT_EVERY and the late ones), not the thousand."""
    f = Events()
    events = [f.issue(f"t{i}", float(i), number=i + 1) for i in range(1000)]
    state = fold(SITE, events)
    applied = []
    original = QueueState._apply

    class Counting(QueueState):
        def _apply(self, e: Event) -> None:
            applied.append(e.id)
            original(self, e)

    state.__class__ = Counting
    late = f.issue("late", 997.5, number=2000)
    assert state.add(late)
    assert 3 <= len(applied) <= QueueState.CHECKPOINT_EVERY + 3 < len(events)
    assert dump(state) == dump(fold(SITE, [*events, late]))


# ---- counters acting on stale views (a network partition) --------------------------------

STEP = st.sampled_from(
    [("issue", service, priority) for service in "ab" for priority in (False, False, True)]
    + [
        (action, counter)
        for action in ("next", "next", "sync", "sync", "done", "recall", "no_show")
        for counter in "123"
    ]
)


def _partitioned_log(steps: list[tuple[object, ...]], skews: dict[str, float]) -> list[Event]:
    """Each counter's board decides from its own view, synced only on "sync" steps.

    Every device has its own hybrid clock over a skewed wall clock, and receives the clocks of
    the events it syncs, as a real board does.
    """
    now = [1000.0]
    f = Events()

    def skewed(skew: float) -> Callable[[], float]:
        return lambda: now[0] + skew

    clocks = {node: HybridClock(node, wall=skewed(skew)) for node, skew in skews.items()}
    log: list[Event] = []
    views = {c: QueueState(SITE) for c in "123"}
    seen = dict.fromkeys("123", 0)
    number = 0

    def emit(node: str, kind: EventKind, **data: object) -> Event:
        e = f.make(kind, 0, node, **data)
        e = replace(e, hlc=clocks[node].now(), wall_time=now[0])
        log.append(e)
        return e

    for step in steps:
        now[0] += 7.0
        action = str(step[0])
        if action == "issue":
            number += 1
            emit(
                "kiosk",
                EventKind.TICKET_ISSUED,
                ticket=f"t{number}",
                service=step[1],
                number=number,
                day=DAY,
                priority="age" if step[2] else None,
            )
            continue
        c = str(step[1])
        node = f"board{c}"
        view = views[c]
        if action == "sync":
            fresh = log[seen[c] :]
            for e in fresh:
                clocks[node].receive(e.hlc)
            view.extend(fresh)
            seen[c] = len(log)
            continue
        current = view.counter_ticket(c)
        if action == "next":
            ticket = view.next_for(c)
            if ticket is not None:
                view.add(emit(node, EventKind.TICKET_CALLED, ticket=ticket.id, counter=c))
        elif current is not None:
            kind = {
                "done": EventKind.TICKET_SERVED,
                "recall": EventKind.TICKET_RECALLED,
                "no_show": EventKind.TICKET_NO_SHOW,
            }[action]
            view.add(emit(node, kind, ticket=current.id, counter=c))
    return log


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(STEP, min_size=20, max_size=45),
    st.fixed_dictionaries(
        {
            node: st.sampled_from((0.0, 3600.0, -86400.0, 2.5))
            for node in ("kiosk", "board1", "board2", "board3")
        }
    ),
)
def test_a_ticket_is_never_called_twice_without_a_flag(
    steps: list[tuple[object, ...]], skews: dict[str, float]
) -> None:
    log = _partitioned_log(steps, skews)
    state = QueueState(SITE)
    for e in sorted(log, key=Event.sort_key):
        state.add(e)
        # At every point in clock order: a counter holds at most one ticket, a ticket is held
        # by at most one counter, and held means called there.
        held = list(state.current.values())
        assert len(held) == len(set(held))
        for counter, tid in state.current.items():
            t = state.tickets[tid]
            assert t.status is TicketStatus.CALLED and t.counter == counter
        for t in state.tickets.values():
            if t.status is TicketStatus.CALLED:
                assert state.current.get(t.counter or "") == t.id

    callers: dict[str, set[str]] = {}
    for e in log:
        if e.kind is EventKind.TICKET_CALLED:
            callers.setdefault(e.data["ticket"], set()).add(e.data["counter"])
    first_calls = Tally(call.ticket for call in state.calls if not call.recall)
    flagged = {c.ticket for c in state.conflicts if c.kind == "double_call"}
    for tid, counters in callers.items():
        if len(counters) > 1:
            assert tid in flagged and state.tickets[tid].conflict
        else:
            assert tid not in flagged
        assert first_calls[tid] == 1


def test_a_restamped_copy_moves_the_event_to_its_new_place() -> None:
    """GIVEN a fold holding a ticket stamped a day ahead (last in line) WHEN the server's copy,
    re-stamped at its true time, comes THEN the ticket takes that place, filed under the day of
    its new stamp and flagged (it was numbered for the day its clock said)."""
    f = Events(base=datetime(2026, 11, 23, 10, tzinfo=ZoneInfo("Europe/Paris")).timestamp())
    ahead = f.issue("late", 86_400 + 10, number=900, day="2026-11-24")
    state = fold(SITE, [f.issue("x", 0), ahead, f.issue("y", 60, number=2)])
    assert [t.id for t in state.waiting("a")] == ["x", "y", "late"]
    assert state.extend([ahead.restamped(f.issue("late", 10).hlc)]) == 1
    assert [t.id for t in state.waiting("a")] == ["x", "late", "y"]
    moved = state.tickets["late"]
    assert (moved.day, moved.misdated, moved.number) == (DAY, True, 900)
    assert state.extend([ahead.restamped(f.issue("late", 10).hlc)]) == 0, "the same copy again"
    assert len(state.events) == 3
