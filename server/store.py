"""The event log in the database: append under the site lock, read by cursor or by clock.

Appending assigns the next sequence numbers of the site (its ``last_seq`` plus one, and so on)
and the server's reception time. The caller holds the site's write lock (``db.lock_site``),
which makes the sequence gapless in commit order: a reader that has seen ``seq`` n has seen
every event before it. The same transaction announces the new ``seq`` to every server process
(``notify.announce``: delivered at commit, and only if it commits).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from server import db, notify, schema
from server.errors import ApiError
from tickets.events import Event, EventKind
from tickets.heartbeat import CLOCK_OFFSET_FIELD
from tickets.hlc import Timestamp

_IN_CHUNK = 500
_E = schema.events


def event_json(row: Any) -> dict[str, Any]:
    """An ``events`` row as the API's Event JSON."""
    return {
        "id": row.id,
        "site": row.site,
        "device": row.device,
        "kind": row.kind,
        "hlc": row.hlc,
        "wall_time": row.wall_time,
        "data": row.data,
        "seq": row.seq,
        "received_at": row.received_at,
        "original_hlc": row.original_hlc,
        "sig": row.sig,
    }


def row_event(row: Any, corrected_time: bool = False) -> Event:
    """An ``events`` row as an Event; with ``corrected_time``, carrying its ``occurred_at``
    (statistics measure waits on it). Without, as every device knows it: the live queue
    folds the same events, with the same times, as the devices do."""
    return Event(
        id=row.id,
        site=row.site,
        device=row.device,
        kind=EventKind(row.kind),
        hlc=Timestamp.decode(row.hlc),
        wall_time=row.wall_time,
        data=row.data,
        seq=row.seq,
        received_at=row.received_at,
        original_hlc=None if row.original_hlc is None else Timestamp.decode(row.original_hlc),
        occurred_at=row.occurred_at if corrected_time else None,
        sig=row.sig,
    )


def same_content(stored: Any, event: Event) -> bool:
    """Whether a stored row and an uploaded event are the same event (idempotent replay): the
    author's stamp is compared, whether the server re-stamped it or not."""
    authored = event.authored
    return (
        stored.site == event.site
        and stored.device == event.device
        and stored.kind == event.kind.value
        and (stored.original_hlc or stored.hlc) == authored.hlc.encode()
        and stored.wall_time == event.wall_time
        and stored.data == event.data
    )


_FIND_ONE = db.DriverQuery(sa.select(_E).where(_E.c.id == sa.bindparam("id")))


def find(conn: Connection, ids: Sequence[str]) -> dict[str, Any]:
    """Stored events among ``ids``, by id."""
    out: dict[str, Any] = {}
    if len(ids) == 1:  # the usual upload: one ticket, one call
        return {row.id: row for row in _FIND_ONE.rows(conn, {"id": ids[0]})}
    for i in range(0, len(ids), _IN_CHUNK):
        chunk = ids[i : i + _IN_CHUNK]
        for row in conn.execute(sa.select(_E).where(_E.c.id.in_(chunk))):
            out[row.id] = row
    return out


class IdTaken(ApiError):
    """An event to append is stored already (by this site: an upload whose answer was lost;
    or by another site: a reused id). The transaction must be rolled back."""

    def __init__(self, event: str) -> None:
        super().__init__(
            409, "conflict", f"event {event} is already stored for another site", event=event
        )


def token_used(event: Event) -> ApiError:
    """The 409 for an event whose follow token another ticket holds."""
    return ApiError(
        409,
        "conflict",
        f"event {event.id}: ticket token already used by another ticket",
        event=event.id,
        field="data.token",
    )


def append(
    conn: Connection,
    site: str,
    last_seq: int,
    events: Iterable[Event],
    now: float,
    clock_error: float | None = 0.0,
    *,
    commit: bool = False,
) -> list[Event]:
    """Stores new events after ``last_seq`` (under the site lock); returns them stored.

    With ``commit``, the transaction is committed by the last statement's round trip where
    that is possible (PostgreSQL: statement and ``COMMIT`` sent together, so the site's lock
    is released without a trip back to this thread between them); the caller does nothing
    more in the transaction. A conflict (an id or follow token taken) is then refused by the
    database and raised as without ``commit``; nothing is stored.

    ``clock_error`` is how far the clock the events' ``wall_time`` was read from is behind the
    server's (seconds): 0 for the server's own events, the device's as measured at its sync,
    None when not known. Each event's ``occurred_at`` column is its wall time plus that (never
    later than its reception), or NULL when not known; the events returned do not carry it
    (``row_event``).
    """
    stored: list[Event] = []
    rows: list[dict[str, Any]] = []
    tokens: list[dict[str, Any]] = []
    seq = last_seq
    for e in events:
        seq += 1
        occurred = None if clock_error is None else min(e.wall_time + clock_error, now)
        stored.append(e.stored(seq, now))
        rows.append(
            {
                "site": site,
                "seq": seq,
                "id": e.id,
                "kind": e.kind.value,
                "hlc": e.hlc.encode(),
                "original_hlc": None if e.original_hlc is None else e.original_hlc.encode(),
                "device": e.device,
                "wall_time": e.wall_time,
                "received_at": now,
                "occurred_at": occurred,
                "ticket": e.ticket,
                "data": e.data,
                "sig": e.sig,
            }
        )
        token = e.data.get("token") if e.kind is EventKind.TICKET_ISSUED else None
        if token:
            tokens.append({"token": token, "site": site, "ticket": e.data["ticket"]})
    if not rows:
        return []
    # The caller found none of these stored under the site's lock; a copy can still be
    # committed meanwhile by another site's writer (an id or follow token reused across
    # sites). The unique constraints keep it out, and the batch is refused whole (409) rather
    # than stored with a gap in the sequence.
    ended = _ended(stored)
    on_sqlite = db.is_sqlite(conn.engine)
    if not on_sqlite and len(rows) <= _AT_ONCE_MAX and len(ended) <= _AT_ONCE_MAX:
        # The usual upload or action (or batch of actions) on PostgreSQL: one round trip.
        _append_at_once(conn, site, seq, rows, tokens, ended, stored, commit)
        return stored
    if len(rows) <= _FEW:  # the usual upload or action: on the driver's cursor
        query = _insert_rows(len(rows), on_sqlite)
        params = {f"{k}_{i}": v for i, row in enumerate(rows) for k, v in row.items()}
        inserted = query.rows(conn, params)
    else:
        inserted = list(
            conn.execute(
                db.insert(conn, _E)
                .on_conflict_do_nothing(index_elements=["id"])
                .returning(_E.c.id),
                rows,
            )
        )
    if len(inserted) != len(rows):
        taken = sorted({r["id"] for r in rows} - {r.id for r in inserted})
        raise IdTaken(taken[0])
    if tokens:
        if len(tokens) == 1:
            kept = _TOKEN_ONE[on_sqlite].rows(conn, tokens[0])
        else:
            t = schema.ticket_tokens
            unique_token = db.insert(conn, t).on_conflict_do_nothing(index_elements=["token"])
            kept = list(conn.execute(unique_token.returning(t.c.token), tokens))
        if len(kept) != len(tokens):
            raise _tokens_refused(stored, {t["token"] for t in tokens} - {r.token for r in kept})
    forget_contacts(conn, site, stored)
    # The new last seq, announced in the same statement on PostgreSQL (``notify.announce``).
    _SET_LAST[on_sqlite].run(conn, {"site": site, "seq": seq, "payload": f"{site} {seq}"})
    return stored


def _append_at_once(
    conn: Connection,
    site: str,
    seq: int,
    rows: list[dict[str, Any]],
    tokens: list[dict[str, Any]],
    ended: list[str],
    stored: list[Event],
    commit: bool,
) -> None:
    """``append``'s statements as one (PostgreSQL): the events, the follow tokens, the
    contacts of the tickets they end and the site's new last seq with its notification, each
    a statement of a ``WITH``, so the site's lock is held over one round trip and the commit
    (with ``commit``: one round trip for both). Raises as ``append`` does: the transaction
    must then be rolled back (the other parts of the statement took effect)."""
    params = {f"{k}_{i}": v for i, row in enumerate(rows) for k, v in row.items()}
    params |= {f"tok_{k}_{i}": v for i, t in enumerate(tokens) for k, v in t.items()}
    params |= {f"ended_{i}": t for i, t in enumerate(ended)}
    params |= {"site": site, "seq": seq, "payload": f"{site} {seq}"}
    query = _at_once(len(rows), len(tokens), len(ended), strict=commit)
    try:
        (result,) = query.rows(conn, params, commit=commit)
    except Exception as exc:  # the driver's unique violation: only a strict statement's
        if not commit or getattr(exc, "sqlstate", None) != _UNIQUE_VIOLATION:
            raise
        raise _conflict(exc, rows, tokens, stored) from exc
    inserted = set(result.inserted or ())
    if len(inserted) != len(rows):
        raise IdTaken(sorted({r["id"] for r in rows} - inserted)[0])
    kept = set(result.tokens or ())
    if len(kept) != len(tokens):
        raise _tokens_refused(stored, {t["token"] for t in tokens} - kept)


def _tokens_refused(stored: list[Event], used: set[str]) -> ApiError:
    """The 409 naming the first event whose follow token is among ``used``."""
    return token_used(next(e for e in stored if e.data.get("token") in used))


def _conflict(
    exc: Exception, rows: list[dict[str, Any]], tokens: list[dict[str, Any]], stored: list[Event]
) -> ApiError:
    """The 409 for a strict statement's unique violation: a follow token or an event's id."""
    diag: Any = getattr(exc, "diag", None)
    detail = str(getattr(diag, "message_detail", "") or "")
    if tokens and getattr(diag, "table_name", None) == schema.ticket_tokens.name:
        used = re.search(r"\(token\)=\((.*)\)", detail)
        return _tokens_refused(stored, {used.group(1) if used else tokens[0]["token"]})
    taken = re.search(r"\(id\)=\((.*)\)", detail)
    return IdTaken(taken.group(1) if taken else rows[0]["id"])


_UNIQUE_VIOLATION = "23505"
_AT_ONCE: dict[tuple[int, int, int, bool], db.DriverQuery] = {}


def _at_once(n: int, tokens: int, ended: int, strict: bool) -> db.DriverQuery:
    """``_append_at_once``'s statement for ``n`` events, ``tokens`` follow tokens and
    ``ended`` tickets, compiled once: one row of the ids inserted, the tokens kept and the
    last seq's notification (every part of a ``WITH`` runs, whether the result reads it or not).
    ``strict``: an id or token taken fails the statement (unique violation) instead of
    being left out of the result, so that a ``COMMIT`` sent with it stores nothing."""
    query = _AT_ONCE.get((n, tokens, ended, strict))
    if query is not None:
        return query
    insert = postgresql.insert(_E).values(
        [{c.key: sa.bindparam(f"{c.key}_{i}", type_=c.type) for c in _E.c} for i in range(n)]
    )
    if not strict:
        insert = insert.on_conflict_do_nothing(index_elements=["id"])
    inserted = insert.returning(_E.c.id).cte("inserted")
    columns: list[Any] = [sa.select(sa.func.array_agg(inserted.c.id)).scalar_subquery()]
    if tokens:
        t = schema.ticket_tokens
        token = postgresql.insert(t).values(
            [{c.key: sa.bindparam(f"tok_{c.key}_{i}") for c in t.c} for i in range(tokens)]
        )
        if not strict:
            token = token.on_conflict_do_nothing(index_elements=["token"])
        kept = token.returning(t.c.token).cte("kept")
        columns.append(sa.select(sa.func.array_agg(kept.c.token)).scalar_subquery())
    else:
        columns.append(sa.literal_column("NULL"))
    if ended:
        c = schema.ticket_contacts
        tickets = [sa.bindparam(f"ended_{i}", type_=sa.String()) for i in range(ended)]
        forgotten = (
            sa.delete(c)
            .where(c.c.site == sa.bindparam("site"), c.c.ticket.in_(tickets))
            .returning(c.c.ticket)
            .cte("forgotten")
        )
        columns.append(sa.select(sa.func.count()).select_from(forgotten).scalar_subquery())
    else:
        columns.append(sa.literal_column("0"))
    last = _SET_LAST_SEQ.returning(
        sa.func.pg_notify(notify.CHANNEL, sa.bindparam("payload")).label("notified")
    ).cte("last")
    columns.append(sa.select(sa.func.count()).select_from(last).scalar_subquery())
    labels = ("inserted", "tokens", "forgotten", "notified")
    statement = sa.select(*(col.label(name) for col, name in zip(columns, labels, strict=True)))
    return _AT_ONCE.setdefault((n, tokens, ended, strict), db.DriverQuery(statement))


_FEW = 8
"""Batches of up to this many events are inserted by a statement of their own size, compiled
once (a NEXT stores two: the served ticket and the called one)."""
_AT_ONCE_MAX = 16
"""PostgreSQL: up to this many events, and tickets whose contacts are erased, are stored by one
statement of their own shape (``_at_once``), compiled once: a batch of a site's actions
(``server.batches.BATCH_LIMIT``, two events each at most) goes in one round trip."""
_INSERTS: dict[tuple[int, bool], db.DriverQuery] = {}


def _insert_rows(n: int, on_sqlite: bool) -> db.DriverQuery:
    """``n`` events in one INSERT (none whose id is taken); returns the ids inserted."""
    query = _INSERTS.get((n, on_sqlite))
    if query is None:
        insert = (sqlite.insert if on_sqlite else postgresql.insert)(_E)
        values = insert.values(
            [{c.key: sa.bindparam(f"{c.key}_{i}", type_=c.type) for c in _E.c} for i in range(n)]
        )
        statement = values.on_conflict_do_nothing(index_elements=["id"]).returning(_E.c.id)
        query = _INSERTS.setdefault((n, on_sqlite), db.DriverQuery(statement))
    return query


def _insert_one(table: sa.Table, key: str, on_sqlite: bool) -> db.DriverQuery:
    """One row into ``table``, none when ``key`` is taken; returns ``key`` when inserted."""
    insert = (sqlite.insert if on_sqlite else postgresql.insert)(table)
    values = insert.values({c.key: sa.bindparam(c.key) for c in table.c})
    return db.DriverQuery(
        values.on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])
    )


_S = schema.sites
_SET_LAST_SEQ = (
    sa.update(_S).where(_S.c.id == sa.bindparam("site")).values(last_seq=sa.bindparam("seq"))
)
_SET_LAST = {
    False: db.DriverQuery(
        _SET_LAST_SEQ.returning(
            sa.func.pg_notify(notify.CHANNEL, sa.bindparam("payload")).label("notified")
        )
    ),
    True: db.DriverQuery(_SET_LAST_SEQ),
}
"""By ``db.is_sqlite``: the site's new last seq (announced on PostgreSQL, at commit)."""
_TOKEN_ONE = {flag: _insert_one(schema.ticket_tokens, "token", flag) for flag in (False, True)}
"""By ``db.is_sqlite``: the dialects' own INSERT, which has ON CONFLICT DO NOTHING."""


ENDING = frozenset(
    {
        EventKind.TICKET_CALLED,
        EventKind.TICKET_SERVED,
        EventKind.TICKET_NO_SHOW,
        EventKind.TICKET_CANCELLED,
    }
)
"""Events after which a walk-in's contact (``schema.ticket_contacts``) is no longer needed."""


def forget_contacts(conn: Connection, site: str, events: Iterable[Event]) -> None:
    """Deletes the contacts walk-ins left to be told their turn is near, of the tickets these
    events call or end, in the transaction that stores them."""
    ended = _ended(events)
    if not ended:
        return
    if len(ended) <= _FEW:  # a NEXT: the ticket served and the one called, on the driver
        params = {"site": site} | {f"ticket_{i}": t for i, t in enumerate(ended)}
        _forget(len(ended)).run(conn, params)
        return
    c = schema.ticket_contacts
    conn.execute(sa.delete(c).where(c.c.site == site, c.c.ticket.in_(ended)))


def _ended(events: Iterable[Event]) -> list[str]:
    """The tickets these events call or end (their contacts are no longer needed)."""
    return sorted({e.ticket for e in events if e.kind in ENDING and e.ticket})


_FORGET: dict[int, db.DriverQuery] = {}


def _forget(n: int) -> db.DriverQuery:
    """The contacts of ``n`` tickets of a site deleted, compiled once."""
    query = _FORGET.get(n)
    if query is None:
        c = schema.ticket_contacts
        tickets = [sa.bindparam(f"ticket_{i}", type_=sa.String()) for i in range(n)]
        statement = sa.delete(c).where(c.c.site == sa.bindparam("site"), c.c.ticket.in_(tickets))
        query = _FORGET.setdefault(n, db.DriverQuery(statement))
    return query


_SINCE = db.DriverQuery(
    sa.select(_E)
    .where(_E.c.site == sa.bindparam("site"), _E.c.seq > sa.bindparam("cursor"))
    .order_by(_E.c.seq)
    .limit(sa.bindparam("limit"))
)


def since(conn: Connection, site: str, cursor: int, limit: int) -> list[Any]:
    """Rows of the site's events after ``cursor``, in sequence order, at most ``limit``."""
    return _SINCE.rows(conn, {"site": site, "cursor": cursor, "limit": limit})


def clock_errors(conn: Connection, site: str, devices: Iterable[str]) -> dict[str, float]:
    """Each device's clock error (seconds: the server's time minus its wall clock) as last
    measured at a sync of its own, which its health report carries back
    (``clock_offset_seconds``, ``tickets.heartbeat``). Devices that have sent none are left
    out."""
    d = schema.devices
    wanted = sorted(set(devices))
    if not wanted:
        return {}
    rows = conn.execute(
        sa.select(d.c.id, d.c.health).where(d.c.site == site, d.c.id.in_(wanted))
    ).all()
    out: dict[str, float] = {}
    for row in rows:
        health = row.health if isinstance(row.health, dict) else {}
        offset = health.get(CLOCK_OFFSET_FIELD)
        if isinstance(offset, int | float) and not isinstance(offset, bool):
            out[row.id] = float(offset)
    return out


def by_clock(conn: Connection, site: str, hlc_from: str, hlc_to: str | None = None) -> list[Any]:
    """Rows of the site's events whose clock is in [hlc_from, hlc_to), in sequence order."""
    q = sa.select(_E).where(_E.c.site == site, _E.c.hlc >= hlc_from)
    if hlc_to is not None:
        q = q.where(_E.c.hlc < hlc_to)
    return list(conn.execute(q.order_by(_E.c.seq)))


def first_seq_from(conn: Connection, site: str, hlc_from: str) -> int | None:
    """The smallest sequence number of the site's events whose clock is at or after
    ``hlc_from`` (None when there is none)."""
    q = sa.select(sa.func.min(_E.c.seq)).where(_E.c.site == site, _E.c.hlc >= hlc_from)
    value = conn.execute(q).scalar_one_or_none()
    return None if value is None else int(value)


_OF_TICKET = db.DriverQuery(
    sa.select(_E)
    .where(_E.c.site == sa.bindparam("site"), _E.c.ticket == sa.bindparam("ticket"))
    .order_by(_E.c.seq)
)


def of_ticket(conn: Connection, site: str, ticket: str) -> list[Any]:
    """Rows of one ticket's events, in sequence order."""
    return _OF_TICKET.rows(conn, {"site": site, "ticket": ticket})


def issue_stamps(conn: Connection, site: str, tickets: Iterable[str]) -> dict[str, Timestamp]:
    """The stamps of these tickets' TicketIssued events, by ticket (those stored)."""
    ids = sorted(set(tickets))
    out: dict[str, Timestamp] = {}
    for i in range(0, len(ids), _IN_CHUNK):
        q = sa.select(_E.c.ticket, _E.c.hlc).where(
            _E.c.site == site,
            _E.c.ticket.in_(ids[i : i + _IN_CHUNK]),
            _E.c.kind == EventKind.TICKET_ISSUED.value,
        )
        for row in conn.execute(q):
            out[row.ticket] = Timestamp.decode(row.hlc)
    return out


def last_seq(conn: Connection, site: str) -> int:
    value = conn.execute(
        sa.select(schema.sites.c.last_seq).where(schema.sites.c.id == site)
    ).scalar_one_or_none()
    return int(value or 0)


def hlc_floor(epoch_seconds: float) -> str:
    """The smallest encoded clock value at or after an instant (for range queries)."""
    return f"{int(epoch_seconds * 1000):015d}"
