"""Appointment indicators per service and day (``docs/statistics.md`` "Appointments" defines
each): bookings, check-ins, no-shows, punctuality, booking lead, the share kept within the
published delay and the first free slot seen that day; and each service's first free slot now.

The first free slot of a past day cannot be read back from the bookings (cancelled and moved
ones leave no trace of when their place was free), so the server writes it down: the first
time it looks on a site-local day (``record_first_free``: the reminder loop every five minutes,
and every computation of these indicators), it stores each service's first free slot for that
day, once.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine

from server import db, schema
from server.appointments import booking
from server.appointments.booking import Status
from server.sites import LoadedSite
from server.stats import tickets_in_period
from tickets.appointments import is_appointment
from tickets.model import CallingRules
from tickets.queue import Ticket

PUNCTUAL_SECONDS = 15 * 60.0
"""An appointment started on time when it was called at most this long after its time."""


class ServiceDayIndicators(BaseModel):
    day: date
    service: str
    booked: int = Field(description="Appointments of the day, not cancelled.")
    checked_in: int
    no_shows: int = Field(description="Past days: booked and never checked in.")
    called_on_time_share: float | None = Field(
        description="Of the appointments checked in on time and called: the share called "
        "within 15 minutes of their time."
    )
    mean_lead_days: float | None = Field(description="Mean days from booking to appointment.")
    within_target_share: float | None = Field(
        description="Share of the day's bookings whose appointment was within the service's "
        "published delay (target_delay_days); null when none is published."
    )
    first_free_start: int | None = Field(
        default=None,
        description="The first free slot (epoch seconds) as the server first saw it on that "
        "day; null when none was free within the horizon or none was recorded.",
    )
    first_free_days_ahead: int | None = Field(
        default=None, description="Days from that day to that slot (the booking delay)."
    )
    first_free_recorded: bool = Field(
        default=False, description="Whether the server looked for a free slot on that day."
    )


class FirstFree(BaseModel):
    service: str
    start: int | None = Field(description="The first bookable slot now (epoch seconds).")
    days_ahead: int | None = Field(description="Days from today to that slot.")


class AppointmentIndicators(BaseModel):
    site: str
    date_from: date = Field(alias="from")
    date_to: date = Field(alias="to")
    days: list[ServiceDayIndicators]
    first_free: list[FirstFree]

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


def started_on_time(t: Ticket, calling: CallingRules) -> bool | None:
    """Whether an appointment started on time: first called at most ``PUNCTUAL_SECONDS``
    after its time. None when the ticket does not count: not an appointment, checked in late
    (a walk-in), or never called."""
    if t.appointment_at is None or not is_appointment(t, calling) or not t.called_at:
        return None
    return t.called_at - t.appointment_at <= PUNCTUAL_SECONDS


def _share(hits: int, total: int) -> float | None:
    return hits / total if total else None


def record_first_free(engine: Engine, loaded: LoadedSite, now: float) -> int:
    """Stores each booking service's first free slot for the site-local day of ``now``,
    unless already stored for that day; returns how many were stored."""
    f = schema.first_free
    day = loaded.site.day(now).isoformat()
    services = [s.id for s in booking.booking_services(loaded)]
    with db.read(engine) as conn:
        seen = set(
            conn.execute(
                sa.select(f.c.service).where(f.c.site == loaded.id, f.c.day == day)
            ).scalars()
        )
    stored = 0
    for service in services:
        if service in seen:
            continue
        first = booking.first_free(engine, loaded, service, now)
        start = int(first.start) if first is not None else None
        row = {"site": loaded.id, "service": service, "day": day, "start": start, "seen_at": now}
        try:
            with db.write(engine) as conn:
                conn.execute(sa.insert(f).values(row))
            stored += 1
        except sa.exc.IntegrityError:
            continue  # another server process wrote that day's first
    return stored


def recorded_first_free(
    engine: Engine, site: str, first: date, last: date
) -> dict[tuple[str, str], int | None]:
    """(day, service) -> the first free slot recorded that day."""
    f = schema.first_free
    with db.read(engine) as conn:
        rows = conn.execute(
            sa.select(f.c.day, f.c.service, f.c.start).where(
                f.c.site == site, f.c.day >= first.isoformat(), f.c.day <= last.isoformat()
            )
        ).all()
    return {(r.day, r.service): (int(r.start) if r.start is not None else None) for r in rows}


def _first_free_of(
    loaded: LoadedSite, day: str, recorded: dict[tuple[str, str], int | None], service: str
) -> dict[str, Any]:
    start = recorded.get((day, service))
    ahead = (loaded.site.day(start) - date.fromisoformat(day)).days if start else None
    return {
        "first_free_start": start,
        "first_free_days_ahead": ahead,
        "first_free_recorded": (day, service) in recorded,
    }


def indicators(
    engine: Engine, loaded: LoadedSite, first: date, last: date, now: float
) -> AppointmentIndicators:
    record_first_free(engine, loaded, now)
    recorded = recorded_first_free(engine, loaded.id, first, last)
    a = schema.appointments
    with db.read(engine) as conn:
        rows = conn.execute(
            sa.select(a.c.service, a.c.day, a.c.status, a.c.starts_at, a.c.created_at).where(
                a.c.site == loaded.id,
                a.c.day >= first.isoformat(),
                a.c.day <= last.isoformat(),
                a.c.status != Status.CANCELLED,
            )
        ).all()
    today = loaded.site.day(now).isoformat()
    calling = loaded.site.calling
    punctual: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for t in tickets_in_period(engine, loaded, first, last):
        on_time = started_on_time(t, calling)
        if on_time is not None:
            punctual[(t.day, t.original_service)].append(on_time)
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for r in rows:
        groups[(r.day, r.service)].append(r)
    for key in recorded:
        groups.setdefault(key, [])
    out = []
    for (day, service), items in sorted(groups.items()):
        svc = loaded.site.service(service)
        target = svc.appointments.target_delay_days if svc and svc.appointments else None
        leads = [(r.starts_at - r.created_at) / 86400 for r in items]
        calls = punctual.get((day, service), [])
        out.append(
            ServiceDayIndicators(
                day=date.fromisoformat(day),
                service=service,
                booked=len(items),
                checked_in=sum(r.status == Status.CHECKED_IN for r in items),
                no_shows=sum(r.status == Status.BOOKED for r in items) if day < today else 0,
                called_on_time_share=_share(sum(calls), len(calls)),
                mean_lead_days=sum(leads) / len(leads) if leads else None,
                within_target_share=_share(sum(x <= target for x in leads), len(leads))
                if target
                else None,
                **_first_free_of(loaded, day, recorded, service),
            )
        )
    first_free = []
    for svc in booking.booking_services(loaded):
        found = booking.first_free(engine, loaded, svc.id, now)
        start = int(found.start) if found is not None else None
        ahead = (loaded.site.day(start) - loaded.site.day(now)).days if start else None
        first_free.append(FirstFree(service=svc.id, start=start, days_ahead=ahead))
    return AppointmentIndicators.model_validate(
        {"site": loaded.id, "from": first, "to": last, "days": out, "first_free": first_free}
    )
