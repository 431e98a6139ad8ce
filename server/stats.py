"""Waiting-time statistics per passage, per service, per day and per hour, exactly as
docs/statistics.md defines them.

Figures come from the fold of the site's events (the same rules as the live queue): each
ticket's passages through the services' queues (``tickets.queue.Passage``: joined at issue,
transfer or reactivation; called; ended), with each event's time (``Event.at``: its wall time
corrected by the device's clock error measured at the sync that brought it, or its clock's
physical part when no measure came with it). A passage's wait, call and service time count
under its own service. Events are read, and ordered, by their clock: a wrong device clock moves
no ticket in the queue.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from server import db, store
from server.models import HourArrivals, HourStats, SiteStats
from server.sites import LoadedSite
from tickets.queue import Joined, Outcome, Passage, Ticket, TicketStatus, fold

MAX_DAYS = 366
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2199, 12, 31)
"""The days statistics can be asked for (a wider range would overflow the clock's arithmetic
and means nothing for a queue)."""
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


@dataclass(frozen=True, slots=True)
class Row:
    """One passage of one ticket, as the statistics and the CSV export count it."""

    ticket: Ticket
    number: int
    """1 for the passage the ticket was issued into, 2 after a first transfer, ..."""
    passage: Passage


def _share(waits: list[float]) -> float | None:
    return sum(1 for w in waits if w <= WITHIN_SECONDS) / len(waits) if waits else None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def figures(rows: list[Row], *, site: bool) -> dict[str, Any]:
    """The figures of these passages: per passage for a service, and with the counts of
    tickets (issued, called, served, ...) taken over distinct tickets for the site."""
    ps = [r.passage for r in rows]
    waits = [w for p in ps if (w := p.waited_seconds) is not None]
    durations = [d for p in ps if (d := p.service_seconds) is not None]
    out: dict[str, Any] = {
        "tickets": sum(1 for r in rows if r.number == 1),
        "passages": len(ps),
        "transferred_in": sum(1 for p in ps if p.joined_by is Joined.TRANSFER),
        "transferred_out": sum(1 for p in ps if p.outcome is Outcome.TRANSFERRED),
        "waits": len(waits),
        "waiting_p50_seconds": percentile(waits, 0.5),
        "waiting_p90_seconds": percentile(waits, 0.9),
        "share_waited_15_min": _share(waits),
        "mean_service_seconds": _mean(durations),
    }
    if site:
        tickets = list({r.ticket.id: r.ticket for r in rows}.values())
        out |= {
            "called": sum(1 for t in tickets if t.called_at is not None),
            "never_called": sum(1 for t in tickets if t.called_at is None),
            "served": sum(1 for t in tickets if t.status is TicketStatus.SERVED),
            "no_shows": sum(1 for t in tickets if t.status is TicketStatus.NO_SHOW),
            "cancelled": sum(1 for t in tickets if t.status is TicketStatus.CANCELLED),
        }
    else:
        out |= {
            "called": sum(1 for p in ps if p.called_at is not None),
            "never_called": sum(1 for p in ps if p.called_at is None),
            "served": sum(1 for p in ps if p.outcome is Outcome.SERVED),
            "no_shows": sum(1 for p in ps if p.outcome is Outcome.NO_SHOW),
            "cancelled": sum(1 for p in ps if p.outcome is Outcome.CANCELLED),
        }
    return out


def hour_figures(hour: int, service: str | None, rows: list[Row], calls: int) -> HourStats:
    """``rows``: the passages that joined in this hour. A service's arrivals are its passages
    (transfers in included); the site's are tickets issued (a transfer is no new arrival)."""
    waits = [w for r in rows if (w := r.passage.waited_seconds) is not None]
    arrivals = len(rows) if service is not None else sum(1 for r in rows if r.number == 1)
    return HourStats(
        hour=hour,
        service=service,
        arrivals=arrivals,
        calls=calls,
        waits=len(waits),
        waiting_p50_seconds=percentile(waits, 0.5),
        waiting_p90_seconds=percentile(waits, 0.9),
        share_waited_15_min=_share(waits),
    )


def tickets_in_period(engine: Engine, loaded: LoadedSite, first: date, last: date) -> list[Ticket]:
    """Tickets of the site-local days ``first``..``last`` (their ``TicketIssued`` day), folded
    from the events of that period and a margin either side; by day, issue time, number."""
    site = loaded.site
    start = datetime.combine(first, time(0), tzinfo=site.tz) - MARGIN
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=site.tz) + MARGIN
    with db.read(engine) as conn:
        rows = store.by_clock(
            conn, site.id, store.hlc_floor(start.timestamp()), store.hlc_floor(end.timestamp())
        )
    state = fold(site, [store.row_event(r, corrected_time=True) for r in rows])
    first_s, last_s = first.isoformat(), last.isoformat()
    # A duplicate check-in never called is no visit: the appointment's first ticket is.
    chosen = [
        t
        for t in state.tickets.values()
        if first_s <= t.day <= last_s and t.status is not TicketStatus.DUPLICATE
    ]
    return sorted(chosen, key=lambda t: (t.day, t.issued_at, t.label, t.id))


def passage_rows(tickets: list[Ticket]) -> list[Row]:
    return [Row(t, i, p) for t in tickets for i, p in enumerate(t.passages, start=1)]


def compute(loaded: LoadedSite, first: date, last: date, tickets: list[Ticket]) -> SiteStats:
    """The figures of these tickets (``tickets_in_period``) as ``GET .../stats`` gives them."""
    site = loaded.site
    rows = passage_rows(tickets)
    order = {s.id: i for i, s in enumerate(site.services)}

    def service_key(service: str) -> tuple[int, str]:
        return (order.get(service, len(order)), service)

    by_day_service: dict[tuple[str, str], list[Row]] = defaultdict(list)
    by_day: dict[str, list[Row]] = defaultdict(list)
    by_service: dict[str, list[Row]] = defaultdict(list)
    joined: dict[tuple[int, str | None], list[Row]] = defaultdict(list)
    calls: dict[tuple[int, str | None], int] = defaultdict(int)
    arrivals: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        p, day = r.passage, r.ticket.day
        by_day_service[(day, p.service)].append(r)
        by_day[day].append(r)
        by_service[p.service].append(r)
        hour = site.local(p.joined_at).hour
        joined[(hour, p.service)].append(r)
        joined[(hour, None)].append(r)
        if p.called_at is not None:
            call_hour = site.local(p.called_at).hour
            calls[(call_hour, p.service)] += 1
            calls[(call_hour, None)] += 1
        if r.number == 1:
            arrivals[site.local(r.ticket.issued_at).hour][p.service] += 1
    hour_keys = sorted(
        set(joined) | set(calls),
        key=lambda k: (k[0], k[1] is not None, service_key(k[1] or "")),
    )
    return SiteStats.model_validate(
        {
            "site": site.id,
            "from": first,
            "to": last,
            "total": figures(rows, site=True),
            "services": [
                {"service": s, **figures(by_service[s], site=False)}
                for s in sorted(by_service, key=service_key)
            ],
            "days": [
                {"day": d, "service": s, **figures(by_day_service[(d, s)], site=False)}
                for d, s in sorted(by_day_service, key=lambda k: (k[0], service_key(k[1])))
            ],
            "site_days": [{"day": d, **figures(by_day[d], site=True)} for d in sorted(by_day)],
            "hours": [
                hour_figures(h, s, joined.get((h, s), []), calls.get((h, s), 0))
                for h, s in hour_keys
            ],
            "arrivals_by_hour": [
                HourArrivals(
                    hour=h, tickets=sum(arrivals[h].values()), by_service=dict(arrivals[h])
                )
                for h in sorted(arrivals)
            ],
        }
    )


def site_stats(engine: Engine, loaded: LoadedSite, first: date, last: date) -> SiteStats:
    return compute(loaded, first, last, tickets_in_period(engine, loaded, first, last))
