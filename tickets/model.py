"""Sites, services, counters and devices: the configuration the queue rules read.

These are plain frozen dataclasses; ``config.site`` builds them from TOML and checks them.
Times of day are site-local (the site's IANA time zone).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class Role(StrEnum):
    KIOSK = "kiosk"
    DISPLAY = "display"


class PriorityRule(StrEnum):
    """Where a priority ticket (pregnancy, disability, age) goes ahead, when a counter calls."""

    ACROSS_SERVICES = "across_services"
    """Ahead of every ticket of the counter's services: a counter taking reception then civil
    status calls a priority civil-status ticket before an ordinary reception ticket."""
    WITHIN_SERVICE = "within_service"
    """Ahead of the tickets of its own service only: the counter's preference order of services
    comes first, priority decides within each service."""


@dataclass(frozen=True, slots=True)
class Period:
    """One opening period of a day, site-local, start inclusive, end exclusive."""

    start: time
    end: time


class LateRule(StrEnum):
    """What becomes of an appointment checked in later than the late tolerance."""

    WALK_IN = "walk_in"
    """Checked in all the same, served as a walk-in (in the order of its check-in)."""
    REBOOK = "rebook"
    """Check-in refused: the person is asked to book again (or take a walk-in ticket)."""


@dataclass(frozen=True, slots=True)
class AppointmentRules:
    """A service's appointments: when slots exist and how far ahead they may be booked
    (``tickets.appointments`` computes the slots)."""

    duration_minutes: int
    periods: dict[int, tuple[Period, ...]]
    """Periods per weekday (0 = Monday) in which slots start and end, site-local."""
    parallel: int = 1
    """Appointments that may start at the same time (counters reserved for them)."""
    horizon_days: int = 30
    """The furthest day that may be booked, in days from today."""
    min_notice_minutes: int = 60
    """The soonest a slot may be booked, in minutes before it starts."""
    closures: tuple[date, ...] = ()
    """Days without appointments (besides public holidays), sorted."""
    public_holidays: str | None = "FR"
    """Country (ISO code) whose public holidays have no appointments; None: none."""
    holiday_subdivision: str | None = None
    """Subdivision for regional holidays (e.g. "57" for Moselle); None: the national ones."""
    target_delay_days: int | None = None
    """The booking delay the service publishes (days); None: none published."""


@dataclass(frozen=True, slots=True)
class CallingRules:
    """How checked-in appointments are called among walk-ins (``tickets.appointments``)."""

    grace_minutes: int = 5
    """An appointment is due this many minutes before its time: from then on it is called
    ahead of walk-ins."""
    late_tolerance_minutes: int = 15
    """Checked in later than this after its time, an appointment is late (``late_rule``)."""
    late_rule: LateRule = LateRule.WALK_IN
    max_in_a_row: int = 3
    """A counter calls at most this many appointments in a row while a walk-in it takes
    waits: the next call is the walk-in's."""
    late_notice_minutes: int = 15
    """A checked-in appointment expected to start more than this after its time is told so
    and offered to rebook (``tickets.appointments.running_late``)."""


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    prefix: str
    """Letter(s) printed before the number: "A" gives A042."""
    names: dict[str, str]
    """Display name per language code ("fr", "en")."""
    hours: dict[int, tuple[Period, ...]] = field(default_factory=dict)
    """Opening periods per weekday (0 = Monday). A weekday absent from the map is closed."""
    mean_service_seconds: float = 300.0
    """Seed of the rolling mean service time, used until real service times are known."""
    priority_allowed: bool = False
    icon: str = ""
    appointments: AppointmentRules | None = None
    """Appointment slots of the service; None: walk-ins only."""

    def name(self, lang: str) -> str:
        return self.names.get(lang) or next(iter(self.names.values()), self.id)

    def periods(self, day: date) -> tuple[Period, ...]:
        return self.hours.get(day.weekday(), ())

    def is_open(self, local: datetime) -> bool:
        t = local.time()
        return any(p.start <= t < p.end for p in self.periods(local.date()))

    def closes_at(self, local: datetime) -> datetime | None:
        """End of the opening period containing ``local``, or None when closed then."""
        t = local.time()
        for p in self.periods(local.date()):
            if p.start <= t < p.end:
                return datetime.combine(local.date(), p.end, tzinfo=local.tzinfo)
        return None

    def next_opening(self, local: datetime) -> datetime | None:
        """The next start of an opening period strictly after ``local`` (within two weeks)."""
        for offset in range(15):
            day = local.date() + timedelta(days=offset)
            for p in self.periods(day):
                start = datetime.combine(day, p.start, tzinfo=local.tzinfo)
                if start > local:
                    return start
        return None


@dataclass(frozen=True, slots=True)
class Counter:
    id: str
    label: str
    """What the board shows and says: "Guichet 3"."""
    services: tuple[str, ...]
    """Services this counter takes, in preference order."""


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    role: Role
    offline_range: tuple[int, int] | None = None
    """Numbers (inclusive) this device may issue on its own when it has no lease left."""


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    name: str
    timezone: str = "Europe/Paris"
    languages: tuple[str, ...] = ("fr", "en")
    services: tuple[Service, ...] = ()
    counters: tuple[Counter, ...] = ()
    devices: tuple[Device, ...] = ()
    max_recalls: int = 2
    """A ticket recalled this many times is marked no-show at the next recall."""
    lease_block: int = 20
    """How many numbers one lease grants a kiosk."""
    priority_reasons: tuple[str, ...] = ()
    """Priority tickets offered at the kiosk (e.g. pregnancy, disability, age); empty: none."""
    priority_rule: PriorityRule = PriorityRule.ACROSS_SERVICES
    """Where priority tickets go ahead when a counter calls (docs/queue.md)."""
    calling: CallingRules = CallingRules()
    notify_ahead: int = 3
    """A walk-in who left a contact on the follow page is told when this many people or fewer
    are ahead of them."""

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, epoch_seconds: float) -> datetime:
        return datetime.fromtimestamp(epoch_seconds, self.tz)

    def day(self, epoch_seconds: float) -> date:
        """The site-local day of an instant: numbering restarts each day."""
        return self.local(epoch_seconds).date()

    def service(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def counter(self, counter_id: str) -> Counter | None:
        return next((c for c in self.counters if c.id == counter_id), None)

    def device(self, device_id: str) -> Device | None:
        return next((d for d in self.devices if d.id == device_id), None)

    def version(self) -> str:
        """A short hash of the whole site configuration: devices re-read it when it changes."""
        blob = json.dumps(asdict(self), sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]
