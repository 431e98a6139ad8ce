"""The queue rules: a site's queue state is a pure fold over its events.

Same events, same state, whatever order they arrived in: the fold sorts events by hybrid
logical clock (then id) before applying them. Events are facts reported by devices, possibly
while offline, so a transition the rules do not allow is never an exception: it is ignored,
or, when a ticket is called twice (two counters, or one counter again), kept and flagged as a
conflict.

Who is next for a counter: among the waiting tickets of the services the counter takes,
priority tickets first, then the counter's service preference order, then the oldest issue
(or, with the site's ``priority_rule`` "within_service", the preference order first).
A transferred or reactivated ticket keeps its original issue time, hence its place.

The fold keeps the waiting tickets in lines, one per service and day, in calling order
(``Line``): who is next and how many are ahead read a line, not the whole day's tickets.
The lines are derived from the tickets' statuses as each event is applied, so they say what
a scan of the tickets would say (tests/tickets/test_queue_lines.py).
"""

from __future__ import annotations

import bisect
import copy
import heapq
from collections import deque
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import ClassVar, NamedTuple

from tickets import appointments
from tickets.estimate import service_seconds
from tickets.events import Event, EventKind
from tickets.hlc import Timestamp
from tickets.model import PriorityRule, Site

ROLLING_SAMPLES = 20
"""How many recent service times of a service the estimate uses."""
MAX_SERVICE_SAMPLE_SECONDS = 3 * 3600.0
"""A service time longer than this is not a service time (a clock that was wrong, a counter
left open over lunch): it never enters the samples, so never an estimate (seconds)."""
CALL_HISTORY = 50


class TicketStatus(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVED = "served"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    DUPLICATE = "duplicate"
    """A second check-in of an appointment that already has a ticket: never waiting, never
    called by NEXT (a "duplicate_checkin" conflict). Called anyway (by a device that did not
    know of the first ticket), it becomes a called ticket like any other."""


FINISHED = frozenset({TicketStatus.SERVED, TicketStatus.NO_SHOW, TicketStatus.CANCELLED})


def label(prefix: str, number: int) -> str:
    """The printed and announced form of a number: A042, B1005."""
    return f"{prefix}{number:03d}"


class Outcome(StrEnum):
    """How a passage through one service's queue ended (or where it stands)."""

    WAITING = "waiting"
    CALLED = "called"
    SERVED = "served"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    TRANSFERRED = "transferred"
    DUPLICATE = "duplicate"


class Joined(StrEnum):
    """How a ticket joined a service's queue."""

    ISSUE = "issue"
    TRANSFER = "transfer"
    REACTIVATION = "reactivation"


class Passage(NamedTuple):
    """One stay of a ticket in one service's queue: from joining it (issue, transfer or
    reactivation after a no-show) to leaving it (served, no-show, cancelled, transferred on).
    A transferred ticket has one passage per service it went through; statistics count each
    passage under its own service (docs/statistics.md). Immutable: the fold replaces a
    ticket's last passage when it changes, so copies of a state share them safely."""

    service: str
    joined_at: float
    joined_by: Joined
    called_at: float | None = None
    """The call that took it from this queue (``Event.at``)."""
    last_called_at: float | None = None
    counter: str | None = None
    recalls: int = 0
    ended_at: float | None = None
    outcome: Outcome = Outcome.WAITING

    @property
    def waited_seconds(self) -> float | None:
        return None if self.called_at is None else max(0.0, self.called_at - self.joined_at)

    @property
    def service_seconds(self) -> float | None:
        """Call to end, for a passage served or transferred on after its call."""
        if self.outcome not in (Outcome.SERVED, Outcome.TRANSFERRED):
            return None
        if self.called_at is None or self.ended_at is None:
            return None
        return max(0.0, self.ended_at - self.called_at)


@dataclass(slots=True)
class Ticket:
    id: str
    service: str
    number: int
    label: str
    day: str
    issued_hlc: Timestamp
    issued_at: float
    device: str
    priority: str | None = None
    token: str = ""
    lang: str = ""
    original_service: str = ""
    status: TicketStatus = TicketStatus.WAITING
    counter: str | None = None
    called_at: float | None = None
    """First call (seconds since the epoch, the event's time: ``Event.at``)."""
    last_called_at: float | None = None
    service_started_at: float | None = None
    """When the call that took the ticket from the waiting line happened: a service time is
    measured from it (not from a first call at another service before a transfer)."""
    finished_at: float | None = None
    recalls: int = 0
    transfers: int = 0
    conflict: bool = False
    misdated: bool = False
    """Numbered for another day than the one it was issued on (its kiosk's clock was wrong,
    and the server re-stamped it): it belongs to the day of its stamp (``day``), where it is
    called like any other, and staff see the flag."""
    passages: list[Passage] = field(default_factory=list)
    """Its stays in each service's queue, in order; the last one is the current."""
    appointment: str | None = None
    """The appointment this ticket was checked in for (its id); None for a walk-in."""
    appointment_at: float | None = None
    """That appointment's time (seconds since the epoch): see ``tickets.appointments``."""
    note: str = ""
    """A note for the counter agent (reception's, at check-in)."""
    duplicate_of: str | None = None
    """For a second check-in of the same appointment: the ticket that stands (the one issued
    first by clock, then event id)."""

    def queue_key(self) -> tuple[bool, Timestamp, str]:
        return (self.priority is None, self.issued_hlc, self.id)

    @property
    def waited_seconds(self) -> float | None:
        return None if self.called_at is None else max(0.0, self.called_at - self.issued_at)


@dataclass(frozen=True, slots=True)
class Call:
    """One call shown on the board: a first call or a recall."""

    ticket: str
    label: str
    service: str
    counter: str
    at: float
    recall: bool
    event: str


@dataclass(frozen=True, slots=True)
class Conflict:
    """Two devices disagreed during a partition: kept and flagged, never silently dropped.

    ``kind`` is "double_call" (the ticket was called again, at another counter or the same
    one, while called or after it was finished; the earlier call by clock is kept),
    "double_decision" (one button press decided twice, by the server and by the board that
    stopped waiting for its answer; the first decision by clock is kept, the other's call is
    listed), "finished_elsewhere" (a counter finished a ticket another counter holds),
    "duplicate_number" (two tickets with the same number the same day) or "duplicate_checkin"
    (an appointment checked in twice: the ticket issued first by clock stands, the other is
    ``TicketStatus.DUPLICATE``; the counters hold the devices that issued them).
    """

    kind: str
    ticket: str
    label: str
    kept_counter: str
    other_counter: str
    event: str
    """The id of the event that lost."""


LineKey = tuple[bool, int, int, str, str]
"""``Ticket.queue_key`` as plain values (no priority, clock millis, logical, node, id): the
same order, compared in C."""


def line_key(t: Ticket) -> LineKey:
    h = t.issued_hlc
    return (t.priority is None, h.millis, h.logical, h.node, t.id)


@dataclass(slots=True)
class Line:
    """The waiting tickets of one service on one day, in calling order within the service
    (priority first, then oldest issue: ``Ticket.queue_key``)."""

    keys: list[LineKey] = field(default_factory=list)
    booked: set[str] = field(default_factory=set)
    """The ids of its checked-in appointments called as such (``appointments.is_appointment``):
    ``next_for`` reads them all, and only the first walk-in of the line."""

    def copy(self) -> Line:
        return Line(list(self.keys), set(self.booked))

    def first_walk_in(self) -> str | None:
        booked = self.booked
        if not booked:
            return self.keys[0][-1] if self.keys else None
        return next((k[-1] for k in self.keys if k[-1] not in booked), None)


@dataclass
class QueueState:
    site: Site
    tickets: dict[str, Ticket] = field(default_factory=dict)
    open_counters: set[str] = field(default_factory=set)
    current: dict[str, str] = field(default_factory=dict)
    """Counter id -> the ticket it called and has not finished."""
    calls: deque[Call] = field(default_factory=lambda: deque(maxlen=CALL_HISTORY))
    conflicts: list[Conflict] = field(default_factory=list)
    presses: dict[str, str] = field(default_factory=dict)
    """Press id -> the clock node that decided it (events carrying ``press``)."""
    service_times: dict[str, deque[float]] = field(default_factory=dict)
    appointment_streak: dict[str, int] = field(default_factory=dict)
    """Counter id -> appointments it called in a row (``tickets.appointments.pick``)."""
    lines: dict[tuple[str, str], Line] = field(default_factory=dict)
    """(service, day) -> its waiting tickets (none empty). Kept by the fold; a state made
    from tickets alone (``QueueState(site, tickets=...)``) builds them from the tickets."""
    _events: list[Event] = field(default_factory=list)
    _keys: list[tuple[int, int, str, str]] = field(default_factory=list)
    _ids: dict[str, Timestamp] = field(default_factory=dict)
    """Event id -> the stamp it is folded at."""
    _numbers: dict[tuple[str, str, int], str] = field(default_factory=dict)
    _issues: dict[str, Event] = field(default_factory=dict)
    """Ticket id -> the TicketIssued that made it (``issue_event``)."""
    _checkins: dict[str, str] = field(default_factory=dict)
    """Appointment id -> the ticket that stands for it (the first check-in by clock)."""
    _checkpoints: list[tuple[int, QueueState]] = field(
        default_factory=list, repr=False, compare=False
    )
    """(n, the fold after the first n events): snapshots a late event re-folds from."""
    _shared: set[str] = field(default_factory=set, repr=False, compare=False)
    """Tickets whose objects a copy or a snapshot holds too: the fold copies one before it
    changes it (``_ticket``), so taking a copy or a snapshot copies no ticket."""

    def __post_init__(self) -> None:
        if self.tickets and not self.lines:
            for t in self.tickets.values():
                self._join_line(t)

    # ---- building the state -------------------------------------------------------------
    CHECKPOINT_EVERY: ClassVar[int] = 200
    """Events between two snapshots of the fold: a late event re-folds from the last
    snapshot before it, not from the first event of the window."""
    CHECKPOINTS: ClassVar[int] = 2
    """Snapshots kept (the most recent): an event later than that re-folds in full."""

    def add(self, event: Event) -> bool:
        """Adds one event; returns False for one already applied. A late event (one that
        sorts before events already applied) re-folds from the last snapshot before it, and
        so does one applied before with another stamp (re-stamped: ``extend``)."""
        if event.id in self._ids:
            return self.extend([event]) > 0
        key = _order(event)
        self._ids[event.id] = event.hlc
        if not self._keys or key > self._keys[-1]:
            self._append(event, key)
            return True
        pos = bisect.bisect(self._keys, key)
        self._keys.insert(pos, key)
        self._events.insert(pos, event)
        self._refold_from(pos)
        return True

    def extend(self, events: list[Event]) -> int:
        """Adds many events at once (one re-fold at most); returns how many were new or moved.

        An event already applied that comes again with another stamp (the server re-stamped it
        at receipt: its copy is final) takes its new place."""
        unique = {e.id: e for e in events if self._ids.get(e.id) != e.hlc}
        if not unique:
            return 0
        moved = [i for i in unique if i in self._ids]
        first = len(self._events)
        if moved:  # rare: out with the old places (a scan), in with the new below
            gone = set(moved)
            first = next(i for i, e in enumerate(self._events) if e.id in gone)
            kept = [e for e in self._events[first:] if e.id not in gone]
            self._events[first:] = kept
            self._keys[first:] = [_order(e) for e in kept]
        batch = sorted(unique.values(), key=_order)
        self._ids.update({i: e.hlc for i, e in unique.items()})
        if not moved and (not self._keys or _order(batch[0]) > self._keys[-1]):
            # Snapshots over the last stretch only, as a re-fold takes them: one every
            # CHECKPOINT_EVERY events of a large batch would copy the state hundreds of times.
            snapshots_from = len(self._events) + len(batch) - self._snapshot_span()
            for e in batch:
                self._append(e, _order(e), snapshot=len(self._events) + 1 >= snapshots_from)
        else:
            pos = min(first, bisect.bisect(self._keys, _order(batch[0])))
            tail = list(heapq.merge(self._events[pos:], batch, key=_order))
            self._events[pos:] = tail
            self._keys[pos:] = [_order(e) for e in tail]
            self._refold_from(pos)
        return len(unique)

    @property
    def events(self) -> list[Event]:
        return list(self._events)

    def copy(self) -> QueueState:
        """An independent copy: events added to one later do not show in the other."""
        out = self._derived_copy()
        out._events = list(self._events)
        out._keys = list(self._keys)
        out._ids = dict(self._ids)
        out._checkpoints = list(self._checkpoints)  # never changed once taken: shared
        return out

    def _derived_copy(self) -> QueueState:
        """A copy of what the fold decided, without the events. Its tickets are this state's
        objects, shared: both copy one before changing it (``_ticket``)."""
        self._shared = set(self.tickets)
        out = QueueState(
            site=self.site,
            tickets=dict(self.tickets),
            open_counters=set(self.open_counters),
            current=dict(self.current),
            calls=deque(self.calls, maxlen=CALL_HISTORY),
            conflicts=list(self.conflicts),
            presses=dict(self.presses),
            service_times={
                s: deque(v, maxlen=ROLLING_SAMPLES) for s, v in self.service_times.items()
            },
            appointment_streak=dict(self.appointment_streak),
            lines={k: line.copy() for k, line in self.lines.items()},
            _numbers=dict(self._numbers),
            _issues=dict(self._issues),
            _checkins=dict(self._checkins),
        )
        out._shared = set(self._shared)
        return out

    @property
    def last_hlc(self) -> Timestamp | None:
        return self._events[-1].hlc if self._events else None

    def _append(
        self, event: Event, key: tuple[int, int, str, str], *, snapshot: bool = True
    ) -> None:
        self._keys.append(key)
        self._events.append(event)
        self._apply(event)
        if snapshot:
            self._checkpoint_at(len(self._events))

    def _snapshot_span(self) -> int:
        """How many of the last events the kept snapshots cover."""
        return self.CHECKPOINT_EVERY * self.CHECKPOINTS

    def _refold_from(self, pos: int) -> None:
        """Applies the events again from ``pos`` on (an event was inserted there): from the
        last snapshot taken at or before ``pos``, else from the start."""
        while self._checkpoints and self._checkpoints[-1][0] > pos:
            self._checkpoints.pop()  # taken without the inserted event
        start, snapshot = self._checkpoints[-1] if self._checkpoints else (0, None)
        restored = snapshot._derived_copy() if snapshot else QueueState(self.site)
        for f in fields(self):
            if f.name not in _NOT_DERIVED:
                setattr(self, f.name, getattr(restored, f.name))
        # Snapshots again over the last stretch only (older ones would be dropped at once).
        snapshots_from = len(self._events) - self._snapshot_span()
        for i in range(start, len(self._events)):
            self._apply(self._events[i])
            if i + 1 >= snapshots_from:
                self._checkpoint_at(i + 1)

    def _checkpoint_at(self, n: int) -> None:
        """A snapshot of the fold after ``n`` events, when ``CHECKPOINT_EVERY`` events were
        applied since the last one."""
        last = self._checkpoints[-1][0] if self._checkpoints else 0
        if n - last >= self.CHECKPOINT_EVERY:
            self._checkpoints.append((n, self._derived_copy()))
            del self._checkpoints[: max(0, len(self._checkpoints) - self.CHECKPOINTS)]

    def _apply(self, e: Event) -> None:
        press = e.data.get("press")
        if press is not None and self.presses.setdefault(press, e.hlc.node) != e.hlc.node:
            self._decided_twice(e)
            return
        handler = _HANDLERS[e.kind]
        tid = e.data.get("ticket")
        before = self.tickets.get(tid) if tid is not None else None
        if before is None or before.status is not TicketStatus.WAITING:
            handler(self, e)
            after = self.tickets.get(tid) if tid is not None else None
            if after is not None and after.status is TicketStatus.WAITING:
                self._join_line(after)
            return
        # Only the event's own ticket changes status or service (a call ends the counter's
        # previous ticket, which was called, not waiting).
        service = before.service
        handler(self, e)
        after = self.tickets[before.id]
        if after.status is not TicketStatus.WAITING or after.service != service:
            self._leave_line(after, service)
            if after.status is TicketStatus.WAITING:
                self._join_line(after)

    def _join_line(self, t: Ticket) -> None:
        if t.status is not TicketStatus.WAITING:
            return
        line = self.lines.get((t.service, t.day))
        if line is None:
            line = self.lines[(t.service, t.day)] = Line()
        bisect.insort(line.keys, line_key(t))
        if appointments.is_appointment(t, self.site.calling):
            line.booked.add(t.id)

    def _leave_line(self, t: Ticket, service: str) -> None:
        line = self.lines[(service, t.day)]
        key = line_key(t)
        i = bisect.bisect_left(line.keys, key)
        assert line.keys[i] == key, "a waiting ticket is in its line"
        del line.keys[i]
        line.booked.discard(t.id)
        if not line.keys:
            del self.lines[(service, t.day)]

    def _ticket(self, tid: str) -> Ticket | None:
        """The ticket, to change: copied first when a copy or a snapshot shares it."""
        t = self.tickets.get(tid)
        if t is not None and tid in self._shared:
            t = self.tickets[tid] = _ticket_copy(t)
            self._shared.discard(tid)
        return t

    def _decided_twice(self, e: Event) -> None:
        """An event of a press another node decided first (by clock): the server acted on a
        press after the board had stopped waiting and decided it too. The first decision
        stands; a call of the other is flagged, the rest of it is moot."""
        if e.kind is not EventKind.TICKET_CALLED:
            return
        counter = e.data["counter"]
        t = self._ticket(e.data["ticket"])
        if t is not None:
            t.conflict = True
        name = t.label if t is not None else e.data["ticket"]
        self.conflicts.append(
            Conflict("double_decision", e.data["ticket"], name, counter, counter, e.id)
        )

    def press_events(self, press: str) -> list[Event]:
        """The events of the decision that stands for this press, in clock order."""
        node = self.presses.get(press)
        return [e for e in self._events if e.data.get("press") == press and e.hlc.node == node]

    # ---- handlers -----------------------------------------------------------------------
    def _issued(self, e: Event) -> None:
        d = e.data
        tid = d["ticket"]
        if tid in self.tickets:
            return
        service = self.site.service(d["service"])
        prefix = service.prefix if service else d.get("label", "?")[:1]
        day = d["day"]
        if e.original_hlc is not None:
            # Re-stamped at receipt: its author's clock was wrong, and so may be its day.
            day = self.site.day(e.hlc.seconds).isoformat()
        ticket = Ticket(
            id=tid,
            service=d["service"],
            number=d["number"],
            label=d.get("label") or label(prefix, d["number"]),
            day=day,
            misdated=day != d["day"],
            issued_hlc=e.hlc,
            issued_at=e.at,
            device=e.device,
            priority=d.get("priority"),
            token=d.get("token", ""),
            lang=d.get("lang", ""),
            original_service=d["service"],
            passages=[Passage(d["service"], e.at, Joined.ISSUE)],
            appointment=d.get("appointment"),
            appointment_at=d.get("appointment_at"),
            note=d.get("note", ""),
        )
        key = (d["day"], ticket.service, ticket.number)
        if key in self._numbers:
            ticket.conflict = True
            first = self._ticket(self._numbers[key])
            assert first is not None
            first.conflict = True
            self.conflicts.append(
                Conflict("duplicate_number", tid, ticket.label, first.device, e.device, e.id)
            )
        else:
            self._numbers[key] = tid
        if ticket.appointment is not None:
            first_id = self._checkins.setdefault(ticket.appointment, tid)
            if first_id != tid:
                # Checked in twice (two devices apart, or one that did not know): the fold
                # sorts by clock, so the ticket kept is the earliest in any arrival order.
                ticket.conflict = True
                ticket.status = TicketStatus.DUPLICATE
                ticket.duplicate_of = first_id
                ticket.passages[-1] = ticket.passages[-1]._replace(outcome=Outcome.DUPLICATE)
                first = self.tickets[first_id]
                self.conflicts.append(
                    Conflict("duplicate_checkin", tid, ticket.label, first.device, e.device, e.id)
                )
        self.tickets[tid] = ticket
        self._issues[tid] = e

    def _called(self, e: Event) -> None:
        t = self._ticket(e.data["ticket"])
        counter = e.data["counter"]
        if t is None:
            return
        if t.status in (TicketStatus.WAITING, TicketStatus.DUPLICATE):
            # A duplicate check-in called anyway (its device did not know of the first
            # ticket): the call was heard, so it is a called ticket, still flagged.
            self._finish_current(counter, e.at)
            t.status = TicketStatus.CALLED
            t.counter = counter
            t.called_at = t.called_at or e.at
            t.last_called_at = e.at
            t.service_started_at = e.at
            t.passages[-1] = t.passages[-1]._replace(
                called_at=e.at, last_called_at=e.at, counter=counter, outcome=Outcome.CALLED
            )
            self.current[counter] = t.id
            self.calls.append(Call(t.id, t.label, t.service, counter, e.at, False, e.id))
            booked = appointments.is_appointment(t, self.site.calling)
            self.appointment_streak[counter] = (
                self.appointment_streak.get(counter, 0) + 1 if booked else 0
            )
        elif t.called_at is not None:
            # Called again, at another counter or the same one, while called or after it was
            # finished: the waiting room heard it twice. The first call by clock stands.
            t.conflict = True
            kept = t.counter or ""
            self.conflicts.append(Conflict("double_call", t.id, t.label, kept, counter, e.id))

    def _recalled(self, e: Event) -> None:
        t = self._ticket(e.data["ticket"])
        if t is None or t.status is not TicketStatus.CALLED or t.counter != e.data["counter"]:
            return
        if t.recalls >= self.site.max_recalls:
            self._end(t, TicketStatus.NO_SHOW, e.at)
            return
        t.recalls += 1
        t.last_called_at = e.at
        p = t.passages[-1]
        t.passages[-1] = p._replace(recalls=p.recalls + 1, last_called_at=e.at)
        counter = e.data["counter"]
        self.calls.append(Call(t.id, t.label, t.service, counter, e.at, True, e.id))

    def _served(self, e: Event) -> None:
        t = self._ticket(e.data["ticket"])
        if t is None or t.status is not TicketStatus.CALLED:
            return
        if t.counter != e.data["counter"]:
            t.conflict = True
            self.conflicts.append(
                Conflict(
                    "finished_elsewhere", t.id, t.label, t.counter or "", e.data["counter"], e.id
                )
            )
            return
        self._end(t, TicketStatus.SERVED, e.at)

    def _no_show(self, e: Event) -> None:
        t = self._ticket(e.data["ticket"])
        if t is None or t.status not in (TicketStatus.CALLED, TicketStatus.WAITING):
            return
        if t.status is TicketStatus.CALLED and t.counter != e.data["counter"]:
            # The losing counter of a double call gave up on a ticket another counter holds.
            t.conflict = True
            self.conflicts.append(
                Conflict(
                    "finished_elsewhere", t.id, t.label, t.counter or "", e.data["counter"], e.id
                )
            )
            return
        self._end(t, TicketStatus.NO_SHOW, e.at)

    def _reactivated(self, e: Event) -> None:
        t = self._ticket(e.data["ticket"])
        if t is None or t.status is not TicketStatus.NO_SHOW:
            return
        t.status = TicketStatus.WAITING
        t.counter = None
        t.recalls = 0
        t.service_started_at = None
        t.finished_at = None
        t.passages.append(Passage(t.service, e.at, Joined.REACTIVATION))

    def _transferred(self, e: Event) -> None:
        t = self._ticket(e.data["ticket"])
        target = e.data["service"]
        if t is None or t.status not in (TicketStatus.CALLED, TicketStatus.WAITING):
            return
        if self.site.service(target) is None:
            return
        if t.counter is not None and self.current.get(t.counter) == t.id:
            del self.current[t.counter]
        t.passages[-1] = t.passages[-1]._replace(ended_at=e.at, outcome=Outcome.TRANSFERRED)
        t.passages.append(Passage(target, e.at, Joined.TRANSFER))
        t.status = TicketStatus.WAITING
        t.service = target
        t.counter = None
        t.recalls = 0
        t.service_started_at = None
        t.transfers += 1

    def _cancelled(self, e: Event) -> None:
        t = self._ticket(e.data["ticket"])
        if t is not None and t.status is TicketStatus.WAITING:
            self._end(t, TicketStatus.CANCELLED, e.at)

    def _counter_opened(self, e: Event) -> None:
        self.open_counters.add(e.data["counter"])

    def _counter_closed(self, e: Event) -> None:
        self.open_counters.discard(e.data["counter"])

    def _finish_current(self, counter: str, at: float) -> None:
        """A counter that calls a new ticket has finished with the one it was serving."""
        previous = self.current.get(counter)
        if previous is not None:
            t = self._ticket(previous)
            if t is not None and t.status is TicketStatus.CALLED and t.counter == counter:
                self._end(t, TicketStatus.SERVED, at)

    def _end(self, t: Ticket, status: TicketStatus, at: float) -> None:
        if status is TicketStatus.SERVED and t.service_started_at is not None:
            took = max(0.0, at - t.service_started_at)
            if took <= MAX_SERVICE_SAMPLE_SECONDS:
                samples = self.service_times.setdefault(t.service, deque(maxlen=ROLLING_SAMPLES))
                samples.append(took)
        if t.counter is not None and self.current.get(t.counter) == t.id:
            del self.current[t.counter]
        t.status = status
        t.finished_at = at
        t.passages[-1] = t.passages[-1]._replace(ended_at=at, outcome=Outcome(status.value))

    # ---- reading the state --------------------------------------------------------------
    def waiting(self, service: str | None = None, day: str | None = None) -> list[Ticket]:
        """Waiting tickets in calling order (priority first, then oldest issue)."""
        keys = [
            line.keys
            for (s, d), line in self.lines.items()
            if (service is None or s == service) and (day is None or d == day)
        ]
        ordered = keys[0] if len(keys) == 1 else sorted(k for ks in keys for k in ks)
        return [self.tickets[k[-1]] for k in ordered]

    def next_for(
        self, counter_id: str, day: str | None = None, now: float | None = None
    ) -> Ticket | None:
        """The ticket this counter should call at ``now`` (seconds since the epoch; default:
        the time of the newest event), or None when nobody waits for it.

        Among the waiting tickets of the counter's services (of ``day`` when given): checked-in
        appointments by ``tickets.appointments.pick`` (due ones ahead of walk-ins, within its
        bound); walk-ins with the site's ``priority_rule``: across services, priority tickets
        first, then the counter's preference order of services, then the oldest issue; within
        a service, the preference order first, then priority tickets, then the oldest issue.
        Whether the service is open now plays no part: everyone who took a ticket is received
        (docs/queue.md)."""
        counter = self.site.counter(counter_id)
        if counter is None:
            return None
        rank = {service: i for i, service in enumerate(counter.services)}
        # Within one line the walk-ins' order is the line's (the service's rank is the same for
        # all), so its first walk-in stands for the others; appointments go by their time.
        candidates: list[Ticket] = []
        for (service, d), line in self.lines.items():
            if service not in rank or (day is not None and d != day):
                continue
            candidates += [self.tickets[i] for i in line.booked]
            first = line.first_walk_in()
            if first is not None:
                candidates.append(self.tickets[first])
        if not candidates:
            return None
        if now is None:
            now = self._events[-1].at if self._events else 0.0

        def walk_in_order(t: Ticket) -> tuple[object, ...]:
            if self.site.priority_rule is PriorityRule.WITHIN_SERVICE:
                return (rank[t.service], t.priority is None, t.issued_hlc, t.id)
            return (t.priority is None, rank[t.service], t.issued_hlc, t.id)

        return appointments.pick(
            candidates,
            rank,
            self.site.calling,
            now,
            self.appointment_streak.get(counter_id, 0),
            walk_in_order,
        )

    def people_ahead(self, ticket_id: str) -> int:
        t = self.tickets[ticket_id]
        if t.status is not TicketStatus.WAITING:
            return 0
        return bisect.bisect_left(self.lines[(t.service, t.day)].keys, line_key(t))

    def mean_service_seconds(self, service_id: str) -> float:
        """The service time estimates use: the configured duration blended with the last
        ROLLING_SAMPLES observed ones (tickets.estimate.service_seconds)."""
        service = self.site.service(service_id)
        configured = service.mean_service_seconds if service else 300.0
        return service_seconds(configured, self.service_times.get(service_id, ()))

    def counters_serving(self, service_id: str) -> list[str]:
        return [
            c.id
            for c in self.site.counters
            if service_id in c.services and c.id in self.open_counters
        ]

    def estimate_wait(self, service_id: str, ahead: int) -> float:
        """Seconds until someone with ``ahead`` people before them is called.

        people ahead x estimated service time / open counters serving the service
        (at least one: a service whose counters are all closed is estimated as if one opened).
        """
        counters = max(1, len(self.counters_serving(service_id)))
        return ahead * self.mean_service_seconds(service_id) / counters

    def expected_start(self, ticket_id: str, now: float) -> float | None:
        """When a waiting checked-in appointment (not late) is expected to be called (seconds
        since the epoch): ``tickets.appointments.expected_start`` with the wait estimate of
        the appointments ahead of it (``estimate_wait``). None for any other ticket."""
        t = self.tickets.get(ticket_id)
        rules = self.site.calling
        if (
            t is None
            or t.status is not TicketStatus.WAITING
            or t.appointment_at is None
            or not appointments.is_appointment(t, rules)
        ):
            return None
        ahead = appointments.ahead_of(t, self.waiting(t.service, t.day), rules)
        return appointments.expected_start(
            t.appointment_at, now, self.estimate_wait(t.service, ahead)
        )

    def issue_event(self, ticket_id: str) -> Event | None:
        """The TicketIssued event that made this ticket (as folded: stored, on the server)."""
        return self._issues.get(ticket_id)

    def counter_ticket(self, counter_id: str) -> Ticket | None:
        tid = self.current.get(counter_id)
        return self.tickets.get(tid) if tid else None

    def by_token(self, token: str) -> Ticket | None:
        if not token:
            return None
        return next((t for t in self.tickets.values() if t.token == token), None)


def _ticket_copy(t: Ticket) -> Ticket:
    """A ticket the fold may change without changing ``t`` (its only mutable field is the list
    of passages, immutable tuples); ``copy.copy`` is three times faster than ``replace``."""
    out = copy.copy(t)
    out.passages = list(t.passages)
    return out


_NOT_DERIVED = frozenset({"site", "_events", "_keys", "_ids", "_checkpoints"})
"""QueueState's fields that a snapshot does not restore (everything else the fold decides)."""

_HANDLERS = {
    EventKind.TICKET_ISSUED: QueueState._issued,
    EventKind.TICKET_CALLED: QueueState._called,
    EventKind.TICKET_RECALLED: QueueState._recalled,
    EventKind.TICKET_SERVED: QueueState._served,
    EventKind.TICKET_NO_SHOW: QueueState._no_show,
    EventKind.TICKET_REACTIVATED: QueueState._reactivated,
    EventKind.TICKET_TRANSFERRED: QueueState._transferred,
    EventKind.TICKET_CANCELLED: QueueState._cancelled,
    EventKind.COUNTER_OPENED: QueueState._counter_opened,
    EventKind.COUNTER_CLOSED: QueueState._counter_closed,
}


def _order(e: Event) -> tuple[int, int, str, str]:
    """``Event.sort_key`` as plain values: the same order, compared in C (sorting is most of
    a fold's cost otherwise)."""
    h = e.hlc
    return (h.millis, h.logical, h.node, e.id)


def fold(site: Site, events: list[Event]) -> QueueState:
    """The queue state these events make, whatever their order."""
    state = QueueState(site)
    state.extend(events)
    return state
