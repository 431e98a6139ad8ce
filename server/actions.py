"""Counter actions and tickets issued by the server: events the server makes itself.

Each action is one transaction under the site's write lock (a row lock in the database, so it
holds across server processes): read the queue state (the fold, caught up from the table with
every committed event, whichever process stored it), decide from it, append the new events,
commit. Two concurrent ``next`` at different counters therefore see each other's call and never
take the same ticket.

The actions of one site waiting in this process while another holds the lock are decided
together when it is free (``server.batches``): one transaction, the lock taken once, each action
decided in its order of arrival against the state holding the events of the ones before it
(``QueueStates.deciding``), all of their events stored by one statement and committed at once.
An action refused (an unknown counter, a closed service, a press past its budget) is left out
of its batch; if the database refuses the batch's commit, its actions are decided again one by
one. Each is answered as if it had been alone; a busy site makes several actions per round
trip to the database instead of one.

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from server import db, store
from server.auth import Permission, Principal
from server.batches import Job
from server.context import ServerContext
from server.errors import ApiError, invalid, not_found
from server.models import ActionResult, EventOut, IssuedTicket, TicketView
from server.sites import LoadedSite
from server.states import window_floor
from server.sync import lock_taking_numbers, take_numbers
from server.views import ticket_view
from tickets.events import Event, EventKind, new_event
from tickets.press import CounterAction, Refusal, plan
from tickets.queue import QueueState

log = logging.getLogger(__name__)


def _events_out(stored: list[Event]) -> list[EventOut]:
    return [EventOut.model_validate(e.to_dict()) for e in stored]


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


@dataclass(eq=False, kw_only=True)
class _Action(Job):
    """A job of a batch: a ticket to issue (``service`` without ``counter``) or a counter's
    action. Once done: the events it made, or an earlier decision it is answered with."""

    who: Principal
    counter: str | None = None
    action: CounterAction | None = None
    service: str | None = None
    priority: str | None = None
    lang: str | None = None
    extra: Mapping[str, Any] | None = None
    within: Callable[[Connection, LoadedSite, Event], None] | None = None
    press: str | None = None
    budget: float | None = None
    started: float = 0.0
    token: str = ""
    number: int | None = None
    # What the batch decided:
    loaded: LoadedSite | None = None
    ticket: str | None = None
    answered: list[Event] = field(default_factory=list)
    seq: int = 0

    @property
    def issues(self) -> bool:
        return self.counter is None

    def outcome(self) -> tuple[LoadedSite, str | None, list[Event], int]:
        if self.error is not None:
            raise self.error
        assert self.done and self.loaded is not None
        return self.loaded, self.ticket, self.answered, self.seq


def _decide(ctx: ServerContext, site_id: str, jobs: Sequence[_Action]) -> None:
    """Decides ``jobs`` (a batch: ``server.batches``) and marks each done or failed. When the
    batch's commit is refused (an id or follow token taken: very rare), its jobs are decided
    again one by one, so that only the one at fault is refused."""
    try:
        _decide_together(ctx, site_id, jobs)
    except Exception as exc:
        if len(jobs) == 1:
            jobs[0].fail(exc)
            return
        for job in jobs:
            job.done, job.error, job.ticket, job.answered = False, None, None, []
            try:
                _decide_together(ctx, site_id, [job])
            except Exception as alone:
                job.fail(alone)


def _check_issue(loaded: LoadedSite, job: _Action) -> None:
    site = loaded.site
    service = site.service(job.service or "")
    if service is None:
        raise invalid(f"unknown service {job.service!r}", field="service")
    if job.priority is not None and (
        not service.priority_allowed or job.priority not in site.priority_reasons
    ):
        raise invalid(
            f"priority {job.priority!r} is not offered for service {job.service!r}",
            field="priority",
        )


def _check_action(loaded: LoadedSite, job: _Action) -> None:
    if loaded.site.counter(job.counter or "") is None:
        raise not_found(f"counter {job.counter!r} of site {loaded.id!r}")
    if job.service is not None and loaded.site.service(job.service) is None:
        raise invalid(f"unknown service {job.service!r}", field="service")


def _lock(
    ctx: ServerContext, conn: Connection, site_id: str, jobs: Sequence[_Action], now: float
) -> tuple[Any, dict[str, int | None]]:
    """The site's row, locked, and the numberings already moved on for the batch's tickets
    (by service: the value ``take_numbers`` takes as ``moved``). On PostgreSQL a batch of
    tickets of one service (a single ticket, most often) takes its numbers with the lock, in
    one round trip, for the day of the configuration this process holds: used if that is
    still the site's."""
    held = None if db.is_sqlite(ctx.engine) else ctx.sites.held(site_id)
    services = {job.service for job in jobs}
    if held is not None and all(job.issues for job in jobs) and len(services) == 1:
        (service,) = services
        try:
            for job in jobs:
                _check_issue(held, job)
        except ApiError:
            pass  # decided after the lock, against the site's configuration then
        else:
            assert service is not None
            held_day, _floor = window_floor(held, now)
            row = lock_taking_numbers(conn, site_id, held.version, service, held_day, len(jobs))
            return row, {} if row is None else {service: row.next_free}
    return db.lock_site(conn, site_id), {}


def _decide_together(ctx: ServerContext, site_id: str, jobs: Sequence[_Action]) -> None:
    """One transaction under the site's lock for the batch: each job decided in turn against
    the queue state holding the events of the jobs before it, all of it stored by one
    statement and committed at once."""
    now = ctx.now()
    with db.write(ctx.engine) as conn:
        row, moved = _lock(ctx, conn, site_id, jobs, now)
        if row is None:
            raise not_found(f"site {site_id!r}")
        loaded = ctx.sites.from_row(conn, row)
        day, _floor = window_floor(loaded, now)
        live: list[_Action] = []
        wanted: dict[str, list[_Action]] = {}  # the tickets, by service, in the order they came
        for job in jobs:
            try:
                (_check_issue if job.issues else _check_action)(loaded, job)
            except ApiError as refused:
                job.fail(refused)
                continue
            live.append(job)
            if job.issues:
                wanted.setdefault(job.service or "", []).append(job)
        for service, issuing in wanted.items():
            taken = take_numbers(conn, loaded, service, day, len(issuing), moved.get(service))
            for job, number in zip(issuing, taken, strict=True):
                job.number = number
        made: list[Event] = []
        decided: list[tuple[_Action, list[Event]]] = []
        with ctx.states.deciding(conn, loaded, now, row.last_seq) as deciding:
            state = deciding.state
            # The clock moves past every event of the site, whichever process stored it, so
            # what is decided here never takes the place of an event decided before it.
            if state.last_hlc is not None:
                ctx.clock.receive(state.last_hlc)
            seq = row.last_seq
            for job in live:
                try:
                    events = _events_of(ctx, conn, loaded, state, job, day, now)
                except ApiError as refused:
                    if job.within is not None:  # it may have written: nothing is committed
                        raise
                    job.fail(refused)
                    continue
                signed = ctx.sign(site_id, events)
                stored = [e.stored(seq + i + 1, now) for i, e in enumerate(signed)]
                deciding.apply(stored)
                seq += len(stored)
                made += signed
                decided.append((job, stored))
            if made:
                store.append(conn, site_id, row.last_seq, made, now, commit=True)
            db.commit_now(conn)
    if made:
        ctx.notifier.publish(loaded.id, seq)
    for job, stored in decided:
        if stored:
            job.answered = stored
        job.loaded = loaded
        job.seq = max((e.seq or 0 for e in job.answered), default=row.last_seq)
        job.done = True


def _events_of(
    ctx: ServerContext,
    conn: Connection,
    loaded: LoadedSite,
    state: QueueState,
    job: _Action,
    day: str,
    now: float,
) -> list[Event]:
    """The events a job makes, decided against ``state`` (none for a press decided before:
    the job is answered with that decision, in ``job.answered``)."""
    site_id = loaded.id
    device = job.who.event_device
    if job.issues:
        event = new_event(
            EventKind.TICKET_ISSUED,
            site=site_id,
            device=device,
            hlc=ctx.clock.now(),
            wall_time=now,
            ticket=str(uuid.uuid4()),
            service=job.service,
            number=job.number,
            day=day,
            priority=job.priority,
            token=job.token,
            lang=job.lang or loaded.site.languages[0],
            **(job.extra or {}),
        )
        if job.within is not None:  # its statements are in the transaction: not refusable
            job.within(conn, loaded, event)
        job.ticket = event.data["ticket"]
        return [event]
    assert job.counter is not None and job.action is not None
    decided = state.press_events(job.press) if job.press is not None else []
    if decided:
        ticket_id = next((e.ticket for e in reversed(decided) if e.ticket), None)
        if ticket_id is None:
            current = state.counter_ticket(job.counter)
            ticket_id = current.id if current else None
        job.ticket, job.answered = ticket_id, decided
        return []
    planned = plan(state, job.counter, job.action, day, job.service, now)
    if planned.refusal is Refusal.CLOSED_SERVICE:
        raise invalid(
            f"service {job.service!r} is closed now or no open counter serves it",
            field="service",
        )
    waited = time.monotonic() - job.started
    if job.budget is not None and waited > job.budget:
        log.warning(
            "press %s at counter %s of %s not acted on: it waited %.2f s, its budget is %g s "
            "(the board decides it)",
            job.press,
            job.counter,
            site_id,
            waited,
            job.budget,
        )
        raise press_expired(job.budget)
    job.ticket = planned.ticket.id if planned.ticket else None
    return [
        new_event(
            kind,
            site=site_id,
            device=device,
            hlc=ctx.clock.now(),
            wall_time=now,
            press=job.press,
            **d,
        )
        for kind, d in planned.events
    ]


def _run(ctx: ServerContext, site_id: str, job: _Action) -> _Action:
    """Decides ``job`` with the site's other waiting actions of this process (a job whose
    ``within`` runs statements of its own is decided alone)."""
    if job.within is not None:
        _decide(ctx, site_id, [job])
        return job
    return ctx.batches.run(site_id, job, lambda site, jobs: _decide(ctx, site, jobs))


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
    started = received if received is not None else time.monotonic()
    job = _Action(
        who=who,
        counter=counter_id,
        action=action,
        service=service,
        press=press,
        budget=budget,
        started=started,
    )
    loaded, ticket_id, answered, seq = _run(ctx, site_id, job).outcome()
    # The decision is committed and the site's lock released: what the answer shows is read
    # after, without holding up the next action of the site.
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
    token = secrets.token_urlsafe(18)
    job = _Action(
        who=who,
        service=service_id,
        priority=priority,
        lang=lang,
        extra=extra,
        within=within,
        token=token,
    )
    loaded, ticket_id, answered, seq = _run(ctx, site_id, job).outcome()
    view, _ = _answer_after(ctx, loaded, seq, ticket_id, [])
    if view is None:  # the fold always knows a ticket just issued
        raise ApiError(500, "internal", "the issued ticket is missing from the queue state")
    return IssuedTicket(ticket=view, token=token, events=_events_out(answered))
