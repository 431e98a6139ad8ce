"""Counter actions and tickets issued by the server: events the server makes itself.

Each action is one transaction under the site's write lock (a row lock in the database, so it
holds across server processes): read the queue state (the fold, caught up from the table with
every committed event, whichever process stored it), decide from it, append the new events,
commit. Two concurrent ``next`` at different counters therefore see each other's call and never
take the same ticket. The in-memory state is only updated after the commit.

A board's button press comes with its id and a time budget. The server acts on a press once:
one already decided (by an earlier request, or by the board itself, uploaded) is answered with
that decision. And it acts only within the budget, counted from when the request came in: past
it the board has stopped waiting and decides alone, so the server makes nothing (409
``press_expired``) rather than a second decision for the same press.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import Connection

from server import db, store
from server.auth import Permission, Principal
from server.context import ServerContext
from server.errors import ApiError, invalid, not_found
from server.models import ActionResult, EventOut, IssuedTicket, TicketView
from server.sites import LoadedSite
from server.states import window_floor
from server.sync import lock_taking_number, take_number
from server.views import ticket_view
from tickets.events import Event, EventKind, new_event
from tickets.press import CounterAction, Refusal, plan

log = logging.getLogger(__name__)


def _events_out(stored: list[Event]) -> list[EventOut]:
    return [EventOut.model_validate(e.to_dict()) for e in stored]


def _after_commit(ctx: ServerContext, loaded: LoadedSite, stored: list[Event]) -> None:
    if stored:
        ctx.states.record(loaded, stored)
        ctx.notifier.publish(loaded.id, stored[-1].seq or 0)


def _answer_after(
    ctx: ServerContext, loaded: LoadedSite, seq: int, ticket: str | None, events: list[Event]
) -> tuple[TicketView | None, EventOut | None]:
    """A ticket's view, and the TicketIssued of the ticket ``events`` call (if they call
    one), read in a state holding at least the events up to ``seq``: the state in memory,
    which the action's own events were just recorded in (no query), unless another process's
    events came between."""
    called = next((e.ticket for e in events if e.kind is EventKind.TICKET_CALLED), None)
    with ctx.states.hold_from(ctx.engine, loaded, ctx.now(), seq) as state:
        t = state.tickets.get(ticket) if ticket is not None else None
        view = ticket_view(state, t) if t is not None else None
        issue = state.issue_event(called) if called is not None else None
    if called is None:
        return view, None
    if issue is not None:
        return view, EventOut.model_validate(issue.to_dict())
    with db.read(ctx.engine) as conn:  # issued before the state's window
        for row in store.of_ticket(conn, loaded.id, called):
            if row.kind == EventKind.TICKET_ISSUED.value:
                return view, EventOut.model_validate(store.event_json(row))
    return view, None


def press_expired(budget: float) -> ApiError:
    return ApiError(
        409,
        "press_expired",
        f"the press waited more than its budget of {budget:g} s: not acted on (the board "
        "decides it)",
        field="budget_seconds",
    )


def counter_action(
    ctx: ServerContext,
    who: Principal,
    site_id: str,
    counter_id: str,
    action: CounterAction,
    service: str | None = None,
    *,
    press: str | None = None,
    budget: float | None = None,
    received: float | None = None,
) -> ActionResult:
    """One counter action. ``press`` and ``budget`` (seconds, from ``received``, a
    ``time.monotonic()`` value) come from a board's button press: see the module's docstring."""
    who.require(Permission.COUNTER, site_id)
    now = ctx.now()
    started = received if received is not None else time.monotonic()
    with db.write(ctx.engine) as conn:
        row = db.lock_site(conn, site_id)
        if row is None:
            raise not_found(f"site {site_id!r}")
        loaded = ctx.sites.from_row(conn, row)
        if loaded.site.counter(counter_id) is None:
            raise not_found(f"counter {counter_id!r} of site {site_id!r}")
        if service is not None and loaded.site.service(service) is None:
            raise invalid(f"unknown service {service!r}", field="service")
        with ctx.states.hold(conn, loaded, now, row.last_seq) as state:
            decided = state.press_events(press) if press is not None else []
            if decided:
                ticket_id = next((e.ticket for e in reversed(decided) if e.ticket), None)
                if ticket_id is None:
                    current = state.counter_ticket(counter_id)
                    ticket_id = current.id if current else None
            else:
                day, _floor = window_floor(loaded, now)
                planned = plan(state, counter_id, action, day, service, now)
                if planned.refusal is Refusal.CLOSED_SERVICE:
                    raise invalid(
                        f"service {service!r} is closed now or no open counter serves it",
                        field="service",
                    )
                ticket_id = planned.ticket.id if planned.ticket else None
                if state.last_hlc is not None:
                    ctx.clock.receive(state.last_hlc)
        if decided:
            stored = []
            answered = decided
        else:
            waited = time.monotonic() - started
            if budget is not None and waited > budget:
                log.warning(
                    "press %s at counter %s of %s not acted on: it waited %.2f s, its budget "
                    "is %g s (the board decides it)",
                    press,
                    counter_id,
                    site_id,
                    waited,
                    budget,
                )
                raise press_expired(budget)
            events = [
                new_event(
                    kind,
                    site=site_id,
                    device=who.event_device,
                    hlc=ctx.clock.now(),
                    wall_time=now,
                    press=press,
                    **d,
                )
                for kind, d in planned.events
            ]
            stored = store.append(conn, site_id, row.last_seq, ctx.sign(site_id, events), now)
            answered = stored
    # The decision is committed and the site's lock released: what the answer shows is read
    # after, without holding up the next action of the site.
    _after_commit(ctx, loaded, stored)
    seq = max((e.seq or 0 for e in answered), default=row.last_seq)
    view, issued = _answer_after(ctx, loaded, seq, ticket_id, answered)
    return ActionResult(ticket=view, events=_events_out(answered), issued=issued)


def issue_ticket(
    ctx: ServerContext,
    who: Principal,
    site_id: str,
    service_id: str,
    priority: str | None,
    lang: str | None,
    *,
    extra: Mapping[str, Any] | None = None,
    within: Callable[[Connection, LoadedSite, Event], None] | None = None,
) -> IssuedTicket:
    """Issues a ticket. ``extra`` adds payload fields (an appointment's); ``within`` runs in
    the same transaction once the event is made, before it is stored (it may refuse by
    raising: nothing is stored then)."""
    who.require(Permission.ISSUE, site_id)
    now = ctx.now()
    token = secrets.token_urlsafe(18)
    # On PostgreSQL the number is taken with the lock, in one round trip, for the day of the
    # configuration this process holds: used if that is still the site's.
    held = None if db.is_sqlite(ctx.engine) else ctx.sites.held(site_id)
    with db.write(ctx.engine) as conn:
        if held is not None and held.site.service(service_id) is not None:
            held_day, _floor = window_floor(held, now)
            row = lock_taking_number(conn, site_id, held.version, service_id, held_day)
            moved = None if row is None else row.next_free
        else:
            row = db.lock_site(conn, site_id)
            moved = None
        if row is None:
            raise not_found(f"site {site_id!r}")
        loaded = ctx.sites.from_row(conn, row)
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
        with ctx.states.hold(conn, loaded, now, row.last_seq) as state:
            if state.last_hlc is not None:
                ctx.clock.receive(state.last_hlc)
        day, _floor = window_floor(loaded, now)
        number = take_number(conn, loaded, service_id, day, moved)
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
            **(extra or {}),
        )
        if within is not None:
            within(conn, loaded, event)
        stored = store.append(conn, site_id, row.last_seq, ctx.sign(site_id, [event]), now)
    _after_commit(ctx, loaded, stored)
    view, _ = _answer_after(ctx, loaded, stored[-1].seq or 0, event.data["ticket"], [])
    if view is None:  # the fold always knows a ticket just issued
        raise ApiError(500, "internal", "the issued ticket is missing from the queue state")
    return IssuedTicket(ticket=view, token=token, events=_events_out(stored))
