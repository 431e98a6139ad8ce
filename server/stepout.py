"""Walk-ins may step out: a person who took a ticket leaves a phone number or an e-mail
address (on the follow page, or through the API) to be told, once, when the site's
``notify_ahead`` people or fewer are ahead of them.

The contact is kept for that one message and nothing else: blanked when the message goes,
deleted when the ticket is called, served, marked absent or cancelled (``store.forget_contacts``,
in the transaction that stores the event), and in any case a day after it was left
(``server.appointments.privacy.purge_ticket_contacts``). With
several server processes, whichever marks ``notified_at`` first sends (a conditional update).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa

from server import db, schema
from server.appointments.messages import Kind
from server.context import ServerContext
from server.errors import ApiError, invalid
from server.sites import LoadedSite
from tickets.queue import QueueState, TicketStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepOut:
    """What is known of a ticket's request to be told (never the contact itself)."""

    ahead: int
    """The site's threshold: told when this many people or fewer are ahead."""
    channel: str | None
    """"email", "sms" or None when no contact is left (or it was used)."""
    notified: bool


def _ticket_of(ctx: ServerContext, token: str) -> tuple[LoadedSite, str]:
    tt = schema.ticket_tokens
    with db.read(ctx.engine) as conn:
        row = conn.execute(sa.select(tt.c.site, tt.c.ticket).where(tt.c.token == token)).first()
    loaded = ctx.sites.get_by_engine(ctx.engine, row.site) if row is not None else None
    if row is None or loaded is None:
        raise ApiError(404, "not_found", "ticket not found")
    return loaded, row.ticket


def status(ctx: ServerContext, loaded: LoadedSite, ticket: str) -> StepOut:
    c = schema.ticket_contacts
    with db.read(ctx.engine) as conn:
        row = conn.execute(
            sa.select(c.c.email, c.c.phone, c.c.notified_at).where(
                c.c.site == loaded.id, c.c.ticket == ticket
            )
        ).first()
    channel = None
    if row is not None:
        channel = "email" if row.email else "sms" if row.phone else None
    return StepOut(
        ahead=loaded.site.notify_ahead,
        channel=channel,
        notified=row is not None and row.notified_at is not None,
    )


def status_of_token(ctx: ServerContext, token: str) -> StepOut:
    loaded, ticket = _ticket_of(ctx, token)
    return status(ctx, loaded, ticket)


def leave(
    ctx: ServerContext, token: str, email: str | None, phone: str | None, lang: str
) -> StepOut:
    """Keeps ``email`` or ``phone`` (one of them) to tell the waiting ticket of ``token``
    when its turn is near; replaces a contact left before. 409 when the ticket does not
    wait (or was told already)."""
    if bool(email) == bool(phone):
        raise invalid("give an e-mail address or a phone number (one of them)", field="email")
    loaded, ticket = _ticket_of(ctx, token)
    now = ctx.now()
    with db.read(ctx.engine) as conn, ctx.states.hold(conn, loaded, now) as state:
        t = state.tickets.get(ticket)
        waiting = t is not None and t.status is TicketStatus.WAITING and t.appointment is None
    if not waiting:
        raise ApiError(409, "not_waiting", "only a waiting walk-in ticket can be told its turn")
    c = schema.ticket_contacts
    values = {"email": email or None, "phone": phone or None, "lang": lang, "created_at": now}
    with db.write(ctx.engine) as conn:
        row = conn.execute(
            sa.select(c.c.notified_at).where(c.c.site == loaded.id, c.c.ticket == ticket)
        ).first()
        if row is not None and row.notified_at is not None:
            raise ApiError(409, "notified", "this ticket was told already")
        if row is None:
            conn.execute(sa.insert(c).values(site=loaded.id, ticket=ticket, **values))
        else:
            conn.execute(
                sa.update(c).where(c.c.site == loaded.id, c.c.ticket == ticket).values(values)
            )
    log.info("ticket %s of %s: a contact was left to tell its turn", ticket, loaded.id)
    return status(ctx, loaded, ticket)


def withdraw(ctx: ServerContext, token: str) -> None:
    """Forgets the contact left for this ticket (if any)."""
    loaded, ticket = _ticket_of(ctx, token)
    c = schema.ticket_contacts
    with db.write(ctx.engine) as conn:
        conn.execute(sa.delete(c).where(c.c.site == loaded.id, c.c.ticket == ticket))


def pending_sites(ctx: ServerContext) -> set[str]:
    c = schema.ticket_contacts
    with db.read(ctx.engine) as conn:
        rows = conn.execute(sa.select(c.c.site).where(c.c.notified_at.is_(None)).distinct())
        return {r[0] for r in rows}


def tell_turns(ctx: ServerContext, loaded: LoadedSite, state: QueueState, now: float) -> list[str]:
    """Tells the walk-ins of the site whose turn is near (once each); returns their tickets.
    Contacts of tickets no longer waiting are deleted."""
    c = schema.ticket_contacts
    with db.read(ctx.engine) as conn:
        rows = conn.execute(
            sa.select(c).where(c.c.site == loaded.id, c.c.notified_at.is_(None))
        ).all()
    told: list[str] = []
    for row in rows:
        t = state.tickets.get(row.ticket)
        if t is None or t.status is not TicketStatus.WAITING:
            with db.write(ctx.engine) as conn:
                conn.execute(sa.delete(c).where(c.c.site == loaded.id, c.c.ticket == row.ticket))
            continue
        ahead = state.people_ahead(t.id)
        if ahead > loaded.site.notify_ahead:
            continue
        with db.write(ctx.engine) as conn:
            won = conn.execute(
                sa.update(c)
                .where(c.c.site == loaded.id, c.c.ticket == row.ticket, c.c.notified_at.is_(None))
                .values(notified_at=now, email=None, phone=None)
            ).rowcount
        if won != 1:
            continue
        told.append(t.id)
        log.info("ticket %s of %s: told its turn is near (%d ahead)", t.id, loaded.id, ahead)
        if ctx.messages is not None:
            service = loaded.site.service(t.service)
            ctx.messages.notice(
                loaded,
                f"ticket {t.id}",
                Kind.TURN,
                (row.email, row.phone),
                row.lang,
                label=t.label,
                service=service.name(row.lang) if service else t.service,
                ahead=ahead,
                link=f"{ctx.settings.public_url.rstrip('/')}/t/{t.token}",
            )
    return told
