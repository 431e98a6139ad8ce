"""Booking, moving, cancelling and listing appointments: the rules every channel shares.

A slot has ``parallel`` places; an appointment holds one (its ``seat``). The table's unique
constraint on (site, service, start, seat) is what keeps a slot from being overbooked: two
server processes that book the last place at once both try the same seat, and only one
commits; the other reads the slot again and takes the next free seat, or finds it full. No
lock is held across processes for it, so bookings of different slots never wait on each other.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from server import db, schema
from server.appointments.calendar import holiday_checker
from server.errors import ApiError, invalid, not_found
from server.sites import LoadedSite
from tickets import appointments as rules_of
from tickets.model import AppointmentRules, Service

log = logging.getLogger(__name__)

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
"""Short codes avoid letters and digits read alike (0/O, 1/I/L)."""
CODE_LENGTH = 8
ATTEMPTS = 20
"""Tries of one booking before giving up (each loses only to a booking that committed)."""


class Status:
    BOOKED = "booked"
    CANCELLED = "cancelled"
    CHECKED_IN = "checked_in"


@dataclass(frozen=True)
class Contact:
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    lang: str = "fr"


@dataclass(frozen=True)
class Appointment:
    id: str
    site: str
    service: str
    starts_at: int
    day: str
    code: str
    token: str
    status: str
    channel: str
    name: str | None
    email: str | None
    phone: str | None
    lang: str
    note: str
    ticket: str | None
    created_at: float
    updated_at: float
    late_notice_at: float | None = None
    """When the person was told it runs late (``server.appointments.notices``)."""
    late_choice: str | None = None
    """"wait" or "rebook", once they chose."""

    @classmethod
    def of(cls, row: Any) -> Appointment:
        return cls(
            id=row.id,
            site=row.site,
            service=row.service,
            starts_at=int(row.starts_at),
            day=row.day,
            code=row.code,
            token=row.token,
            status=row.status,
            channel=row.channel,
            name=row.name,
            email=row.email,
            phone=row.phone,
            lang=row.lang,
            note=row.note or "",
            ticket=row.ticket,
            created_at=row.created_at,
            updated_at=row.updated_at,
            late_notice_at=row.late_notice_at,
            late_choice=row.late_choice,
        )

    @property
    def display_code(self) -> str:
        """The code as printed and shown: two groups of four."""
        return f"{self.code[:4]}-{self.code[4:]}"


def normalise_code(text: str) -> str:
    """What a person typed (any case, spaces, dashes) as a stored code."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def service_rules(loaded: LoadedSite, service_id: str) -> tuple[Service, AppointmentRules]:
    service = loaded.site.service(service_id)
    if service is None:
        raise not_found(f"service {service_id!r} of site {loaded.id!r}")
    if service.appointments is None:
        raise invalid(f"service {service_id!r} takes no appointments", field="service")
    return service, service.appointments


def booking_services(loaded: LoadedSite) -> list[Service]:
    return [s for s in loaded.site.services if s.appointments is not None]


def _taken(conn: Connection, site: str, service: str, starts: Iterable[int]) -> Counter[int]:
    a = schema.appointments
    wanted = list(starts)
    if not wanted:
        return Counter()
    rows = conn.execute(
        sa.select(a.c.starts_at, sa.func.count())
        .where(
            a.c.site == site,
            a.c.service == service,
            a.c.seat.is_not(None),
            a.c.starts_at >= min(wanted),
            a.c.starts_at <= max(wanted),
        )
        .group_by(a.c.starts_at)
    ).all()
    return Counter({int(r[0]): int(r[1]) for r in rows})


def free_slots(
    engine: Engine,
    loaded: LoadedSite,
    service_id: str,
    now: float,
    first: date | None = None,
    days: int | None = None,
) -> list[rules_of.Slot]:
    """The bookable slots of a service with their free places, from ``first`` (default
    today) for ``days`` days (default: to the end of the booking horizon)."""
    _service, rules = service_rules(loaded, service_id)
    tz = loaded.site.tz
    holiday = holiday_checker(rules)
    bookable = rules_of.bookable_days(rules, now, tz, holiday)
    if first is not None:
        bookable = [d for d in bookable if d >= first]
    if days is not None and first is not None:
        last = first + timedelta(days=days - 1)
        bookable = [d for d in bookable if d <= last]
    starts = [int(s) for d in bookable for s in rules_of.day_starts(rules, d, tz)]
    with db.read(engine) as conn:
        taken = _taken(conn, loaded.id, service_id, starts)
    return rules_of.open_slots(
        rules, bookable, now, tz, holiday, {float(k): v for k, v in taken.items()}
    )


def first_free(
    engine: Engine, loaded: LoadedSite, service_id: str, now: float
) -> rules_of.Slot | None:
    """The first slot of ``free_slots`` (None when none is free within the horizon), read
    day by day: the whole horizon's slots are computed only when every day is full."""
    _service, rules = service_rules(loaded, service_id)
    for day in rules_of.bookable_days(rules, now, loaded.site.tz, holiday_checker(rules)):
        found = free_slots(engine, loaded, service_id, now, day, 1)
        if found:
            return found[0]
    return None


def _check_start(loaded: LoadedSite, rules: AppointmentRules, start: int, now: float) -> None:
    why = rules_of.refusal(rules, float(start), now, loaded.site.tz, holiday_checker(rules))
    if why is not None:
        raise invalid(why, field="start")


def _full(start: int) -> ApiError:
    return ApiError(409, "slot_full", f"the slot at {start} has no free place left", field="start")


def _free_seat(conn: Connection, site: str, service: str, start: int, parallel: int) -> int:
    a = schema.appointments
    seats = {
        r[0]
        for r in conn.execute(
            sa.select(a.c.seat).where(
                a.c.site == site,
                a.c.service == service,
                a.c.starts_at == start,
                a.c.seat.is_not(None),
            )
        )
    }
    free = [s for s in range(parallel) if s not in seats]
    if len(seats) >= parallel or not free:
        raise _full(start)
    return free[0]


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def book(
    engine: Engine,
    loaded: LoadedSite,
    service_id: str,
    start: int,
    now: float,
    contact: Contact,
    channel: str,
) -> Appointment:
    """Books a place at ``start`` (epoch seconds): 422 when the slot may not be booked,
    409 ``slot_full`` when every place is taken."""
    _service, rules = service_rules(loaded, service_id)
    _check_start(loaded, rules, start, now)
    day = loaded.site.day(start).isoformat()
    for _attempt in range(ATTEMPTS):
        appointment_id = str(uuid.uuid4())
        values: dict[str, Any] = {
            "id": appointment_id,
            "site": loaded.id,
            "service": service_id,
            "starts_at": start,
            "day": day,
            "code": new_code(),
            "token": secrets.token_urlsafe(18),
            "status": Status.BOOKED,
            "channel": channel,
            "name": contact.name,
            "email": contact.email,
            "phone": contact.phone,
            "lang": contact.lang,
            "note": "",
            "ticket": None,
            "created_at": now,
            "updated_at": now,
        }
        try:
            with db.write(engine) as conn:
                values["seat"] = _free_seat(conn, loaded.id, service_id, start, rules.parallel)
                conn.execute(sa.insert(schema.appointments).values(values))
                booked = _reload(conn, appointment_id)
        except sa.exc.IntegrityError:
            # Another process took that seat (or drew that code) first: read again.
            continue
        log.info("appointment %s booked: %s %s at %d", booked.id, loaded.id, service_id, start)
        return booked
    raise ApiError(503, "busy", "too many bookings at once: try again")


def by_token(engine: Engine, token: str) -> Appointment | None:
    a = schema.appointments
    with db.read(engine) as conn:
        row = conn.execute(sa.select(a).where(a.c.token == token)).first()
    return Appointment.of(row) if row is not None else None


def by_code(engine: Engine, site: str, code: str) -> Appointment | None:
    a = schema.appointments
    with db.read(engine) as conn:
        row = conn.execute(
            sa.select(a).where(a.c.site == site, a.c.code == normalise_code(code))
        ).first()
    return Appointment.of(row) if row is not None else None


def _reload(conn: Connection, appointment_id: str) -> Appointment:
    a = schema.appointments
    return Appointment.of(conn.execute(sa.select(a).where(a.c.id == appointment_id)).one())


def _still_booked(appt: Appointment) -> None:
    if appt.status != Status.BOOKED:
        raise ApiError(
            409,
            "not_booked",
            f"the appointment is {appt.status.replace('_', ' ')}: it cannot change",
        )


def move(
    engine: Engine, loaded: LoadedSite, appt: Appointment, start: int, now: float
) -> Appointment:
    """Moves a booked appointment to another slot of its service (same rules as booking)."""
    _still_booked(appt)
    _service, rules = service_rules(loaded, appt.service)
    _check_start(loaded, rules, start, now)
    if start == appt.starts_at:
        return appt
    a = schema.appointments
    day = loaded.site.day(start).isoformat()
    for _attempt in range(ATTEMPTS):
        try:
            with db.write(engine) as conn:
                current = _reload(conn, appt.id)
                _still_booked(current)
                seat = _free_seat(conn, loaded.id, appt.service, start, rules.parallel)
                conn.execute(
                    sa.update(a)
                    .where(a.c.id == appt.id)
                    .values(starts_at=start, day=day, seat=seat, updated_at=now)
                )
                return _reload(conn, appt.id)
        except sa.exc.IntegrityError:
            continue
    raise ApiError(503, "busy", "too many bookings at once: try again")


def cancel(engine: Engine, appt: Appointment, now: float) -> Appointment:
    """Cancels a booked appointment; its place is free again at once."""
    a = schema.appointments
    with db.write(engine) as conn:
        current = _reload(conn, appt.id)
        if current.status == Status.CANCELLED:
            return current
        _still_booked(current)
        conn.execute(
            sa.update(a)
            .where(a.c.id == appt.id)
            .values(status=Status.CANCELLED, seat=None, updated_at=now)
        )
        return _reload(conn, appt.id)


def of_day(engine: Engine, site: str, day: str) -> list[Appointment]:
    """The site's appointments of one day (every status), in time order."""
    a = schema.appointments
    with db.read(engine) as conn:
        rows = conn.execute(
            sa.select(a).where(a.c.site == site, a.c.day == day).order_by(a.c.starts_at, a.c.id)
        ).all()
    return [Appointment.of(r) for r in rows]


def local_time(loaded: LoadedSite, start: float) -> datetime:
    return loaded.site.local(start)


def mark_uploaded_check_ins(conn: Connection, site: str, events: Iterable[Any], now: float) -> int:
    """Appointments checked in by a device (its ``TicketIssued`` uploaded, maybe made offline)
    are checked in here too, in the sync's transaction; returns how many were marked."""
    a = schema.appointments
    marked = 0
    for e in events:
        appointment = e.data.get("appointment") if e.data else None
        if e.kind != "TicketIssued" or not isinstance(appointment, str):
            continue
        marked += conn.execute(
            sa.update(a)
            .where(a.c.id == appointment, a.c.site == site, a.c.status == Status.BOOKED)
            .values(status=Status.CHECKED_IN, ticket=e.ticket, updated_at=now)
        ).rowcount
    return marked
