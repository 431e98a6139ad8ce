"""A site's description: services, counters and devices (``guichet site load FILE``).

The same model travels as JSON from the server to the devices (``SiteConfig.model_dump``), so
kiosks and boards know the services without a file of their own.
"""

from __future__ import annotations

import re
from datetime import date, time
from enum import StrEnum
from itertools import pairwise
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from config.loader import MAX_TEXT
from tickets.model import (
    AppointmentRules,
    CallingRules,
    Counter,
    Device,
    LateRule,
    Period,
    PriorityRule,
    Role,
    Service,
    Site,
)

_ID = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Ident = Annotated[str, Field(pattern=_ID)]
MAX_NUMBER = 999_999
"""Largest ticket number a device's offline range may reach."""


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


def parse_period(text: str) -> Period:
    m = _HOURS.match(text)
    if not m:
        raise ValueError(f"opening period {text!r} is not HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59:
        raise ValueError(f"opening period {text!r} has an impossible time")
    end = time(23, 59, 59) if (h2, m2) >= (24, 0) else time(h2, m2)
    start = time(h1, m1)
    if start >= end:
        raise ValueError(f"opening period {text!r} ends before it starts")
    return Period(start, end)


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, str_max_length=MAX_TEXT
    )


def _periods(v: dict[Weekday, list[str]]) -> dict[Weekday, list[str]]:
    for periods in v.values():
        for p in periods:
            parse_period(p)
    return v


def _domain_periods(v: dict[Weekday, list[str]]) -> dict[int, tuple[Period, ...]]:
    return {
        WEEKDAYS.index(day.value): tuple(parse_period(p) for p in periods)
        for day, periods in v.items()
    }


class AppointmentConfig(_Strict):
    """A service's appointment slots (``[services.appointments]``)."""

    duration_minutes: int = Field(ge=5, le=480)
    """Length of one appointment slot (minutes)."""
    hours: dict[Weekday, Annotated[list[str], Field(max_length=12)]] = Field(min_length=1)
    """Periods per weekday in which appointment slots lie, site-local "HH:MM-HH:MM"."""
    parallel: int = Field(default=1, ge=1, le=100)
    """Appointments that may start at the same time: the counters reserved for them."""
    horizon_days: int = Field(default=30, ge=1, le=366)
    """How far ahead a slot may be booked (days from today)."""
    min_notice_minutes: int = Field(default=60, ge=0, le=20160)
    """The soonest a slot may be booked before it starts (minutes)."""
    closures: list[date] = Field(default_factory=list, max_length=1000)
    """Days without appointments besides public holidays (ISO dates)."""
    target_delay_days: int | None = Field(default=None, ge=1, le=366)
    """The booking delay the service publishes (days): bookings whose appointment falls
    within it count as kept in the indicators; omit when none is published."""
    public_holidays: str = Field(default="FR", pattern=r"^([A-Z]{2})?$")
    """Country (ISO 3166 code) whose public holidays have no appointments; "" for none."""
    holiday_subdivision: str | None = Field(default=None, max_length=8)
    """Subdivision of that country for regional holidays, as the ``holidays`` library names
    them ("57" for Moselle, "6AE" for Alsace, "974" for La Réunion)."""

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: dict[Weekday, list[str]]) -> dict[Weekday, list[str]]:
        return _periods(v)

    def to_domain(self) -> AppointmentRules:
        return AppointmentRules(
            duration_minutes=self.duration_minutes,
            periods=_domain_periods(self.hours),
            parallel=self.parallel,
            horizon_days=self.horizon_days,
            min_notice_minutes=self.min_notice_minutes,
            closures=tuple(sorted(set(self.closures))),
            public_holidays=self.public_holidays or None,
            holiday_subdivision=self.holiday_subdivision,
            target_delay_days=self.target_delay_days,
        )


class CallingConfig(_Strict):
    """How checked-in appointments are called among walk-ins (``[appointments]``)."""

    grace_minutes: int = Field(default=5, ge=0, le=120)
    """An appointment is called ahead of walk-ins from this many minutes before its time."""
    late_tolerance_minutes: int = Field(default=15, ge=0, le=240)
    """Checked in later than this after its time, an appointment is late (minutes)."""
    late_rule: LateRule = LateRule.WALK_IN
    """What a late appointment becomes: ``walk_in`` (served as a walk-in from its check-in)
    or ``rebook`` (check-in refused; the person books again or takes a ticket)."""
    max_in_a_row: int = Field(default=3, ge=1, le=50)
    """Appointments a counter calls in a row at most while a walk-in it takes waits."""
    late_notice_minutes: int = Field(default=15, ge=1, le=240)
    """A checked-in appointment expected to start more than this after its time (minutes)
    is told so, on its follow page and by message, and offered to rebook."""

    def to_domain(self) -> CallingRules:
        return CallingRules(
            grace_minutes=self.grace_minutes,
            late_tolerance_minutes=self.late_tolerance_minutes,
            late_rule=self.late_rule,
            max_in_a_row=self.max_in_a_row,
            late_notice_minutes=self.late_notice_minutes,
        )


class ServiceConfig(_Strict):
    id: Ident
    """Stable identifier used in URLs and events (lower case, digits, - _ .)."""
    prefix: str = Field(pattern=r"^[A-Z]{1,2}$")
    """Letter(s) before the number on the ticket: "A" prints A042."""
    names: dict[str, Annotated[str, Field(min_length=1, max_length=200)]] = Field(max_length=20)
    """Name per language code, e.g. {fr = "État civil", en = "Civil status"}."""
    hours: dict[Weekday, Annotated[list[str], Field(max_length=12)]] = Field(default_factory=dict)
    """Opening periods per weekday, site-local, "HH:MM-HH:MM". A missing weekday is closed."""
    mean_service_minutes: float = Field(default=5.0, gt=0, le=240)
    """Average service time in minutes, the seed of the wait estimate (minutes)."""
    priority_allowed: bool = False
    """Whether the kiosk offers a priority ticket for this service."""
    icon: str = Field(default="", max_length=64)
    """Icon name shown on the kiosk button (see kiosk/icons)."""
    appointments: AppointmentConfig | None = None
    """Appointment slots of this service; omit for walk-ins only."""
    category: Ident | None = None
    """The kiosk lists this service under that category (one of ``categories``); none: on the
    first screen beside the categories."""
    same_as: Ident | None = None
    """The key that says this service is the one another site of the server offers too
    ("elsewhere" on the pages and the kiosk); none: its ``id`` is its key. Two services of
    different sites with the same key are the same service."""

    @property
    def key(self) -> str:
        """What matches this service with the same service of other sites."""
        return self.same_as or self.id

    @field_validator("names")
    @classmethod
    def _names(cls, v: dict[str, str]) -> dict[str, str]:
        if not v:
            raise ValueError("a service needs a name in at least one language")
        return v

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: dict[Weekday, list[str]]) -> dict[Weekday, list[str]]:
        return _periods(v)

    def to_domain(self) -> Service:
        return Service(
            id=self.id,
            prefix=self.prefix,
            names=dict(self.names),
            hours=_domain_periods(self.hours),
            mean_service_seconds=self.mean_service_minutes * 60.0,
            priority_allowed=self.priority_allowed,
            icon=self.icon,
            appointments=self.appointments.to_domain() if self.appointments else None,
        )


class CategoryConfig(_Strict):
    """A group of services on the kiosk (``[[categories]]``): a one-stop desk shows its
    categories first ("Family", "Housing"), then the needs of the one touched."""

    id: Ident
    """Identifier the services name in their ``category``."""
    names: dict[str, Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=20
    )
    """Name per language code, e.g. {fr = "Famille", en = "Family"}."""
    icon: str = Field(default="", max_length=64)
    """Icon name shown on the kiosk card (see kiosk/icons)."""

    def name(self, lang: str) -> str:
        return self.names.get(lang) or next(iter(self.names.values()), self.id)


class CounterConfig(_Strict):
    id: Ident
    """Counter identifier; the call button box sends it (e.g. "3")."""
    label: str = Field(min_length=1, max_length=60)
    """What the board shows and says: "Guichet 3"."""
    services: list[Ident] = Field(min_length=1, max_length=100)
    """Services this counter takes, in preference order."""


class DeviceConfig(_Strict):
    id: Ident
    """The device's identifier: the ``device_id`` of its own configuration file."""
    role: Role
    """``kiosk`` (issues tickets) or ``display`` (the board and its call buttons)."""
    offline_range: tuple[Annotated[int, Field(le=MAX_NUMBER)], int] | None = None
    """Numbers (inclusive) a kiosk may issue on its own when offline with no lease left."""

    @field_validator("offline_range")
    @classmethod
    def _range(cls, v: tuple[int, int] | None) -> tuple[int, int] | None:
        if v is not None and not (1 <= v[0] <= v[1] <= MAX_NUMBER):
            raise ValueError(
                f"offline_range must be [low, high] with 1 <= low <= high <= {MAX_NUMBER}"
            )
        return v


class SiteInfo(_Strict):
    id: Ident
    """The site's identifier (letters, digits, ``-`` and ``_``): in URLs and device files."""
    name: str = Field(min_length=1, max_length=200)
    """The site's name, printed on tickets and shown on the kiosk and the board."""
    timezone: str = "Europe/Paris"
    """IANA time zone: numbers restart at midnight there."""
    languages: list[Annotated[str, Field(max_length=16)]] = Field(
        default_factory=lambda: ["fr", "en"], min_length=1, max_length=20
    )
    """Languages of the kiosk, the board's announcements and the web pages, first is default."""
    max_recalls: int = Field(default=2, ge=0, le=10)
    """A ticket recalled this many times becomes a no-show at the next recall."""
    lease_block: int = Field(default=20, ge=1, le=1000)
    """Numbers granted to a kiosk per lease."""
    priority_reasons: list[Annotated[str, Field(max_length=32)]] = Field(
        default_factory=list, max_length=10
    )
    """Priority tickets offered at the kiosk: any of pregnancy, disability, age. Empty: none."""
    priority_rule: PriorityRule = PriorityRule.ACROSS_SERVICES
    """Where priority tickets go ahead when a counter calls: ``across_services`` (ahead of
    every ticket of the counter's services, whatever its preference order) or
    ``within_service`` (the counter's preference order of services first, then priority
    tickets within each service). See docs/queue.md."""
    footer: str = Field(default="", max_length=500)
    """Message printed at the bottom of each ticket."""
    notify_ahead: int = Field(default=3, ge=1, le=50)
    """A walk-in who left a phone number or e-mail on the follow page is told when this many
    people or fewer are ahead of them (people)."""

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v


class SiteConfig(_Strict):
    site: SiteInfo
    services: list[ServiceConfig] = Field(min_length=1, max_length=100)
    counters: list[CounterConfig] = Field(default_factory=list, max_length=500)
    devices: list[DeviceConfig] = Field(default_factory=list, max_length=1000)
    appointments: CallingConfig = Field(default_factory=CallingConfig)
    """How checked-in appointments are called among walk-ins."""
    categories: list[CategoryConfig] = Field(default_factory=list, max_length=20)
    """Groups of services for the kiosk's two-level choice; empty: one list of services."""

    @model_validator(mode="after")
    def _references(self) -> SiteConfig:
        ids = [s.id for s in self.services]
        if len(set(ids)) != len(ids):
            raise ValueError("two services share an id")
        categories = [c.id for c in self.categories]
        if len(set(categories)) != len(categories):
            raise ValueError("two categories share an id")
        for svc in self.services:
            if svc.category is not None and svc.category not in categories:
                raise ValueError(f"service {svc.id!r} is in unknown category {svc.category!r}")
        prefixes = [s.prefix for s in self.services]
        if len(set(prefixes)) != len(prefixes):
            raise ValueError("two services share a prefix")
        for c in self.counters:
            for s in c.services:
                if s not in ids:
                    raise ValueError(f"counter {c.id!r} takes unknown service {s!r}")
        if len({c.id for c in self.counters}) != len(self.counters):
            raise ValueError("two counters share an id")
        if len({d.id for d in self.devices}) != len(self.devices):
            raise ValueError("two devices share an id")
        ranges = sorted(d.offline_range for d in self.devices if d.offline_range)
        for (_, hi), (lo, _) in pairwise(ranges):
            if lo <= hi:
                raise ValueError("two devices' offline ranges overlap")
        return self

    def to_domain(self) -> Site:
        s = self.site
        return Site(
            id=s.id,
            name=s.name,
            timezone=s.timezone,
            languages=tuple(s.languages),
            services=tuple(x.to_domain() for x in self.services),
            counters=tuple(Counter(c.id, c.label, tuple(c.services)) for c in self.counters),
            devices=tuple(Device(d.id, d.role, d.offline_range) for d in self.devices),
            max_recalls=s.max_recalls,
            lease_block=s.lease_block,
            priority_reasons=tuple(s.priority_reasons),
            priority_rule=s.priority_rule,
            calling=self.appointments.to_domain(),
            notify_ahead=s.notify_ahead,
        )
