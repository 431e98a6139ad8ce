"""An appointment checked in twice (two kiosks offline, or online at one device and offline at
another) keeps one ticket: the first issued by clock (then event id), whatever the arrival
order; the other is a "duplicate_checkin" conflict, never waiting, never called by NEXT."""

from __future__ import annotations

from collections import Counter as Tally

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tickets.events import Event, EventKind
from tickets.queue import QueueState, TicketStatus, fold

from .factory import DAY, Events, dump, make_site

SITE = make_site()
NODES = ("kiosk", "kiosk2", "server")
TICKETS = tuple(f"t{i}" for i in range(6))
APPOINTMENTS = ("rdv1", "rdv2", None)


def checkin(f: Events, ticket: str, at: float, appointment: str, node: str = "kiosk") -> Event:
    return f.make(
        EventKind.TICKET_ISSUED,
        at,
        node,
        ticket=ticket,
        service="a",
        number=int(ticket[1:]) + 1,
        day=DAY,
        appointment=appointment,
        appointment_at=1000.0,
    )


@st.composite
def checkin_soups(draw: st.DrawFn) -> list[Event]:
    """Tickets, most of them check-ins of two appointments, with clock ties, and calls,
    serves and cancels of any of them at any time."""
    f = Events()
    events = []
    for tid in draw(st.lists(st.sampled_from(TICKETS), min_size=1, max_size=6, unique=True)):
        data: dict[str, object] = {"ticket": tid, "service": "a", "number": int(tid[1:]) + 1}
        appointment = draw(st.sampled_from(APPOINTMENTS))
        if appointment is not None:
            data |= {"appointment": appointment, "appointment_at": 1000.0}
        at, node, logical = draw(st.integers(0, 5)), draw(st.sampled_from(NODES)), 0
        events.append(f.make(EventKind.TICKET_ISSUED, at, node, logical, day=DAY, **data))
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(
            st.sampled_from(
                (EventKind.TICKET_CALLED, EventKind.TICKET_SERVED, EventKind.TICKET_CANCELLED)
            )
        )
        data = {"ticket": draw(st.sampled_from(TICKETS))}
        if kind is not EventKind.TICKET_CANCELLED:
            data["counter"] = draw(st.sampled_from(("1", "2")))
        at, node = draw(st.integers(0, 10)), draw(st.sampled_from(("board", *NODES)))
        events.append(f.make(kind, at, node, draw(st.integers(0, 1)), **data))
    return events


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_duplicate_checkins_fold_the_same_in_any_order_with_one_ticket_per_appointment(
    data: st.DataObject,
) -> None:
    events = data.draw(checkin_soups())
    state = fold(SITE, events)
    reference = dump(state)

    shuffled = data.draw(st.permutations(events))
    assert dump(fold(SITE, shuffled)) == reference
    one_by_one = QueueState(SITE)
    for e in shuffled:
        one_by_one.add(e)
    assert dump(one_by_one) == reference

    waiting = Tally(t.appointment for t in state.waiting() if t.appointment is not None)
    assert all(n == 1 for n in waiting.values())
    issued = sorted(
        (e for e in events if e.kind is EventKind.TICKET_ISSUED), key=lambda e: e.sort_key()
    )
    first: dict[str, str] = {}
    for e in issued:
        if "appointment" in e.data:
            first.setdefault(e.data["appointment"], e.data["ticket"])
    for t in state.tickets.values():
        if t.appointment is not None and first[t.appointment] != t.id:
            assert t.conflict and t.duplicate_of == first[t.appointment]
            assert t.status is not TicketStatus.WAITING
    flagged = {c.ticket for c in state.conflicts if c.kind == "duplicate_checkin"}
    assert flagged == {
        t.id for t in state.tickets.values() if t.appointment and first[t.appointment] != t.id
    }
    for counter in ("1", "2", "3"):
        nxt = state.next_for(counter)
        assert nxt is None or nxt.duplicate_of is None


def test_the_first_checkin_by_clock_stands_and_the_other_is_never_called_by_next() -> None:
    f = Events()
    online = checkin(f, "t1", 10, "rdv1", node="server")
    offline = checkin(f, "t2", 5, "rdv1", node="kiosk2")  # earlier clock, arrived later
    state = fold(SITE, [online, offline])
    kept, dup = state.tickets["t2"], state.tickets["t1"]
    assert kept.status is TicketStatus.WAITING and not kept.conflict
    assert dup.status is TicketStatus.DUPLICATE and dup.duplicate_of == "t2"
    assert [t.id for t in state.waiting()] == ["t2"]
    listed = [(c.kind, c.ticket, c.kept_counter, c.other_counter, c.event) for c in state.conflicts]
    assert listed == [("duplicate_checkin", "t1", "kiosk2", "server", online.id)]
    called = fold(SITE, [online, offline, f.call("t2", "1", 20)])
    assert called.next_for("1") is None and called.next_for("2") is None
    assert called.tickets["t1"].status is TicketStatus.DUPLICATE


def test_a_clock_tie_is_broken_by_event_id() -> None:
    f = Events()
    a = checkin(f, "t1", 5, "rdv1", node="kiosk")
    b = checkin(f, "t2", 5, "rdv1", node="kiosk")
    for order in ([a, b], [b, a]):
        state = fold(SITE, order)
        assert state.tickets["t1"].status is TicketStatus.WAITING
        assert state.tickets["t2"].duplicate_of == "t1"


def test_a_duplicate_called_during_a_partition_stays_visible_as_called() -> None:
    """Both kiosks offline, and a board that only saw the second ticket called it: the call
    was heard, so both tickets stay visible (called), the second still flagged."""
    f = Events()
    events = [
        checkin(f, "t1", 5, "rdv1", node="kiosk"),
        checkin(f, "t2", 6, "rdv1", node="kiosk2"),
        f.call("t1", "1", 10),
        f.call("t2", "2", 11, node="board2"),
    ]
    state = fold(SITE, list(reversed(events)))
    assert state.tickets["t1"].status is TicketStatus.CALLED
    dup = state.tickets["t2"]
    assert dup.status is TicketStatus.CALLED and dup.counter == "2" and dup.conflict
    assert state.current == {"1": "t1", "2": "t2"}
    assert [c.kind for c in state.conflicts] == ["duplicate_checkin"]
    served = fold(SITE, [*events, f.serve("t2", "2", 20)])
    assert served.tickets["t2"].status is TicketStatus.SERVED
