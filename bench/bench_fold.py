"""Queue fold figures: the time to fold a busy day of 10,000 events from scratch, to add one
event incrementally (in clock order, the usual case), to add one that arrives late (an earlier
clock: the fold is redone from its last snapshot), and to copy the state (what
``Journal.state`` returns). Median and p99 of each.

Run: .venv/bin/python bench/bench_fold.py
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from collections.abc import Callable

from tickets.events import Event, EventKind
from tickets.hlc import Timestamp
from tickets.model import Counter, Service, Site
from tickets.queue import QueueState, fold

EVENTS = 10_000
DAY = "2026-11-23"
SITE = Site(
    id="mairie",
    name="Mairie",
    services=tuple(
        Service(sid, prefix, {"fr": sid}) for sid, prefix in (("a", "A"), ("b", "B"), ("c", "C"))
    ),
    counters=tuple(
        Counter(str(i), f"Guichet {i}", ("a", "b", "c")[i % 3 :] + ("a", "b", "c")[: i % 3])
        for i in range(1, 7)
    ),
)


def busy_day(n: int, rng: random.Random) -> list[Event]:
    """A day of a large town hall: tickets issued, called, recalled, served, transferred,
    no-shows, by a kiosk and two boards, in clock order."""
    ids = (str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in iter(int, 1))
    at = 1_763_884_800_000  # 08:00
    events: list[Event] = []
    state = QueueState(SITE)
    numbers = {"a": 0, "b": 0, "c": 0}

    def emit(kind: EventKind, node: str, **data: object) -> None:
        nonlocal at
        at += rng.randint(200, 4000)
        e = Event(next(ids), "mairie", node, kind, Timestamp(at, 0, node), at / 1000, dict(data))
        state.add(e)
        events.append(e)

    for c in SITE.counters:
        emit(EventKind.COUNTER_OPENED, "board1", counter=c.id)
    while len(events) < n:
        if rng.random() < 0.45 or not state.waiting():
            service = rng.choice("aab c")
            service = "a" if service == " " else service
            numbers[service] += 1
            emit(
                EventKind.TICKET_ISSUED,
                "kiosk",
                ticket=next(ids),
                service=service,
                number=numbers[service],
                day=DAY,
                priority="age" if rng.random() < 0.05 else None,
            )
            continue
        counter = rng.choice(SITE.counters).id
        board = rng.choice(("board1", "board2"))
        current = state.counter_ticket(counter)
        roll = rng.random()
        if current is not None and roll < 0.08:
            emit(EventKind.TICKET_RECALLED, board, ticket=current.id, counter=counter)
        elif current is not None and roll < 0.11:
            emit(EventKind.TICKET_NO_SHOW, board, ticket=current.id, counter=counter)
        elif current is not None and roll < 0.13:
            target = rng.choice("abc")
            emit(
                EventKind.TICKET_TRANSFERRED,
                board,
                ticket=current.id,
                service=target,
                counter=counter,
            )
        elif (ticket := state.next_for(counter)) is not None:
            emit(EventKind.TICKET_CALLED, board, ticket=ticket.id, counter=counter)
        elif current is not None:
            emit(EventKind.TICKET_SERVED, board, ticket=current.id, counter=counter)
    return events[:n]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def report(name: str, samples: list[float]) -> None:
    median, p99 = statistics.median(samples), percentile(samples, 0.99)
    ms = f"median {median * 1000:9.3f} ms   p99 {p99 * 1000:9.3f} ms"
    print(f"{name:<44} {ms}   (n={len(samples)})")


def main() -> int:
    rng = random.Random(42)
    events = busy_day(EVENTS, rng)
    shuffled = events[:]
    rng.shuffle(shuffled)
    state = fold(SITE, events)
    print(
        f"{len(events)} events: {len(state.tickets)} tickets, "
        f"{sum(1 for e in events if e.kind is EventKind.TICKET_CALLED)} calls"
    )

    report("fold from scratch (clock order)", timed(lambda: fold(SITE, events), 20))
    report("fold from scratch (any arrival order)", timed(lambda: fold(SITE, shuffled), 20))

    incremental = QueueState(SITE)
    per_event = []
    for e in events:
        start = time.perf_counter()
        incremental.add(e)
        per_event.append(time.perf_counter() - start)
    report("add one event in clock order (per event)", per_event)

    late = []
    base = events[:-50]
    stragglers = events[-50:]
    for straggler in stragglers[:20]:
        state = fold(SITE, [*base, *(e for e in stragglers if e is not straggler)])
        start = time.perf_counter()
        state.add(straggler)  # an earlier clock than the newest event: re-fold from a snapshot
        late.append(time.perf_counter() - start)
    report("add one late event at 10,000 (from a snapshot)", late)

    state = fold(SITE, events)
    report("copy the state (Journal.state)", timed(state.copy, 50))
    report("who is next for a counter", timed(lambda: state.next_for("1"), 200))
    report(
        "wait estimate (people ahead x mean / open)",
        timed(lambda: state.estimate_wait("a", len(state.waiting("a"))), 200),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
