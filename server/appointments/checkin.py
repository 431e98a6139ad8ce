"""Check-in: a booked appointment of today becomes a ticket in the queue (one transaction)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from server import schema
from server.actions import issue_ticket
from server.appointments import booking
from server.appointments.booking import Appointment, Status
from server.appointments.models import CheckedIn
from server.appointments.views import staff_view
from server.auth import Permission, Principal
from server.context import ServerContext
from server.errors import ApiError, not_found
from server.sites import LoadedSite
from server.states import window_floor
from tickets import appointments as rules_of
from tickets.events import Event


def refusal(loaded: LoadedSite, appt: Appointment, now: float) -> ApiError | None:
    """Why this appointment may not be checked in now, or None."""
    if appt.status == Status.CHECKED_IN:
        return ApiError(409, "checked_in", "this appointment is already checked in")
    if appt.status == Status.CANCELLED:
        return ApiError(409, "cancelled", "this appointment was cancelled")
    today, _floor = window_floor(loaded, now)
    if appt.day != today:
        return ApiError(409, "not_today", f"this appointment is on {appt.day}, not today")
    if rules_of.refused_as_late(loaded.site.calling, appt.starts_at, now):
        return ApiError(
            409, "late", "this appointment's time is past beyond the tolerance: book again"
        )
    return None


def check_in(
    ctx: ServerContext, who: Principal, site_id: str, code: str, note: str | None = None
) -> CheckedIn:
    who.require(Permission.ISSUE, site_id)
    loaded = ctx.sites.get_by_engine(ctx.engine, site_id)
    if loaded is None:
        raise not_found(f"site {site_id!r}")
    appt = booking.by_code(ctx.engine, site_id, code)
    if appt is None:
        raise not_found("appointment")
    refused = refusal(loaded, appt, ctx.now())
    if refused is not None:
        raise refused
    text = (note if note is not None else appt.note).strip()

    def mark(conn: Connection, _loaded: LoadedSite, event: Event) -> None:
        a = schema.appointments
        done = conn.execute(
            sa.update(a)
            .where(a.c.id == appt.id, a.c.status == Status.BOOKED)
            .values(status=Status.CHECKED_IN, ticket=event.ticket, note=text, updated_at=ctx.now())
        )
        if done.rowcount != 1:
            raise ApiError(409, "checked_in", "this appointment is already checked in")

    extra: dict[str, object] = {"appointment": appt.id, "appointment_at": appt.starts_at}
    if text:
        extra["note"] = text
    issued = issue_ticket(
        ctx, who, site_id, appt.service, None, appt.lang, extra=extra, within=mark
    )
    fresh = booking.by_token(ctx.engine, appt.token)
    assert fresh is not None
    return CheckedIn(
        ticket=issued.ticket,
        token=issued.token,
        events=issued.events,
        appointment=staff_view(loaded, fresh),
    )
