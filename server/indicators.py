"""A site's public indicators for a month (``/indicators/{site}``, its embed and
``GET /api/v1/public/sites/{site}/indicators``): median and 90th-percentile wait per service,
share of visitors called within 15 minutes, the busiest and the quietest hours, and the share of
visitors who found their visit good (answers to "How was your visit?", where there are any).

The figures are those of ``server.stats`` over the month (docs/statistics.md "Public
indicators"); they are computed once per site and month and kept for ``CACHE_SECONDS``, so an
unauthenticated page costs one fold per hour, not one per visitor.
"""

from __future__ import annotations

import calendar
import re
import threading
import time
from datetime import date, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from server import db, feedback
from server.feedback import ServiceSatisfaction
from server.models import (
    Figures,
    HourIndicator,
    PublicIndicators,
    ServiceIndicators,
    SiteStats,
)
from server.sites import LoadedSite
from server.stats import FIRST_DAY, compute, percentile, tickets_in_period
from tickets import appointments
from tickets.model import Site
from tickets.queue import Ticket

CACHE_SECONDS = 3600.0
ON_TIME_SECONDS = 5 * 60.0
"""An appointment called at most this long after its time was called on time."""
WAIT_FIELDS = (
    "passages",
    "waits",
    "waiting_p50_seconds",
    "waiting_p90_seconds",
    "share_waited_15_min",
)
HOURS_SHOWN = 3
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def month_bounds(month: str) -> tuple[date, date]:
    """First and last day of "YYYY-MM" (ValueError when it is no month)."""
    found = MONTH_RE.match(month)
    if found is None:
        raise ValueError(f"{month!r} is not a month (YYYY-MM)")
    year, number = int(found[1]), int(found[2])
    if not (1 <= year <= 9999 and 1 <= number <= 12):
        raise ValueError(f"{month!r} is not a month (YYYY-MM)")
    return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])


def last_month(today: date) -> str:
    """The month before ``today``'s: the last complete one."""
    return (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def check_month(month: str, today: date) -> tuple[date, date]:
    """The days of a month indicators can be asked for: from 2000 to the current month."""
    first, last = month_bounds(month)
    if first < FIRST_DAY or first > today:
        raise ValueError(f"a month from {FIRST_DAY:%Y-%m} to {today:%Y-%m}")
    return first, last


def opening_hours(site: Site) -> set[int]:
    """Hours of the day in which some service is open on some weekday."""
    hours: set[int] = set()
    for service in site.services:
        for periods in service.hours.values():
            for p in periods:
                end = p.end.hour + (1 if p.end.minute or p.end.second else 0)
                hours.update(range(p.start.hour, end))
    return hours


def appointment_figures(site: Site, tickets: list[Ticket]) -> dict[str, Any]:
    """Punctuality of the town towards booked visitors: their checked-in appointments (not
    checked in late), the median delay from the appointment time to the first call (0 when
    called early) and the share called within ``ON_TIME_SECONDS`` of their time."""
    booked = [t for t in tickets if appointments.is_appointment(t, site.calling)]
    delays = [
        max(0.0, t.called_at - t.appointment_at)
        for t in booked
        if t.called_at is not None and t.appointment_at is not None
    ]
    return {
        "appointments": len(booked),
        "appointment_delay_p50_seconds": percentile(delays, 0.5),
        "appointment_on_time_share": (
            sum(d <= ON_TIME_SECONDS for d in delays) / len(delays) if delays else None
        ),
    }


def indicators(
    loaded: LoadedSite,
    month: str,
    stats: SiteStats,
    satisfaction: dict[str, ServiceSatisfaction] | None = None,
    tickets: list[Ticket] | None = None,
) -> PublicIndicators:
    """The month's indicators from its statistics, its tickets (for appointments) and, per
    service, its visitors' answers."""
    answers = satisfaction or {}
    booked = tickets or []
    site = loaded.site
    days_open = sum(1 for d in stats.site_days if d.tickets)
    arrivals = {h.hour: h.arrivals for h in stats.hours if h.service is None}
    candidates = opening_hours(site) | {h for h, n in arrivals.items() if n}

    def hour(h: int) -> HourIndicator:
        n = arrivals.get(h, 0)
        return HourIndicator(
            hour=h, arrivals=n, arrivals_per_day=round(n / days_open, 1) if days_open else 0.0
        )

    ranked = sorted(candidates, key=lambda h: (-arrivals.get(h, 0), h))
    busiest = [h for h in ranked[:HOURS_SHOWN] if arrivals.get(h, 0)]
    quiet = sorted(set(ranked) - set(busiest), key=lambda h: (arrivals.get(h, 0), h))
    by_service = {s.service: s for s in stats.services}

    def figures(f: Figures | None, service: str | None) -> dict[str, Any]:
        mine = [t for t in booked if service is None or t.original_service == service]
        appointment = appointment_figures(site, mine)
        if f is None:
            return {**dict.fromkeys(WAIT_FIELDS), "passages": 0, "waits": 0, **appointment}
        return {k: getattr(f, k) for k in WAIT_FIELDS} | appointment

    return PublicIndicators.model_validate(
        {
            "site": site.id,
            "name": site.name,
            "month": month,
            "from": stats.date_from,
            "to": stats.date_to,
            "days_open": days_open,
            "tickets": stats.total.tickets,
            "whole_site": figures(stats.total, None),
            "services": [
                ServiceIndicators(
                    id=s.id,
                    names=dict(s.names),
                    satisfaction_answers=answers[s.id].answers if s.id in answers else 0,
                    satisfaction_good_share=(answers[s.id].share_good if s.id in answers else None),
                    **figures(by_service.get(s.id), s.id),
                )
                for s in site.services
            ],
            "busiest_hours": [hour(h) for h in busiest],
            "quietest_hours": [hour(h) for h in quiet[:HOURS_SHOWN]],
        }
    )


class IndicatorCache:
    """Each site's indicators per month, recomputed after ``CACHE_SECONDS``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str, str], tuple[float, PublicIndicators]] = {}

    def get(self, engine: Engine, loaded: LoadedSite, month: str) -> PublicIndicators:
        key = (loaded.id, loaded.site.version(), month)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        first, last = month_bounds(month)
        with db.read(engine) as conn:
            answers = feedback.per_service(conn, loaded.id, first, last)
        tickets = tickets_in_period(engine, loaded, first, last)
        stats = compute(loaded, first, last, tickets)
        found = indicators(loaded, month, stats, answers, tickets)
        with self._lock:
            self._cache[key] = (now, found)
            for old in [k for k, (at, _v) in self._cache.items() if now - at >= CACHE_SECONDS]:
                del self._cache[old]
        return found
