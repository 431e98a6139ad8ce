"""Visitors' answers to "How was your visit?": three faces, one answer per ticket.

A visitor answers on the follow page once their ticket is served, or on the tablet of the
counter that served them (for people without a phone). A later answer for the same ticket
replaces the earlier one. Only the ticket's id, its service and day, the answer and where it
came from are kept: nothing personal. The figures per service are defined in
docs/statistics.md ("Satisfaction").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import IntEnum, StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from server import schema


class Score(IntEnum):
    BAD = 1
    SO_SO = 2
    GOOD = 3


class Source(StrEnum):
    PHONE = "phone"
    COUNTER = "counter"


def record(
    conn: Connection,
    *,
    site: str,
    ticket: str,
    service: str,
    day: str,
    score: Score,
    source: Source,
    at: float,
) -> None:
    """Stores one answer (in the caller's write transaction), replacing an earlier one."""
    t = schema.feedback
    conn.execute(sa.delete(t).where(t.c.site == site, t.c.ticket == ticket))
    conn.execute(
        sa.insert(t).values(
            site=site,
            ticket=ticket,
            service=service,
            day=day,
            score=int(score),
            source=source.value,
            at=at,
        )
    )


def answer_of(conn: Connection, site: str, ticket: str) -> Score | None:
    t = schema.feedback
    found = conn.execute(
        sa.select(t.c.score).where(t.c.site == site, t.c.ticket == ticket)
    ).scalar()
    return Score(found) if found is not None else None


def answer_of_token(conn: Connection, token: str) -> Score | None:
    """The answer already given for the ticket of a follow ``token``, if any."""
    t, f = schema.ticket_tokens, schema.feedback
    found = conn.execute(
        sa.select(f.c.score)
        .join(t, sa.and_(t.c.site == f.c.site, t.c.ticket == f.c.ticket))
        .where(t.c.token == token)
    ).scalar()
    return Score(found) if found is not None else None


@dataclass(frozen=True)
class ServiceSatisfaction:
    service: str
    answers: int
    good: int
    so_so: int
    bad: int

    @property
    def share_good(self) -> float | None:
        """Share of answers "good" (0..1), None without answers."""
        return self.good / self.answers if self.answers else None


def per_service(
    conn: Connection, site: str, first: date, last: date
) -> dict[str, ServiceSatisfaction]:
    """Answers per service for tickets of the days ``first`` to ``last`` (inclusive)."""
    t = schema.feedback
    rows = conn.execute(
        sa.select(t.c.service, t.c.score, sa.func.count())
        .where(t.c.site == site, t.c.day >= first.isoformat(), t.c.day <= last.isoformat())
        .group_by(t.c.service, t.c.score)
    ).all()
    counts: dict[str, dict[int, int]] = {}
    for service, score, n in rows:
        counts.setdefault(service, {})[int(score)] = int(n)
    return {
        service: ServiceSatisfaction(
            service=service,
            answers=sum(by.values()),
            good=by.get(Score.GOOD, 0),
            so_so=by.get(Score.SO_SO, 0),
            bad=by.get(Score.BAD, 0),
        )
        for service, by in sorted(counts.items())
    }
