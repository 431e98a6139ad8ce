"""Waiting-time statistics per service and day, exactly as docs/statistics.md defines them.

Figures come from the fold of the site's events (the same rules as the live queue), using each
event's time (``Event.at``: its wall time corrected by the device's clock error measured at the
sync that brought it, or its clock's physical part when no measure came with it): a ticket's
issue time is its TicketIssued's, its first call that of the first TicketCalled the fold
applied, its service start that of the call that took it from the waiting line (after a
transfer, the call at the new service), its end that of the event that finished it. Events are
read, and ordered, by their clock: a wrong device clock moves no ticket in the queue.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from sqlalchemy.engine import Engine

from server import db, store
from server.models import HourArrivals, ServiceDayStats, SiteStats
from server.sites import LoadedSite
from tickets.queue import Ticket, TicketStatus, fold

MAX_DAYS = 366
WITHIN_SECONDS = 15 * 60.0
MARGIN = timedelta(hours=12)
"""Events this far before the first day and after the last are folded too (devices' clocks
and late calls near midnight)."""


def percentile(values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (Hyndman and Fan type 7; numpy's default,
    spreadsheet PERCENTILE.INC): the value at rank 1 + (n - 1) * p of the sorted values."""
    if not values:
        return None
    xs = sorted(values)
    h = (len(xs) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


def service_day(day: str, service: str, tickets: list[Ticket]) -> ServiceDayStats:
    waits = [t.waited_seconds for t in tickets if t.waited_seconds is not None]
    served = [t for t in tickets if t.status is TicketStatus.SERVED]
    durations = [
        max(0.0, t.finished_at - t.service_started_at)
        for t in served
        if t.finished_at is not None and t.service_started_at is not None
    ]
    return ServiceDayStats(
        day=date.fromisoformat(day),
        service=service,
        tickets=len(tickets),
        called=len(waits),
        served=len(served),
        no_shows=sum(1 for t in tickets if t.status is TicketStatus.NO_SHOW),
        cancelled=sum(1 for t in tickets if t.status is TicketStatus.CANCELLED),
        waiting_p50_seconds=percentile(waits, 0.5),
        waiting_p90_seconds=percentile(waits, 0.9),
        share_waited_15_min=(
            sum(1 for w in waits if w <= WITHIN_SECONDS) / len(waits) if waits else None
        ),
        mean_service_seconds=sum(durations) / len(durations) if durations else None,
    )


def site_stats(engine: Engine, loaded: LoadedSite, first: date, last: date) -> SiteStats:
    site = loaded.site
    start = datetime.combine(first, time(0), tzinfo=site.tz) - MARGIN
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=site.tz) + MARGIN
    with db.read(engine) as conn:
        rows = store.by_clock(
            conn, site.id, store.hlc_floor(start.timestamp()), store.hlc_floor(end.timestamp())
        )
    state = fold(site, [store.row_event(r, corrected_time=True) for r in rows])
    first_s, last_s = first.isoformat(), last.isoformat()
    groups: dict[tuple[str, str], list[Ticket]] = defaultdict(list)
    hours: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for t in state.tickets.values():
        if not first_s <= t.day <= last_s:
            continue
        groups[(t.day, t.original_service)].append(t)
        hours[site.local(t.issued_at).hour][t.original_service] += 1
    days = [service_day(d, s, groups[(d, s)]) for d, s in sorted(groups)]
    arrivals = [
        HourArrivals(hour=h, tickets=sum(hours[h].values()), by_service=dict(hours[h]))
        for h in sorted(hours)
    ]
    return SiteStats.model_validate(
        {"site": site.id, "from": first, "to": last, "days": days, "arrivals_by_hour": arrivals}
    )
