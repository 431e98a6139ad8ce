"""A quieter time to come back, from the site's recent arrivals.

Definition (also in docs/kiosk.md): over the ``weeks`` whole weeks before today (site-local
midnight to midnight, so each weekday counts exactly ``weeks`` times) of TicketIssued events for
the service, each hour slot of the week (weekday, hour) during which the service is open gets its
mean arrivals, the tickets issued in that slot divided by how many times that weekday occurred
in the window. The quieter time offered is the start of the upcoming slot (within the next seven
days, not the hour we are in) with the lowest mean; ties go to the soonest. With fewer than
``min_tickets`` tickets of history there is nothing honest to say, and no time is offered.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tickets.events import Event, EventKind
from tickets.model import Service

WEEKS = 4
MIN_TICKETS = 20


def _open_hours(service: Service, day: date) -> list[tuple[int, time]]:
    """(hour, slot start) of every hour slot of ``day`` that overlaps an opening period."""
    out: dict[int, time] = {}
    for p in service.periods(day):
        hour = p.start.hour
        while time(hour) < p.end:
            start = max(time(hour), p.start)
            if hour not in out or start < out[hour]:
                out[hour] = start
            hour += 1
            if hour == 24:
                break
    return sorted(out.items())


def arrival_window(now: datetime, weeks: int = WEEKS) -> tuple[float, float]:
    """[since, until) of the arrivals counted (seconds since the epoch): the ``weeks`` whole
    weeks before today, site-local midnight to midnight. ``now`` is timezone-aware."""
    tz = now.tzinfo
    until = datetime.combine(now.date(), time(0), tzinfo=tz).timestamp()
    since = datetime.combine(now.date() - timedelta(weeks=weeks), time(0), tzinfo=tz).timestamp()
    return since, until


def slots(times: Iterable[float], tz: ZoneInfo) -> Counter[tuple[int, int]]:
    """Arrival times (seconds since the epoch) counted per site-local (weekday, hour)."""
    counts: Counter[tuple[int, int]] = Counter()
    for at in times:
        local = datetime.fromtimestamp(at, tz)
        counts[(local.weekday(), local.hour)] += 1
    return counts


def arrivals_by_slot(
    service_id: str, events: Iterable[Event], tz: ZoneInfo, since: float, until: float
) -> Counter[tuple[int, int]]:
    """Tickets issued for the service per (weekday, hour), site-local, in [since, until)."""
    return slots(
        (
            e.hlc.seconds
            for e in events
            if e.kind is EventKind.TICKET_ISSUED
            and e.data.get("service") == service_id
            and since <= e.hlc.seconds < until
        ),
        tz,
    )


def quieter_time(
    service: Service,
    events: Iterable[Event],
    now: datetime,
    *,
    weeks: int = WEEKS,
    min_tickets: int = MIN_TICKETS,
) -> datetime | None:
    """The start of the quietest upcoming open hour, or None without enough history.

    ``now`` must be timezone-aware, in the site's time zone.
    """
    tz = _site_tz(now)
    since, until = arrival_window(now, weeks)
    counts = arrivals_by_slot(service.id, events, tz, since, until)
    return quietest_slot(service, counts, now, weeks=weeks, min_tickets=min_tickets)


def quietest_slot(
    service: Service,
    counts: Counter[tuple[int, int]],
    now: datetime,
    *,
    weeks: int = WEEKS,
    min_tickets: int = MIN_TICKETS,
) -> datetime | None:
    """``quieter_time`` from the arrivals already counted per slot over ``arrival_window``."""
    tz = _site_tz(now)
    if sum(counts.values()) < min_tickets:
        return None
    best: tuple[float, datetime] | None = None
    current_hour = now.replace(minute=0, second=0, microsecond=0)
    for offset in range(8):
        day = now.date() + timedelta(days=offset)
        for hour, start in _open_hours(service, day):
            slot = datetime.combine(day, start, tzinfo=tz)
            slot_hour = datetime.combine(day, time(hour), tzinfo=tz)
            if slot <= now or slot_hour == current_hour or slot - now > timedelta(days=7):
                continue
            mean = counts[(day.weekday(), hour)] / weeks
            if best is None or mean < best[0]:
                best = (mean, slot)
    return best[1] if best else None


def _site_tz(now: datetime) -> ZoneInfo:
    if now.tzinfo is None:
        raise ValueError("now must carry the site's time zone")
    tz = now.tzinfo
    assert isinstance(tz, ZoneInfo)
    return tz
