"""Sites and events for the queue tests, with clocks the test controls."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from tickets.events import Event, EventKind
from tickets.hlc import Timestamp
from tickets.model import Counter, Device, Role, Service, Site
from tickets.queue import QueueState

DAY = "2026-11-23"


def make_site(max_recalls: int = 2, counters: tuple[Counter, ...] | None = None) -> Site:
    """Two services; counter 1 takes both (a first), 2 takes a only, 3 takes both (b first)."""
    return Site(
        id="mairie",
        name="Mairie",
        services=(
            Service(id="a", prefix="A", names={"fr": "État civil"}, mean_service_seconds=300.0),
            Service(id="b", prefix="B", names={"fr": "Passeports"}, mean_service_seconds=600.0),
        ),
        counters=counters
        or (
            Counter("1", "Guichet 1", ("a", "b")),
            Counter("2", "Guichet 2", ("a",)),
            Counter("3", "Guichet 3", ("b", "a")),
        ),
        devices=(
            Device("kiosk", Role.KIOSK, (900, 999)),
            Device("kiosk2", Role.KIOSK, (800, 899)),
            Device("board", Role.DISPLAY),
        ),
        max_recalls=max_recalls,
    )


class Events:
    """Makes events with deterministic ids; ``at`` is the event's clock in seconds."""

    def __init__(self, site: str = "mairie", base: float = 0.0) -> None:
        self.site = site
        self.base = base
        """Added to every ``at``: tests of a journal use times near its wall clock."""
        self._ids = itertools.count(1)

    def make(
        self, kind: EventKind, at: float, node: str = "kiosk", logical: int = 0, /, **data: object
    ) -> Event:
        return Event(
            id=str(uuid.UUID(int=next(self._ids))),
            site=self.site,
            device=node,
            kind=kind,
            hlc=Timestamp(round((self.base + at) * 1000), logical, node),
            wall_time=self.base + at,
            data=data,
        )

    def issue(
        self,
        ticket: str,
        at: float,
        service: str = "a",
        number: int = 1,
        priority: str | None = None,
        node: str = "kiosk",
        day: str = DAY,
    ) -> Event:
        return self.make(
            EventKind.TICKET_ISSUED,
            at,
            node,
            ticket=ticket,
            service=service,
            number=number,
            day=day,
            priority=priority,
            token=f"tok-{ticket}",
            lang="fr",
        )

    def call(self, ticket: str, counter: str, at: float, node: str = "board") -> Event:
        return self.make(EventKind.TICKET_CALLED, at, node, ticket=ticket, counter=counter)

    def recall(self, ticket: str, counter: str, at: float, node: str = "board") -> Event:
        return self.make(EventKind.TICKET_RECALLED, at, node, ticket=ticket, counter=counter)

    def serve(self, ticket: str, counter: str, at: float, node: str = "board") -> Event:
        return self.make(EventKind.TICKET_SERVED, at, node, ticket=ticket, counter=counter)

    def no_show(self, ticket: str, counter: str, at: float, node: str = "board") -> Event:
        return self.make(EventKind.TICKET_NO_SHOW, at, node, ticket=ticket, counter=counter)

    def reactivate(self, ticket: str, at: float, node: str = "board") -> Event:
        return self.make(EventKind.TICKET_REACTIVATED, at, node, ticket=ticket)

    def transfer(
        self, ticket: str, service: str, at: float, counter: str | None = None, node: str = "board"
    ) -> Event:
        return self.make(
            EventKind.TICKET_TRANSFERRED, at, node, ticket=ticket, service=service, counter=counter
        )

    def cancel(self, ticket: str, at: float, node: str = "kiosk") -> Event:
        return self.make(EventKind.TICKET_CANCELLED, at, node, ticket=ticket)

    def open(self, counter: str, at: float, node: str = "board") -> Event:
        return self.make(EventKind.COUNTER_OPENED, at, node, counter=counter)

    def close(self, counter: str, at: float, node: str = "board") -> Event:
        return self.make(EventKind.COUNTER_CLOSED, at, node, counter=counter)


def any_payload(
    draw: Callable[[SearchStrategy[Any]], Any],
    kind: EventKind,
    tickets: Sequence[str],
    counters: Sequence[str],
) -> dict[str, object]:
    """A payload for an event of ``kind`` other than TicketIssued, drawn by a hypothesis
    test: any of ``tickets`` and ``counters`` (known or not), a transfer to a known service
    or not."""
    data: dict[str, object] = {}
    if kind not in (EventKind.COUNTER_OPENED, EventKind.COUNTER_CLOSED):
        data["ticket"] = draw(st.sampled_from(tickets))
    if kind not in (
        EventKind.TICKET_REACTIVATED,
        EventKind.TICKET_CANCELLED,
        EventKind.TICKET_TRANSFERRED,
    ):
        data["counter"] = draw(st.sampled_from(counters))
    if kind is EventKind.TICKET_TRANSFERRED:
        data["service"] = draw(st.sampled_from(("a", "b", "unknown")))
    return data


def dump(state: QueueState) -> dict[str, Any]:
    """A canonical, comparable picture of everything the fold decides."""
    return {
        "tickets": {tid: asdict(t) for tid, t in sorted(state.tickets.items())},
        "open_counters": sorted(state.open_counters),
        "current": dict(sorted(state.current.items())),
        "calls": [asdict(c) for c in state.calls],
        "conflicts": [asdict(c) for c in state.conflicts],
        "service_times": {s: list(v) for s, v in sorted(state.service_times.items())},
    }
