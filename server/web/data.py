"""Reads the web pages need beyond the API's own functions: the list of sites, a ticket's site
by its follow token, and arrivals by weekday and hour.

Arrivals follow the definition of ``server.stats`` (a ticket's arrival is the time of its
TicketIssued event, ``Event.at``, counted on its site-local day), read from the TicketIssued
events alone: no fold is needed to count arrivals, which keeps the public "usual peak hours"
cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from server import db, schema, store
from server.context import ServerContext
from server.sites import LoadedSite
from server.stats import MARGIN
from tickets.events import EventKind
from tickets.hlc import Timestamp


def all_sites(ctx: ServerContext) -> list[LoadedSite]:
    """Every site, by name."""
    with db.read(ctx.engine) as conn:
        ids = conn.execute(sa.select(schema.sites.c.id)).scalars().all()
        loaded = [ctx.sites.get(conn, site_id) for site_id in ids]
    return sorted((s for s in loaded if s is not None), key=lambda s: s.site.name.lower())


def site_of_token(ctx: ServerContext, token: str) -> str | None:
    t = schema.ticket_tokens
    with db.read(ctx.engine) as conn:
        return conn.execute(sa.select(t.c.site).where(t.c.token == token)).scalar_one_or_none()


def language_of_token(ctx: ServerContext, token: str) -> str | None:
    """The language the citizen chose at the kiosk for this ticket (``TicketIssued.lang``)."""
    t, e = schema.ticket_tokens, schema.events
    query = (
        sa.select(e.c.data)
        .join(t, sa.and_(t.c.site == e.c.site, t.c.ticket == e.c.ticket))
        .where(t.c.token == token, e.c.kind == EventKind.TICKET_ISSUED.value)
        .limit(1)
    )
    with db.read(ctx.engine) as conn:
        data = conn.execute(query).scalar_one_or_none()
    lang = data.get("lang") if isinstance(data, dict) else None
    return lang if isinstance(lang, str) else None


@dataclass(frozen=True)
class Arrivals:
    """Tickets issued per (weekday 0 = Monday, hour) over a period, site-local."""

    first: date
    last: date
    counts: dict[tuple[int, int], int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def hours(self) -> list[int]:
        """Hours with at least one arrival, in order."""
        return sorted({h for (_d, h) in self.counts})

    def weekdays(self) -> list[int]:
        return sorted({d for (d, _h) in self.counts})

    def weeks_of(self, weekday: int) -> int:
        """How many times ``weekday`` occurs in the period."""
        n, day = 0, self.first
        while day <= self.last:
            n += day.weekday() == weekday
            day += timedelta(days=1)
        return n

    def peaks(self, weekday: int, top: int = 3) -> list[int]:
        """The busiest hours of ``weekday`` (most arrivals first, earlier hour on a tie)."""
        row = [(count, hour) for (d, hour), count in self.counts.items() if d == weekday]
        row.sort(key=lambda ch: (-ch[0], ch[1]))
        return [hour for count, hour in row[:top] if count > 0]


def arrivals(ctx: ServerContext, loaded: LoadedSite, first: date, last: date) -> Arrivals:
    site = loaded.site
    start = datetime.combine(first, time(0), tzinfo=site.tz) - MARGIN
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=site.tz) + MARGIN
    e = schema.events
    query = sa.select(e.c.hlc, e.c.occurred_at, e.c.data).where(
        e.c.site == site.id,
        e.c.kind == EventKind.TICKET_ISSUED.value,
        e.c.hlc >= store.hlc_floor(start.timestamp()),
        e.c.hlc < store.hlc_floor(end.timestamp()),
    )
    first_s, last_s = first.isoformat(), last.isoformat()
    counts: dict[tuple[int, int], int] = {}
    seen: set[str] = set()
    with db.read(ctx.engine) as conn:
        for row in conn.execute(query):
            data = row.data or {}
            ticket, day = data.get("ticket"), data.get("day")
            if not isinstance(day, str) or not first_s <= day <= last_s or ticket in seen:
                continue
            seen.add(str(ticket))
            at = row.occurred_at
            local = site.local(at if at is not None else Timestamp.decode(row.hlc).seconds)
            key = (local.weekday(), local.hour)
            counts[key] = counts.get(key, 0) + 1
    return Arrivals(first, last, counts)
