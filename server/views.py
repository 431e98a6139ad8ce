"""What the API shows of a queue state: tickets, the site snapshot, the public pages.

Everything here reads a ``QueueState`` (the fold); no queue rule is decided here.
"""

from __future__ import annotations

from server.models import (
    CallView,
    ConflictView,
    CounterView,
    PublicService,
    PublicTicket,
    QueueSnapshot,
    ServiceQueue,
    TicketView,
)
from tickets.model import Site
from tickets.queue import QueueState, Ticket, TicketStatus


def ticket_view(state: QueueState, t: Ticket, *, with_wait: bool = True) -> TicketView:
    ahead = wait = None
    if with_wait and t.status is TicketStatus.WAITING:
        ahead = state.people_ahead(t.id)
        wait = state.estimate_wait(t.service, ahead)
    return TicketView(
        id=t.id,
        label=t.label,
        number=t.number,
        service=t.service,
        status=t.status,
        day=t.day,
        priority=t.priority,
        counter=t.counter,
        issued_at=t.issued_at,
        called_at=t.called_at,
        finished_at=t.finished_at,
        recalls=t.recalls,
        transfers=t.transfers,
        conflict=t.conflict,
        misdated=t.misdated,
        people_ahead=ahead,
        estimated_wait_seconds=wait,
        appointment_at=t.appointment_at,
        note=t.note,
    )


def conflict_views(state: QueueState) -> list[ConflictView]:
    return [
        ConflictView(
            kind=c.kind,
            ticket=c.ticket,
            label=c.label,
            kept_counter=c.kept_counter,
            other_counter=c.other_counter,
            event=c.event,
        )
        for c in state.conflicts
    ]


def _waiting_counts(state: QueueState, day: str) -> dict[str, int]:
    return {s: len(line.keys) for (s, d), line in state.lines.items() if d == day}


def snapshot(state: QueueState, site: Site, day: str, cursor: int, now: float) -> QueueSnapshot:
    local = site.local(now)
    counts = _waiting_counts(state, day)
    waiting = state.waiting(day=day)
    ahead_of: dict[str, int] = {}
    ahead_by_service: dict[str, int] = {}
    for t in waiting:
        ahead_of[t.id] = ahead_by_service.get(t.service, 0)
        ahead_by_service[t.service] = ahead_of[t.id] + 1
    services = [
        ServiceQueue(
            id=s.id,
            prefix=s.prefix,
            names=dict(s.names),
            waiting=counts.get(s.id, 0),
            estimated_wait_seconds=state.estimate_wait(s.id, counts.get(s.id, 0)),
            open_now=s.is_open(local),
            open_counters=state.counters_serving(s.id),
        )
        for s in site.services
    ]
    counters = []
    for c in site.counters:
        current = state.counter_ticket(c.id)
        counters.append(
            CounterView(
                id=c.id,
                label=c.label,
                services=list(c.services),
                open=c.id in state.open_counters,
                ticket=ticket_view(state, current, with_wait=False) if current else None,
            )
        )
    waiting_views = []
    for t in waiting:
        view = ticket_view(state, t, with_wait=False)
        view.people_ahead = ahead_of[t.id]
        view.estimated_wait_seconds = state.estimate_wait(t.service, ahead_of[t.id])
        waiting_views.append(view)
    calls = [
        CallView(
            ticket=c.ticket,
            label=c.label,
            service=c.service,
            counter=c.counter,
            at=c.at,
            recall=c.recall,
            event=c.event,
        )
        for c in reversed(state.calls)
    ]
    return QueueSnapshot(
        site=site.id,
        day=day,
        cursor=cursor,
        services=services,
        counters=counters,
        waiting=waiting_views,
        last_calls=calls,
        conflicts=conflict_views(state),
    )


def public_services(state: QueueState, site: Site, day: str, now: float) -> list[PublicService]:
    local = site.local(now)
    counts = _waiting_counts(state, day)
    return [
        PublicService(
            id=s.id,
            prefix=s.prefix,
            names=dict(s.names),
            waiting=counts.get(s.id, 0),
            estimated_wait_seconds=state.estimate_wait(s.id, counts.get(s.id, 0)),
            open_now=s.is_open(local),
        )
        for s in site.services
    ]


def public_ticket(state: QueueState, site: Site, t: Ticket) -> PublicTicket:
    service = site.service(t.service)
    waiting = t.status is TicketStatus.WAITING
    ahead = state.people_ahead(t.id) if waiting else 0
    counter = site.counter(t.counter) if t.counter else None
    moved_from = t.original_service if t.transfers and t.original_service != t.service else None
    first = site.service(moved_from) if moved_from else None
    return PublicTicket(
        label=t.label,
        service=t.service,
        service_names=dict(service.names) if service else {},
        status=t.status,
        day=t.day,
        people_ahead=ahead,
        estimated_wait_seconds=state.estimate_wait(t.service, ahead) if waiting else None,
        counter=t.counter if t.status is TicketStatus.CALLED else None,
        counter_label=counter.label if counter and t.status is TicketStatus.CALLED else None,
        priority=t.priority is not None,
        recalls=t.recalls,
        transferred_from=moved_from,
        transferred_from_names=dict(first.names) if first else None,
    )
