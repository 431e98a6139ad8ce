"""Days of a site's past in a device's journal: a kiosk that has been in service for a year.

``fill_history`` writes, for each day before ``today``, what a kiosk's journal holds after it:
its tickets (and the calls, services and counter openings it learnt from the server) and the
number leases of the day. Everything goes through the journal's own
writers (``store_remote``, ``grant_leases``), in large batches, so a year takes seconds. The
benchmarks and the start-up tests use it.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from tickets.events import Event, EventKind
from tickets.hlc import Timestamp
from tickets.journal import Journal
from tickets.model import Site
from tickets.numbering import Lease
from tickets.queue import label

_BATCH = 20_000


@dataclass(frozen=True, slots=True)
class History:
    days: int
    tickets: int
    events: int


def fill_history(
    journal: Journal,
    site: Site,
    today: date,
    days: int,
    *,
    tickets_per_day: int = 200,
    board: str = "board",
) -> History:
    """Writes ``days`` days before ``today`` of history into ``journal`` (a kiosk's): every
    service open from 9:00, ``tickets_per_day`` tickets spread over its services, each called
    and served at the first counter that takes its service. Returns what was written."""
    rng = random.Random(f"{site.id} {journal.device} {today} {days}")
    pending: list[Event] = []
    total_events = total_tickets = 0
    kiosk = journal.device
    counters = {
        s.id: next(c.id for c in site.counters if s.id in c.services) for s in site.services
    }

    def event(kind: EventKind, at: datetime, node: str, **data: Any) -> None:
        nonlocal total_events
        ts = at.timestamp()
        total_events += 1
        # Built as the journal rebuilds what it stored (checked when made: here by the tests).
        pending.append(
            Event(
                id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                site=site.id,
                device=node,
                kind=kind,
                hlc=Timestamp(int(ts * 1000), 0, node),
                wall_time=ts,
                data=data,
                seq=total_events,
                received_at=ts + 1,
            )
        )
        if len(pending) >= _BATCH:
            journal.store_remote(pending)
            pending.clear()

    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        opening = datetime.combine(day, time(9), site.tz)
        leases: list[Lease] = []
        for c in sorted(set(counters.values())):
            event(EventKind.COUNTER_OPENED, opening, board, counter=c)
        per_service = max(1, tickets_per_day // len(site.services))
        for s in site.services:
            leases.append(Lease(s.id, day.isoformat(), 1, per_service))
            for n in range(1, per_service + 1):
                issued = opening + timedelta(seconds=60 * n)
                ticket = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                event(
                    EventKind.TICKET_ISSUED,
                    issued,
                    kiosk,
                    ticket=ticket,
                    service=s.id,
                    number=n,
                    day=day.isoformat(),
                    priority=None,
                    token=f"{rng.getrandbits(96):024x}",
                    lang="fr",
                    label=label(s.prefix, n),
                )
                called = issued + timedelta(seconds=90)
                event(EventKind.TICKET_CALLED, called, board, ticket=ticket, counter=counters[s.id])
                served = called + timedelta(seconds=45)
                event(EventKind.TICKET_SERVED, served, board, ticket=ticket, counter=counters[s.id])
                total_tickets += 1
        journal.grant_leases(leases)
    if pending:
        journal.store_remote(pending)
    return History(days, total_tickets, total_events)
