"""Counter actions and tickets issued by the server: events the server makes itself.

Each action is one transaction under the site's write lock (a row lock in the database, so it
holds across server processes): read the queue state (the fold, caught up from the table with
every committed event, whichever process stored it), decide from it, append the new events,
commit. Two concurrent ``next`` at different counters therefore see each other's call and never
take the same ticket. The in-memory state is only updated after the commit.
"""

from __future__ import annotations

import secrets
import uuid
from enum import StrEnum
from typing import Any

from server import db, store
from server.auth import Permission, Principal
from server.context import ServerContext
from server.errors import ApiError, invalid, not_found
from server.models import ActionResult, EventOut, IssuedTicket, TicketView
from server.sites import LoadedSite
from server.states import window_floor
from server.sync import take_number
from server.views import ticket_view
from tickets.events import Event, EventKind, new_event
from tickets.queue import QueueState, Ticket


class CounterAction(StrEnum):
    NEXT = "next"
    RECALL = "recall"
    DONE = "done"
    NO_SHOW = "no-show"
    OPEN = "open"
    CLOSE = "close"
    TRANSFER = "transfer"


Planned = list[tuple[EventKind, dict[str, Any]]]


def plan(
    state: QueueState, counter: str, action: CounterAction, day: str, service: str | None
) -> tuple[Planned, Ticket | None]:
    """The events an action makes at a counter, and the ticket it concerns."""
    current = state.counter_ticket(counter)
    out: Planned = []
    if action is CounterAction.NEXT:
        nxt = state.next_for(counter, day=day)
        if counter not in state.open_counters:
            out.append((EventKind.COUNTER_OPENED, {"counter": counter}))
        if current is not None:
            out.append((EventKind.TICKET_SERVED, {"ticket": current.id, "counter": counter}))
        if nxt is not None:
            out.append((EventKind.TICKET_CALLED, {"ticket": nxt.id, "counter": counter}))
        return out, nxt
    if action is CounterAction.OPEN:
        if counter not in state.open_counters:
            out.append((EventKind.COUNTER_OPENED, {"counter": counter}))
        return out, current
    if action is CounterAction.CLOSE:
        if counter in state.open_counters:
            out.append((EventKind.COUNTER_CLOSED, {"counter": counter}))
        return out, current
    if current is None:
        return out, None
    kind = {
        CounterAction.RECALL: EventKind.TICKET_RECALLED,
        CounterAction.DONE: EventKind.TICKET_SERVED,
        CounterAction.NO_SHOW: EventKind.TICKET_NO_SHOW,
        CounterAction.TRANSFER: EventKind.TICKET_TRANSFERRED,
    }[action]
    data: dict[str, Any] = {"ticket": current.id, "counter": counter}
    if action is CounterAction.TRANSFER:
        data["service"] = service
    out.append((kind, data))
    return out, current


def _events_out(stored: list[Event]) -> list[EventOut]:
    return [EventOut.model_validate(e.to_dict()) for e in stored]


def _after_commit(ctx: ServerContext, loaded: LoadedSite, stored: list[Event]) -> None:
    if stored:
        ctx.states.record(loaded, stored)
        ctx.notifier.publish(loaded.id, stored[-1].seq or 0)


def _view_of(ctx: ServerContext, loaded: LoadedSite, ticket: str | None) -> TicketView | None:
    if ticket is None:
        return None
    with db.read(ctx.engine) as conn, ctx.states.hold(conn, loaded, ctx.now()) as state:
        t = state.tickets.get(ticket)
        return ticket_view(state, t) if t is not None else None


def counter_action(
    ctx: ServerContext,
    who: Principal,
    site_id: str,
    counter_id: str,
    action: CounterAction,
    service: str | None = None,
) -> ActionResult:
    who.require(Permission.COUNTER, site_id)
    now = ctx.now()
    with db.write(ctx.engine) as conn:
        row = db.lock_site(conn, site_id)
        if row is None:
            raise not_found(f"site {site_id!r}")
        loaded = ctx.sites.from_row(row)
        if loaded.site.counter(counter_id) is None:
            raise not_found(f"counter {counter_id!r} of site {site_id!r}")
        if service is not None and loaded.site.service(service) is None:
            raise invalid(f"unknown service {service!r}", field="service")
        with ctx.states.hold(conn, loaded, now) as state:
            day, _floor = window_floor(loaded, now)
            planned, ticket = plan(state, counter_id, action, day, service)
            if state.last_hlc is not None:
                ctx.clock.receive(state.last_hlc)
        events = [
            new_event(
                kind, site=site_id, device=who.event_device, hlc=ctx.clock.now(), wall_time=now, **d
            )
            for kind, d in planned
        ]
        stored = store.append(conn, site_id, row.last_seq, events, now)
    _after_commit(ctx, loaded, stored)
    return ActionResult(
        ticket=_view_of(ctx, loaded, ticket.id if ticket else None), events=_events_out(stored)
    )


def issue_ticket(
    ctx: ServerContext,
    who: Principal,
    site_id: str,
    service_id: str,
    priority: str | None,
    lang: str | None,
) -> IssuedTicket:
    who.require(Permission.ISSUE, site_id)
    now = ctx.now()
    token = secrets.token_urlsafe(18)
    with db.write(ctx.engine) as conn:
        row = db.lock_site(conn, site_id)
        if row is None:
            raise not_found(f"site {site_id!r}")
        loaded = ctx.sites.from_row(row)
        site = loaded.site
        service = site.service(service_id)
        if service is None:
            raise invalid(f"unknown service {service_id!r}", field="service")
        if priority is not None and (
            not service.priority_allowed or priority not in site.priority_reasons
        ):
            raise invalid(
                f"priority {priority!r} is not offered for service {service_id!r}",
                field="priority",
            )
        # The clock moves past every event of the site, whichever process stored it, so a
        # ticket issued here never takes the place of one issued before it elsewhere.
        with ctx.states.hold(conn, loaded, now) as state:
            if state.last_hlc is not None:
                ctx.clock.receive(state.last_hlc)
        day, _floor = window_floor(loaded, now)
        number = take_number(conn, loaded, service_id, day)
        event = new_event(
            EventKind.TICKET_ISSUED,
            site=site_id,
            device=who.event_device,
            hlc=ctx.clock.now(),
            wall_time=now,
            ticket=str(uuid.uuid4()),
            service=service_id,
            number=number,
            day=day,
            priority=priority,
            token=token,
            lang=lang or site.languages[0],
        )
        stored = store.append(conn, site_id, row.last_seq, [event], now)
    _after_commit(ctx, loaded, stored)
    view = _view_of(ctx, loaded, event.data["ticket"])
    if view is None:  # the fold always knows a ticket just issued
        raise ApiError(500, "internal", "the issued ticket is missing from the queue state")
    return IssuedTicket(ticket=view, token=token, events=_events_out(stored))
