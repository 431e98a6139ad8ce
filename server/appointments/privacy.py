"""Personal data of appointments (GDPR): only what the messages need is kept (name, e-mail,
mobile number, all optional, and reception's note), erased automatically
``appointment_retention_days`` after the appointment; an administrator can export and erase
one person's data (found by e-mail address or phone number).

Erasure blanks the contact and the note and cancels the person's appointments still to come
(their places are free again); the appointments' times and services stay, with nobody's name,
for the statistics. A walk-in's contact left to be told their turn (``server.stepout``) lives
a day at most (``purge_ticket_contacts``) and goes with an erasure too. What the queue's event
log holds of a checked-in appointment (its id and time, and reception's note if one was given)
follows the log's own retention.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server import db, schema
from server.appointments.booking import Appointment, Status
from server.appointments.messages import phone_number

_BLANK = {"name": None, "email": None, "phone": None, "note": ""}


def _holds_data() -> sa.ColumnElement[bool]:
    a = schema.appointments
    return sa.or_(
        a.c.name.is_not(None), a.c.email.is_not(None), a.c.phone.is_not(None), a.c.note != ""
    )


def purge(engine: Engine, now: float, retention_days: int) -> int:
    """Blanks the personal data of appointments that started more than ``retention_days``
    ago; returns how many were blanked."""
    a = schema.appointments
    with db.write(engine) as conn:
        done = conn.execute(
            sa.update(a)
            .where(a.c.starts_at < now - retention_days * 86400, _holds_data())
            .values(**_BLANK, updated_at=now)
        )
    return int(done.rowcount)


TICKET_CONTACT_SECONDS = 86400.0
"""A walk-in's contact is deleted this long after it was left, whatever became of its ticket
(it is deleted sooner: when the message goes or the ticket ends)."""


def purge_ticket_contacts(engine: Engine, now: float) -> int:
    """Deletes walk-ins' contacts left more than ``TICKET_CONTACT_SECONDS`` ago."""
    c = schema.ticket_contacts
    with db.write(engine) as conn:
        done = conn.execute(sa.delete(c).where(c.c.created_at < now - TICKET_CONTACT_SECONDS))
    return int(done.rowcount)


def _erase_ticket_contacts(
    conn: sa.Connection, site: str, email: str | None, phone: str | None
) -> None:
    c = schema.ticket_contacts
    rows = conn.execute(sa.select(c.c.ticket, c.c.email, c.c.phone).where(c.c.site == site)).all()
    for row in rows:
        same_email = email and row.email and row.email.strip().lower() == email.strip().lower()
        same_phone = phone and row.phone and phone_number(row.phone) == phone_number(phone)
        if same_email or same_phone:
            conn.execute(sa.delete(c).where(c.c.site == site, c.c.ticket == row.ticket))


def _matches(appt: Appointment, email: str | None, phone: str | None) -> bool:
    if email and appt.email and appt.email.strip().lower() == email.strip().lower():
        return True
    return bool(phone and appt.phone and phone_number(appt.phone) == phone_number(phone))


def of_person(engine: Engine, site: str, email: str | None, phone: str | None) -> list[Appointment]:
    """Every appointment of the site booked with this e-mail address or phone number."""
    if not email and not phone:
        return []
    a = schema.appointments
    with db.read(engine) as conn:
        rows = conn.execute(
            sa.select(a)
            .where(a.c.site == site, sa.or_(a.c.email.is_not(None), a.c.phone.is_not(None)))
            .order_by(a.c.starts_at)
        ).all()
    return [x for x in (Appointment.of(r) for r in rows) if _matches(x, email, phone)]


def erase_person(
    engine: Engine, site: str, email: str | None, phone: str | None, now: float
) -> int:
    """Erases one person's data (and cancels their appointments to come); returns how many
    appointments were theirs."""
    found = of_person(engine, site, email, phone)
    a = schema.appointments
    with db.write(engine) as conn:
        for appt in found:
            values: dict[str, object] = {**_BLANK, "updated_at": now}
            if appt.status == Status.BOOKED and appt.starts_at > now:
                values.update(status=Status.CANCELLED, seat=None)
            conn.execute(sa.update(a).where(a.c.id == appt.id).values(values))
        _erase_ticket_contacts(conn, site, email, phone)
    return len(found)
