"""The reminders of the day before: from ``reminder_hour`` (site time), each booked
appointment of the next day gets one reminder, by whichever server process marks it first.
The same loop erases the personal data of appointments past their retention
(``server.appointments.privacy``) and writes down each service's first free slot of the day
(``server.appointments.indicators``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server import db, schema
from server.appointments.booking import Appointment, Status
from server.appointments.indicators import record_first_free
from server.appointments.messages import Kind, Messenger
from server.appointments.privacy import purge
from server.sites import SiteRegistry

log = logging.getLogger(__name__)

EVERY_SECONDS = 300.0
"""How often a server process looks for reminders to send."""


def send_reminders(
    engine: Engine, sites: SiteRegistry, messenger: Messenger, now: float
) -> list[Appointment]:
    """Sends the reminders due at ``now``; returns the appointments reminded."""
    if not messenger.enabled:
        return []
    a = schema.appointments
    with db.read(engine) as conn:
        site_ids = [r[0] for r in conn.execute(sa.select(schema.sites.c.id))]
    reminded: list[Appointment] = []
    for site_id in site_ids:
        loaded = sites.get_by_engine(engine, site_id)
        if loaded is None:
            continue
        local = loaded.site.local(now)
        if local.hour < messenger.settings.reminder_hour:
            continue
        tomorrow = (local.date() + timedelta(days=1)).isoformat()
        with db.read(engine) as conn:
            rows = conn.execute(
                sa.select(a).where(
                    a.c.site == site_id,
                    a.c.day == tomorrow,
                    a.c.status == Status.BOOKED,
                    a.c.reminded_at.is_(None),
                    sa.or_(a.c.email.is_not(None), a.c.phone.is_not(None)),
                )
            ).all()
        for row in rows:
            with db.write(engine) as conn:
                won = conn.execute(
                    sa.update(a)
                    .where(a.c.id == row.id, a.c.reminded_at.is_(None))
                    .values(reminded_at=now)
                ).rowcount
            if won == 1:
                appt = Appointment.of(row)
                messenger.tell(loaded, appt, Kind.REMINDER)
                reminded.append(appt)
    return reminded


def record_every_first_free(engine: Engine, sites: SiteRegistry, now: float) -> None:
    """Each site's services' first free slot of the day, written down once a day
    (``server.appointments.indicators.record_first_free``)."""
    with db.read(engine) as conn:
        site_ids = [r[0] for r in conn.execute(sa.select(schema.sites.c.id))]
    for site_id in site_ids:
        loaded = sites.get_by_engine(engine, site_id)
        if loaded is not None:
            record_first_free(engine, loaded, now)


class ReminderLoop:
    """Sends reminders and erases expired personal data every ``EVERY_SECONDS`` in a thread,
    until closed."""

    def __init__(
        self,
        engine: Engine,
        sites: SiteRegistry,
        messenger: Messenger,
        wall: Callable[[], float],
        retention_days: int,
    ) -> None:
        self._args = (engine, sites, messenger)
        self._retention_days = retention_days
        self._wall = wall
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="guichet-reminders", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                now = self._wall()
                send_reminders(*self._args, now=now)
                record_every_first_free(self._args[0], self._args[1], now)
                erased = purge(self._args[0], now, self._retention_days)
                if erased:
                    log.info("personal data of %d past appointments erased", erased)
            except sa.exc.SQLAlchemyError as exc:
                log.warning("reminders not sent this round: %s", type(exc).__name__)
            self._stop.wait(EVERY_SECONDS)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
