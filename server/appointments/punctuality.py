"""Appointments running late (docs/appointments.md "Running late").

A checked-in appointment still waiting whose expected start (``QueueState.expected_start``: the
one rule, in ``tickets.appointments``) is more than the site's ``late_notice_minutes`` after
its time is told so, once: on its follow page (live) and by e-mail or text message when the
person left one. They choose then: keep waiting (``choose_wait``), or take another slot
(``rebook``: the new appointment is booked and confirmed, the ticket cancelled).

With several server processes, whichever marks ``late_notice_at`` first tells (a conditional
update), so a person is told once.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from server import db, notify, schema, store
from server.appointments import booking
from server.appointments.booking import Appointment, Contact, Status
from server.appointments.messages import Kind
from server.context import ServerContext
from server.errors import ApiError
from server.sites import LoadedSite
from tickets import appointments as rules_of
from tickets.events import EventKind, new_event
from tickets.queue import QueueState, TicketStatus

log = logging.getLogger(__name__)


class Choice:
    WAIT = "wait"
    REBOOK = "rebook"


def pending(ctx: ServerContext, day_of: dict[str, str]) -> dict[str, list[Appointment]]:
    """Per site, the checked-in appointments of its day (``day_of``: site -> ISO day) not
    told yet."""
    a = schema.appointments
    with db.read(ctx.engine) as conn:
        rows = conn.execute(
            sa.select(a).where(
                a.c.status == Status.CHECKED_IN,
                a.c.late_notice_at.is_(None),
                a.c.ticket.is_not(None),
                a.c.day.in_(set(day_of.values())),
            )
        ).all()
    out: dict[str, list[Appointment]] = {}
    for row in rows:
        if day_of.get(row.site) == row.day:
            out.setdefault(row.site, []).append(Appointment.of(row))
    return out


def follow_link(ctx: ServerContext, token: str) -> str:
    return f"{ctx.settings.public_url.rstrip('/')}/t/{token}"


def tell_late(
    ctx: ServerContext,
    loaded: LoadedSite,
    state: QueueState,
    appts: list[Appointment],
    now: float,
) -> list[Appointment]:
    """Tells the appointments of ``appts`` that run late (once each); returns them."""
    told: list[Appointment] = []
    a = schema.appointments
    for appt in appts:
        t = state.tickets.get(appt.ticket or "")
        expected = state.expected_start(t.id, now) if t is not None else None
        if t is None or expected is None:
            continue
        if not rules_of.running_late(loaded.site.calling, appt.starts_at, expected):
            continue
        with db.write(ctx.engine) as conn:
            won = conn.execute(
                sa.update(a)
                .where(a.c.id == appt.id, a.c.late_notice_at.is_(None))
                .values(late_notice_at=now)
            ).rowcount
            if won == 1:
                notify.announce_news(conn, loaded.id)
        if won != 1:
            continue
        told.append(appt)
        ctx.notifier.news(loaded.id)
        minutes = max(1, round((expected - appt.starts_at) / 60))
        log.info("appointment %s runs late (%d min expected): told", appt.id, minutes)
        if ctx.messages is not None:
            service = loaded.site.service(appt.service)
            ctx.messages.notice(
                loaded,
                f"appointment {appt.id}",
                Kind.LATE,
                (appt.email, appt.phone),
                appt.lang,
                service=service.name(appt.lang) if service else appt.service,
                time=loaded.site.local(appt.starts_at).strftime("%H:%M"),
                minutes=minutes,
                link=follow_link(ctx, t.token),
            )
    return told


def told(ctx: ServerContext, ticket_token: str) -> tuple[LoadedSite, Appointment, str]:
    """The appointment (told it runs late) of the waiting ticket with this follow token, its
    site and ticket id; 404 or 409 otherwise."""
    tt = schema.ticket_tokens
    a = schema.appointments
    with db.read(ctx.engine) as conn:
        row = conn.execute(
            sa.select(tt.c.site, tt.c.ticket).where(tt.c.token == ticket_token)
        ).first()
        found = (
            conn.execute(sa.select(a).where(a.c.site == row.site, a.c.ticket == row.ticket)).first()
            if row is not None
            else None
        )
    loaded = ctx.sites.get_by_engine(ctx.engine, row.site) if row is not None else None
    if row is None or found is None or loaded is None:
        raise ApiError(404, "not_found", "no appointment has this ticket")
    appt = Appointment.of(found)
    if appt.late_notice_at is None:
        raise ApiError(409, "not_late", "this appointment is not running late")
    return loaded, appt, row.ticket


def choose_wait(ctx: ServerContext, ticket_token: str) -> Appointment:
    """The person keeps waiting (the choice is shown on the follow page)."""
    loaded, appt, _ticket = told(ctx, ticket_token)
    a = schema.appointments
    with db.write(ctx.engine) as conn:
        conn.execute(
            sa.update(a)
            .where(a.c.id == appt.id, a.c.late_choice.is_(None))
            .values(late_choice=Choice.WAIT, updated_at=ctx.now())
        )
        notify.announce_news(conn, loaded.id)
    ctx.notifier.news(loaded.id)
    fresh = booking.by_token(ctx.engine, appt.token)
    assert fresh is not None
    return fresh


def rebook(ctx: ServerContext, ticket_token: str, start: int, channel: str) -> Appointment:
    """Books ``start`` for the person instead (same service, same contact), then cancels the
    waiting ticket; the new appointment is confirmed by message. When the ticket was called
    meanwhile, the new booking is cancelled again and 409 ``called`` is answered."""
    loaded, appt, ticket_id = told(ctx, ticket_token)
    now = ctx.now()
    new = booking.book(
        ctx.engine,
        loaded,
        appt.service,
        start,
        now,
        Contact(name=appt.name, email=appt.email, phone=appt.phone, lang=appt.lang),
        channel,
    )
    stored = []
    with db.write(ctx.engine) as conn:
        row = db.lock_site(conn, loaded.id)
        assert row is not None
        with ctx.states.hold(conn, loaded, now, row.last_seq) as state:
            t = state.tickets.get(ticket_id)
            waiting = t is not None and t.status is TicketStatus.WAITING
            if waiting and state.last_hlc is not None:
                ctx.clock.receive(state.last_hlc)
        if waiting:
            event = new_event(
                EventKind.TICKET_CANCELLED,
                site=loaded.id,
                device="public",
                hlc=ctx.clock.now(),
                wall_time=now,
                ticket=ticket_id,
            )
            stored = store.append(conn, loaded.id, row.last_seq, ctx.sign(loaded.id, [event]), now)
            a = schema.appointments
            conn.execute(
                sa.update(a)
                .where(a.c.id == appt.id)
                .values(late_choice=Choice.REBOOK, updated_at=now)
            )
    if not waiting:
        booking.cancel(ctx.engine, new, now)
        raise ApiError(409, "called", "the ticket was called meanwhile: it stays as it was")
    ctx.states.record(loaded, stored)
    ctx.notifier.publish(loaded.id, stored[-1].seq or 0)
    log.info("appointment %s rebooked as %s; its ticket cancelled", appt.id, new.id)
    if ctx.messages is not None:
        ctx.messages.tell(loaded, new, Kind.BOOKED)
    return new
