"""The fold's lines of waiting tickets (``QueueState.lines``) say what a scan of every ticket
says: who waits, in which order, how many are ahead of a ticket and who a counter calls next,
for any events in any arrival order (late events re-folded from a snapshot, re-stamped ones
moved), appointments and priority tickets included."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tickets import appointments
from tickets.events import Event, EventKind
from tickets.hlc import Timestamp
from tickets.model import PriorityRule, Site
from tickets.queue import QueueState, Ticket, TicketStatus, fold

from .factory import DAY, Events, any_payload, make_site

OTHER_DAY = "2026-11-24"
NODES = ("kiosk", "kiosk2", "board", "server")
TICKETS = tuple(f"t{i}" for i in range(8))
COUNTERS = ("1", "2", "3", "9")
STEP = 50.0
"""Seconds between two clock values the events draw: appointments fall due, early or late."""


class Snapshotting(QueueState):
    """Takes a snapshot every 3 events, so late events re-fold from one."""

    CHECKPOINT_EVERY = 3


# ---- what a scan of every ticket says (the rules as written before the lines) ----------------
def scan_waiting(state: QueueState, service: str | None, day: str | None) -> list[str]:
    out = [
        t
        for t in state.tickets.values()
        if t.status is TicketStatus.WAITING
        and (service is None or t.service == service)
        and (day is None or t.day == day)
    ]
    return [t.id for t in sorted(out, key=Ticket.queue_key)]


def scan_people_ahead(state: QueueState, tid: str) -> int:
    t = state.tickets[tid]
    if t.status is not TicketStatus.WAITING:
        return 0
    return sum(
        1
        for o in state.tickets.values()
        if o.status is TicketStatus.WAITING
        and o.service == t.service
        and o.day == t.day
        and o.queue_key() < t.queue_key()
    )


def scan_next_for(state: QueueState, counter_id: str, day: str | None, now: float) -> str | None:
    counter = state.site.counter(counter_id)
    if counter is None:
        return None
    rank = {service: i for i, service in enumerate(counter.services)}
    candidates = [
        t
        for t in state.tickets.values()
        if t.status is TicketStatus.WAITING and t.service in rank and (day is None or t.day == day)
    ]

    def walk_in_order(t: Ticket) -> tuple[object, ...]:
        if state.site.priority_rule is PriorityRule.WITHIN_SERVICE:
            return (rank[t.service], t.priority is None, t.issued_hlc, t.id)
        return (t.priority is None, rank[t.service], t.issued_hlc, t.id)

    picked = appointments.pick(
        candidates,
        rank,
        state.site.calling,
        now,
        state.appointment_streak.get(counter_id, 0),
        walk_in_order,
    )
    return picked.id if picked is not None else None


def assert_lines_agree_with_a_scan(state: QueueState) -> None:
    for service in (None, "a", "b"):
        for day in (None, DAY, OTHER_DAY):
            assert [t.id for t in state.waiting(service, day)] == scan_waiting(state, service, day)
    for tid in state.tickets:
        assert state.people_ahead(tid) == scan_people_ahead(state, tid)
    for counter in COUNTERS:
        for day in (None, DAY, OTHER_DAY):
            for now in (0.0, 10 * STEP, 40 * STEP):
                t = state.next_for(counter, day, now)
                assert (t.id if t else None) == scan_next_for(state, counter, day, now)
    for line in state.lines.values():  # no empty line kept; the booked ones are the line's own
        assert line.keys
        assert line.booked <= {k[-1] for k in line.keys}


# ---- events ----------------------------------------------------------------------------------
@st.composite
def days_of_events(draw: st.DrawFn) -> list[Event]:
    """Tickets of two services and two days, walk-ins, priority and checked-in appointments
    (due, early or late), then any mix of what counters and kiosks do to them, legal or not,
    with clock ties."""
    f = Events()

    def clock() -> tuple[float, str, int]:
        return (
            draw(st.integers(0, 40)) * STEP,
            draw(st.sampled_from(NODES)),
            draw(st.integers(0, 1)),
        )

    events = []
    for number, tid in enumerate(draw(st.lists(st.sampled_from(TICKETS), max_size=10)), 1):
        at, node, logical = clock()
        data: dict[str, object] = {
            "ticket": tid,
            "service": draw(st.sampled_from(("a", "b"))),
            "number": number,
            "day": draw(st.sampled_from((DAY, DAY, OTHER_DAY))),
            "priority": draw(st.sampled_from((None, None, "age"))),
        }
        booked = draw(st.sampled_from((None, None, -30 * STEP, 2 * STEP, 20 * STEP)))
        if booked is not None:
            data["appointment"] = f"rdv-{draw(st.integers(0, 3))}"
            data["appointment_at"] = at + booked
        events.append(f.make(EventKind.TICKET_ISSUED, at, node, logical, **data))
    kinds = [k for k in EventKind if k is not EventKind.TICKET_ISSUED]
    for _ in range(draw(st.integers(0, 30))):
        kind = draw(st.sampled_from(kinds))
        at, node, logical = clock()
        events.append(f.make(kind, at, node, logical, **any_payload(draw, kind, TICKETS, COUNTERS)))
    return events


SITES = st.builds(
    lambda rule, max_recalls: replace(make_site(max_recalls), priority_rule=rule),
    st.sampled_from(PriorityRule),
    st.integers(0, 2),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SITES, days_of_events(), st.data())
def test_lines_agree_with_a_scan_after_every_event_in_any_order(
    site: Site, events: list[Event], data: st.DataObject
) -> None:
    arrival = data.draw(st.permutations(events))
    state = Snapshotting(site)
    for e in arrival:
        if data.draw(st.booleans()):
            state.add(e)
        else:
            state.extend([e])
        assert_lines_agree_with_a_scan(state)
    assert_lines_agree_with_a_scan(fold(site, events))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SITES, days_of_events(), st.data())
def test_lines_agree_with_a_scan_when_events_are_restamped(
    site: Site, events: list[Event], data: st.DataObject
) -> None:
    """An event folded before comes again with another stamp (the server re-stamped it): it
    moves, and the lines follow."""
    state = Snapshotting(site)
    state.extend(events)
    if not events:
        return
    moved = data.draw(st.lists(st.sampled_from(events), max_size=4, unique_by=lambda e: e.id))
    again = [
        replace(e, hlc=Timestamp(data.draw(st.integers(0, 40)) * 50_000, 0, "server"))
        for e in moved
    ]
    state.extend(again)
    assert_lines_agree_with_a_scan(state)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SITES, days_of_events())
def test_a_state_made_from_tickets_alone_builds_its_lines(site: Site, events: list[Event]) -> None:
    """``QueueState(site, tickets=...)`` (a report replaying two tickets) has the lines its
    tickets make, and so have copies of a fold."""
    folded = fold(site, events)
    made = QueueState(site, tickets=dict(folded.tickets))
    assert_lines_agree_with_a_scan(made)
    assert made.lines == folded.lines
    assert folded.copy().lines == folded.lines
