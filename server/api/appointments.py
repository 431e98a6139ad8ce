"""Appointment endpoints: free slots, book, move, cancel (public, by link or short code), the
day's appointments and check-in (devices and staff)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from server.api.deps import Caller, Ctx, SiteId
from server.api.public import within_budget
from server.appointments import booking, privacy
from server.appointments.announce import announce
from server.appointments.booking import Appointment, Contact
from server.appointments.checkin import check_in
from server.appointments.indicators import AppointmentIndicators, indicators
from server.appointments.messages import Kind
from server.appointments.models import (
    CODE_RE,
    AppointmentOut,
    BookRequest,
    CheckedIn,
    CheckInRequest,
    DayAppointments,
    Erased,
    MoveRequest,
    Person,
    PersonalData,
    SlotList,
    StaffAppointment,
)
from server.appointments.views import public_view, slot_out, staff_view
from server.auth import Permission, Principal
from server.context import ServerContext
from server.errors import ApiError, ErrorBody, invalid, not_found, responses
from server.models import IDENT, TOKEN_RE
from server.sites import LoadedSite
from server.states import window_floor
from server.stats import FIRST_DAY, LAST_DAY

public = APIRouter(prefix="/public", dependencies=[Depends(within_budget)])
"""Public endpoints spend the address's budget of public requests (like the public pages)."""
staff = APIRouter(prefix="/sites/{site}")

ServiceId = Annotated[str, Path(pattern=IDENT, max_length=63, description="Service id.")]
Token = Annotated[str, Path(pattern=TOKEN_RE, description="The appointment's link secret.")]
Code = Annotated[str, Path(pattern=CODE_RE, description="The appointment's short code.")]
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorBody,
        "description": "slot_full (no place left), not_booked (cancelled or checked in), "
        "checked_in, cancelled, not_today, late (check-in refused under the rebook rule)",
    }
}
_ERRORS: dict[int | str, dict[str, Any]] = {**responses(400, 404, 413, 422), **_CONFLICT}
_PUBLIC_ERRORS: dict[int | str, dict[str, Any]] = {**_ERRORS, **responses(429)}


def _loaded(ctx: ServerContext, site: str) -> LoadedSite:
    loaded = ctx.sites.get_by_engine(ctx.engine, site)
    if loaded is None:
        raise not_found(f"site {site!r}")
    return loaded


def _by_token(ctx: ServerContext, token: str) -> tuple[LoadedSite, Appointment]:
    appt = booking.by_token(ctx.engine, token)
    if appt is None:
        raise not_found("appointment")
    return _loaded(ctx, appt.site), appt


def _private(response: Response) -> None:
    response.headers["Cache-Control"] = "no-store"


@public.get(
    "/sites/{site}/services/{service}/slots",
    response_model=SlotList,
    responses=responses(404, 422, 429),
    summary="Free appointment slots of a service (within its booking horizon)",
)
def slots(
    site: SiteId,
    service: ServiceId,
    ctx: Ctx,
    response: Response,
    first: Annotated[
        date | None, Query(alias="from", description="First day (default today).")
    ] = None,
    days: Annotated[int | None, Query(ge=1, le=366, description="Days from `from`.")] = None,
) -> SlotList:
    loaded = _loaded(ctx, site)
    found = booking.free_slots(ctx.engine, loaded, service, ctx.now(), first, days)
    rules = booking.service_rules(loaded, service)[1]
    response.headers["Cache-Control"] = "no-cache"
    return SlotList(
        site=site,
        service=service,
        duration_minutes=rules.duration_minutes,
        slots=[slot_out(loaded, s) for s in found],
    )


@public.post(
    "/sites/{site}/appointments",
    response_model=AppointmentOut,
    responses=_PUBLIC_ERRORS,
    summary="Book an appointment (no account: keep the code and the link's token)",
)
def book(site: SiteId, body: BookRequest, ctx: Ctx, response: Response) -> AppointmentOut:
    loaded = _loaded(ctx, site)
    lang = body.lang if body.lang in loaded.site.languages else loaded.site.languages[0]
    contact = Contact(body.name, body.email, body.phone, lang)
    appt = booking.book(ctx.engine, loaded, body.service, body.start, ctx.now(), contact, "api")
    announce(ctx, loaded, appt, Kind.BOOKED)
    _private(response)
    return public_view(loaded, appt)


@public.get(
    "/appointments/{token}",
    response_model=AppointmentOut,
    responses=responses(404, 422, 429),
    summary="An appointment, by its link's token",
)
def get_appointment(token: Token, ctx: Ctx, response: Response) -> AppointmentOut:
    loaded, appt = _by_token(ctx, token)
    _private(response)
    return public_view(loaded, appt)


@public.get(
    "/sites/{site}/appointments/code/{code}",
    response_model=AppointmentOut,
    responses=responses(404, 422, 429),
    summary="An appointment, by its short code",
)
def get_by_code(site: SiteId, code: Code, ctx: Ctx, response: Response) -> AppointmentOut:
    loaded = _loaded(ctx, site)
    appt = booking.by_code(ctx.engine, site, code)
    if appt is None:
        raise not_found("appointment")
    _private(response)
    return public_view(loaded, appt)


@public.post(
    "/appointments/{token}/move",
    response_model=AppointmentOut,
    responses=_PUBLIC_ERRORS,
    summary="Move an appointment to another free slot of its service",
)
def move(token: Token, body: MoveRequest, ctx: Ctx, response: Response) -> AppointmentOut:
    loaded, appt = _by_token(ctx, token)
    moved = booking.move(ctx.engine, loaded, appt, body.start, ctx.now())
    if moved.starts_at != appt.starts_at:
        announce(ctx, loaded, moved, Kind.MOVED)
    _private(response)
    return public_view(loaded, moved)


@public.post(
    "/appointments/{token}/cancel",
    response_model=AppointmentOut,
    responses=_PUBLIC_ERRORS,
    summary="Cancel an appointment (its place is free again at once)",
)
def cancel(token: Token, ctx: Ctx, response: Response) -> AppointmentOut:
    loaded, appt = _by_token(ctx, token)
    cancelled = booking.cancel(ctx.engine, appt, ctx.now())
    if appt.status != cancelled.status:
        announce(ctx, loaded, cancelled, Kind.CANCELLED)
    _private(response)
    return public_view(loaded, cancelled)


@staff.get(
    "/appointments",
    response_model=DayAppointments,
    responses=responses(401, 403, 404, 422),
    summary="A day's appointments (default today), for devices and reception",
)
def day_appointments(
    site: SiteId,
    who: Caller,
    ctx: Ctx,
    day: Annotated[date | None, Query(description="Site-local day (default today).")] = None,
) -> DayAppointments:
    who.require(Permission.READ, site)
    loaded = _loaded(ctx, site)
    wanted = day.isoformat() if day else window_floor(loaded, ctx.now())[0]
    found = booking.of_day(ctx.engine, site, wanted)
    return DayAppointments(
        site=site, day=wanted, appointments=[staff_view(loaded, a) for a in found]
    )


@staff.post(
    "/appointments",
    response_model=StaffAppointment,
    responses={**responses(401, 403), **_ERRORS},
    summary="Book an appointment for the person at the desk or kiosk",
)
def staff_book(site: SiteId, body: BookRequest, who: Caller, ctx: Ctx) -> StaffAppointment:
    who.require(Permission.ISSUE, site)
    loaded = _loaded(ctx, site)
    lang = body.lang if body.lang in loaded.site.languages else loaded.site.languages[0]
    channel = "kiosk" if who.kind == "device" else "console"
    contact = Contact(body.name, body.email, body.phone, lang)
    appt = booking.book(ctx.engine, loaded, body.service, body.start, ctx.now(), contact, channel)
    announce(ctx, loaded, appt, Kind.BOOKED)
    return staff_view(loaded, appt)


@staff.post(
    "/appointments/check-in",
    response_model=CheckedIn,
    responses={**responses(401, 403), **_ERRORS},
    summary="Check an appointment in by its short code: it becomes a ticket in the queue",
)
def check_in_route(site: SiteId, body: CheckInRequest, who: Caller, ctx: Ctx) -> CheckedIn:
    return check_in(ctx, who, site, body.code, body.note)


def _administrator(who: Principal, site: str, person: Person) -> None:
    who.require(Permission.STATS, site)
    if who.kind != "user" or who.role not in ("admin", "superadmin"):
        raise ApiError(403, "forbidden", "only an administrator reads or erases personal data")
    if not person.email and not person.phone:
        raise invalid("give the person's email or phone", field="email")


@staff.post(
    "/appointments/personal-data",
    response_model=PersonalData,
    responses={**responses(400, 401, 403, 404, 413, 422)},
    summary="Export one person's appointments and data (administrators)",
)
def export_person(site: SiteId, body: Person, who: Caller, ctx: Ctx) -> PersonalData:
    _administrator(who, site, body)
    loaded = _loaded(ctx, site)
    found = privacy.of_person(ctx.engine, site, body.email, body.phone)
    return PersonalData(site=site, appointments=[staff_view(loaded, a) for a in found])


@staff.post(
    "/appointments/personal-data/erase",
    response_model=Erased,
    responses={**responses(400, 401, 403, 404, 413, 422)},
    summary="Erase one person's data; their appointments to come are cancelled (administrators)",
)
def erase_person(site: SiteId, body: Person, who: Caller, ctx: Ctx) -> Erased:
    _administrator(who, site, body)
    _loaded(ctx, site)
    erased = privacy.erase_person(ctx.engine, site, body.email, body.phone, ctx.now())
    return Erased(site=site, erased=erased)


MAX_INDICATOR_DAYS = 366


@public.get(
    "/sites/{site}/appointments/indicators",
    response_model=AppointmentIndicators,
    responses=responses(404, 422, 429),
    summary="Appointment indicators per service and day, and each service's first free slot",
)
def appointment_indicators(
    site: SiteId,
    ctx: Ctx,
    response: Response,
    first: Annotated[
        date,
        Query(alias="from", ge=FIRST_DAY, le=LAST_DAY, description="First day (site-local)."),
    ],
    last: Annotated[
        date,
        Query(alias="to", ge=FIRST_DAY, le=LAST_DAY, description="Last day (site-local)."),
    ],
) -> AppointmentIndicators:
    loaded = _loaded(ctx, site)
    if last < first or (last - first).days >= MAX_INDICATOR_DAYS:
        raise invalid(f"from..to must be 1 to {MAX_INDICATOR_DAYS} days", field="to")
    response.headers["Cache-Control"] = "public, max-age=60"
    return indicators(ctx.engine, loaded, first, last, ctx.now())
