"""``POST /api/v1/sync``: a device's upload, download, leases and configuration in one call.

The upload is checked whole before anything is stored: one bad event refuses the batch (a 4xx
naming the event and the field) and the device keeps it in its outbox. Events already stored
are acknowledged again (idempotent by id); an id stored with other content is a 409.

A device's wall clock may be wrong (no real-time clock after a power cut). The request carries
its reading (``device_time``); the difference with the server's clock is the device's clock
error, and each uploaded event is stored with its wall time corrected by it (``occurred_at``):
the times statistics measure. The order of events stays their hybrid clock's, but a stamp that
cannot be a time (too far ahead of the server's clock, or too far from the corrected time) is
re-stamped at receipt, the author's kept (``tickets.timing.place_uploaded``): one device's clock
never moves the server's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from server import db, schema, store
from server.appointments.booking import mark_uploaded_check_ins
from server.auth import Permission, Principal, device_session_from_header
from server.context import ServerContext
from server.errors import ApiError, invalid, not_found
from server.models import TOKEN_RE, LeaseRequest, SyncRequest
from server.sites import LoadedSite
from tickets.events import Event, EventError, EventKind
from tickets.numbering import allocate_block
from tickets.queue import label
from tickets.signing import SERVER_SIGNER, signer
from tickets.timing import place_uploaded

MAX_HEALTH_BYTES = 8192
LAST_SEEN_EVERY_SECONDS = 30.0
"""A sync with nothing to store refreshes the device's last_seen at most this often (seconds):
often enough for the fleet page (a device is offline after 120 s), and devices send their
health every 30 s anyway. Every refresh is a write, one per device per refresh."""

_COUNTER_KINDS = frozenset(
    {
        EventKind.TICKET_CALLED,
        EventKind.TICKET_RECALLED,
        EventKind.TICKET_SERVED,
        EventKind.TICKET_NO_SHOW,
        EventKind.TICKET_REACTIVATED,
        EventKind.TICKET_TRANSFERRED,
        EventKind.COUNTER_OPENED,
        EventKind.COUNTER_CLOSED,
        EventKind.TICKET_CANCELLED,
    }
)
KINDS_BY_ROLE: dict[str, frozenset[EventKind]] = {
    "kiosk": frozenset({EventKind.TICKET_ISSUED, EventKind.TICKET_CANCELLED}),
    "display": _COUNTER_KINDS,
}
_TICKET_ID = re.compile(r"^[!-~]{1,128}$")
_TOKEN = re.compile(TOKEN_RE)
_MAX_NUMBER = 999_999
CLOCK_TOLERANCE_SECONDS = 2.0
"""A device clock error up to this is taken as none (seconds): the measure holds the request's
own travel time."""


def clock_error(device_time: float | None, now: float) -> float | None:
    """How far the device's wall clock is behind the server's (seconds; None: not known)."""
    if device_time is None:
        return None
    error = now - device_time
    return 0.0 if abs(error) <= CLOCK_TOLERANCE_SECONDS else error


@dataclass(frozen=True)
class Authors:
    """Who may have made the events of a site: its devices' keys and roles, and the server's
    key (``tickets.signing``); read only for an upload that relays events of others."""

    keys: dict[str, str]
    roles: dict[str, str]

    @classmethod
    def load(cls, ctx: ServerContext, conn: Connection, site: str) -> Authors:
        d = schema.devices
        rows = conn.execute(
            sa.select(d.c.id, d.c.role, d.c.token_hash).where(
                d.c.site == site, d.c.revoked.is_(False), d.c.token_hash.is_not(None)
            )
        ).all()
        keys = {r.id: r.token_hash for r in rows}
        keys[SERVER_SIGNER] = ctx.event_key(site)
        return cls(keys, {r.id: r.role for r in rows})


def check_event(
    e: Event,
    where: str,
    loaded: LoadedSite,
    who: Principal,
    authors: Authors | None = None,
) -> None:
    """Refuses an uploaded event that this device may not have made, or relays without its
    author's signature (ApiError)."""
    if e.site != loaded.id:
        raise invalid(
            f"event {e.id}: site {e.site!r} is not the device's site {loaded.id!r}",
            field=f"{where}.site",
            event=e.id,
        )
    role: str | None = who.role
    if e.device != who.name:
        # A relay: the event is as good as its author's signature.
        made_by = signer(e, authors.keys) if authors is not None else None
        if made_by is None:
            raise ApiError(
                403,
                "forbidden",
                f"event {e.id}: relayed by {who.name!r} without a valid signature of its "
                f"author {e.device!r}",
                event=e.id,
                field=f"{where}.sig",
            )
        # The server's own events may be of any kind (an agent's action).
        assert authors is not None
        role = None if made_by == SERVER_SIGNER else authors.roles.get(made_by)
    if role is not None and e.kind not in KINDS_BY_ROLE.get(role, frozenset()):
        raise ApiError(
            403,
            "forbidden",
            f"event {e.id}: a {role} may not send {e.kind.value} events",
            event=e.id,
            field=f"{where}.kind",
        )
    check_payload(e, where, loaded)


def check_payload(e: Event, where: str, loaded: LoadedSite) -> None:
    d = e.data
    site = loaded.site
    for key, value in d.items():
        if isinstance(value, str) and not encodable(value):
            raise invalid(
                f"event {e.id}: field {key!r} is not valid Unicode",
                field=f"{where}.data.{key}",
                event=e.id,
            )

    def bad(field: str, why: str) -> ApiError:
        return invalid(
            f"event {e.id} ({e.kind.value}): {why}", field=f"{where}.data.{field}", event=e.id
        )

    if "ticket" in d and not _TICKET_ID.match(d["ticket"]):
        raise bad("ticket", "ticket id must be 1 to 128 printable ASCII characters")
    service = d.get("service")
    if service is not None and site.service(service) is None:
        raise bad("service", f"unknown service {service!r}")
    counter = d.get("counter")
    if counter is not None and site.counter(counter) is None:
        raise bad("counter", f"unknown counter {counter!r}")
    if e.kind is EventKind.TICKET_ISSUED:
        if not 1 <= d["number"] <= _MAX_NUMBER:
            raise bad("number", f"number must be between 1 and {_MAX_NUMBER}")
        try:
            date.fromisoformat(d["day"])
        except ValueError:
            raise bad("day", f"day {d['day']!r} is not an ISO date") from None
        token = d.get("token")
        if token and not _TOKEN.match(token):
            raise bad("token", "token must be 16 to 128 characters of A-Z a-z 0-9 _ -")
        for key, most in (("priority", 32), ("lang", 8), ("label", 16)):
            value = d.get(key)
            if isinstance(value, str) and len(value) > most:
                raise bad(key, f"{key} longer than {most} characters")
        check_label_and_priority(d, loaded, bad)


def check_label_and_priority(
    d: dict[str, Any], loaded: LoadedSite, bad: Callable[[str, str], ApiError]
) -> None:
    """A ticket's printed label is its service's prefix and number, and its priority one of
    the site's reasons: nothing else reaches the queue, the pages or the CSV export."""
    site = loaded.site
    service = site.service(d["service"])
    given = d.get("label")
    if given is not None and service is not None:
        expected = label(service.prefix, d["number"])
        if given != expected:
            raise bad("label", f"label {given!r} is not {expected!r} (prefix and number)")
    priority = d.get("priority")
    if priority is not None and priority not in site.priority_reasons:
        offered = ", ".join(site.priority_reasons) or "none"
        raise bad("priority", f"priority {priority!r} is not a reason of the site ({offered})")


def parse_batch(
    ctx: ServerContext,
    who: Principal,
    loaded: LoadedSite,
    req: SyncRequest,
    conn: Connection,
) -> list[Event]:
    """The uploaded events, checked, without duplicates within the batch, each with its
    author's stamp (a copy a device re-stamped is read as its author made it)."""
    authors = None
    if any(raw.device != who.name for raw in req.events):
        authors = Authors.load(ctx, conn, loaded.id)
    out: dict[str, Event] = {}
    tokens: dict[str, str] = {}
    for i, raw in enumerate(req.events):
        where = f"events.{i}"
        try:
            e = Event.from_dict(raw.model_dump(exclude={"seq", "received_at"})).authored
        except EventError as exc:
            raise invalid(str(exc), field=f"{where}.data", event=raw.id) from None
        check_event(e, where, loaded, who, authors)
        seen = out.get(e.id)
        if seen is not None:
            if seen != e:
                raise ApiError(
                    409,
                    "conflict",
                    f"event {e.id} appears twice with different content",
                    event=e.id,
                    field=where,
                )
            continue
        token = e.data.get("token") if e.kind is EventKind.TICKET_ISSUED else None
        if token and tokens.setdefault(token, e.id) != e.id:
            raise ApiError(
                409,
                "conflict",
                f"event {e.id}: ticket token already used in this batch",
                event=e.id,
                field=f"{where}.data.token",
            )
        out[e.id] = e
    return list(out.values())


def encodable(value: str) -> bool:
    """Whether a string can be stored and sent as UTF-8 (no lone surrogate)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _texts(v)
    elif isinstance(value, list):
        for v in value:
            yield from _texts(v)


def check_health(health: dict[str, Any] | None) -> None:
    if health is None:
        return
    try:
        size = len(json.dumps(health, allow_nan=False))
    except ValueError:
        raise invalid("health holds a number that is not finite", field="health") from None
    except RecursionError:
        raise invalid("health is nested too deeply", field="health") from None
    if not all(encodable(t) for t in _texts(health)):
        raise invalid("health holds text that is not valid Unicode", field="health")
    if size > MAX_HEALTH_BYTES:
        raise invalid(
            f"health is {size} bytes of JSON, more than {MAX_HEALTH_BYTES}", field="health"
        )


def _store_new(
    ctx: ServerContext,
    conn: Connection,
    loaded: LoadedSite,
    last_seq: int,
    events: list[Event],
    now: float,
    error: float | None,
    uploader: str,
    all_new: bool = False,
) -> list[Event]:
    """Stores the events not stored yet (under the site's lock). With ``all_new`` none is
    looked up first: the inserts' ``ON CONFLICT`` finds an id stored already
    (``store.IdTaken``) or a follow token used (409), in the statements that store them."""
    existing = {} if all_new else store.find(conn, [e.id for e in events])
    fresh = []
    untimed = []
    for e in events:
        row = existing.get(e.id)
        if row is None:
            fresh.append(e)
        elif not store.same_content(row, e):
            raise ApiError(
                409,
                "conflict",
                f"event {e.id} is already stored with different content",
                event=e.id,
            )
        elif row.occurred_at is None and e.device == uploader and error is not None:
            untimed.append((e, row.received_at))
    # An event a relay brought first was stored untimed (its clock stood for its time): its
    # author's own upload brings the author's clock error, which times it now.
    e_ = schema.events
    for e, received in untimed:
        at = min(e.wall_time + (error or 0.0), received)
        conn.execute(sa.update(e_).where(e_.c.id == e.id).values(occurred_at=at))
    tokens = [
        e.data["token"] for e in fresh if e.kind is EventKind.TICKET_ISSUED and e.data.get("token")
    ]
    if tokens and not all_new:
        t = schema.ticket_tokens
        if len(tokens) == 1:
            taken = next(iter(_TOKEN_TAKEN.rows(conn, {"token": tokens[0]})), None)
        else:
            taken = conn.execute(sa.select(t.c.token).where(t.c.token.in_(tokens))).first()
        if taken is not None:
            raise store.token_used(next(e for e in fresh if e.data.get("token") == taken.token))
    tickets = [e.ticket for e in fresh if e.ticket and e.kind is not EventKind.TICKET_ISSUED]
    issued = store.issue_stamps(conn, loaded.id, tickets) if tickets else {}
    bound = ctx.settings.max_clock_skew_seconds
    # Others' events first: the uploader's own may be about a ticket it relays.
    others = [e for e in fresh if e.device != uploader]
    relayed = place_uploaded(
        others,
        ctx.clock,
        now=now,
        bound=bound,
        clock_error=None,
        issued=issued,
        author_errors=store.clock_errors(conn, loaded.id, {e.device for e in others}),
    )
    own = place_uploaded(
        [e for e in fresh if e.device == uploader],
        ctx.clock,
        now=now,
        bound=bound,
        clock_error=error,
        issued=issued,
    )
    stored = store.append(conn, loaded.id, last_seq, own, now, clock_error=error)
    # The uploader's clock error is not its author's: a relayed event's clock stands.
    stored += store.append(conn, loaded.id, last_seq + len(stored), relayed, now, clock_error=None)
    mark_uploaded_check_ins(conn, loaded.id, stored, now)
    return stored


_TOKEN_TAKEN = db.DriverQuery(
    sa.select(schema.ticket_tokens.c.token).where(
        schema.ticket_tokens.c.token == sa.bindparam("token")
    )
)
_NEXT_FREE = db.DriverQuery(
    sa.select(schema.numbering.c.next_free).where(
        schema.numbering.c.site == sa.bindparam("site"),
        schema.numbering.c.service == sa.bindparam("service"),
        schema.numbering.c.day == sa.bindparam("day"),
    )
)


_N = schema.numbering
_ONE_NUMBERING = (
    _N.c.site == sa.bindparam("site"),
    _N.c.service == sa.bindparam("service"),
    _N.c.day == sa.bindparam("day"),
)
"""The numbering row of one site, service and day."""
_NUMBERING_NEW = db.DriverQuery(
    sa.insert(_N).values(
        site=sa.bindparam("site"),
        service=sa.bindparam("service"),
        day=sa.bindparam("day"),
        next_free=sa.bindparam("next_free"),
    )
)
_NUMBERING_SET = db.DriverQuery(
    sa.update(_N).where(*_ONE_NUMBERING).values(next_free=sa.bindparam("next_free"))
)
_LE = schema.leases
_GRANTED = db.DriverQuery(
    sa.select(_LE.c.start, _LE.c.end).where(
        _LE.c.site == sa.bindparam("site"),
        _LE.c.device == sa.bindparam("device"),
        _LE.c.service == sa.bindparam("service"),
        _LE.c.day == sa.bindparam("day"),
        _LE.c.request == sa.bindparam("request"),
    )
)
_GRANT = db.DriverQuery(sa.insert(_LE).values({c.key: sa.bindparam(c.key) for c in _LE.c}))
_D = schema.devices
_SEEN = db.DriverQuery(
    sa.update(_D)
    .where(_D.c.site == sa.bindparam("site"), _D.c.id == sa.bindparam("device"))
    .values(last_seen=sa.bindparam("now"))
)
_SEEN_WITH_HEALTH = db.DriverQuery(
    sa.update(_D)
    .where(_D.c.site == sa.bindparam("site"), _D.c.id == sa.bindparam("device"))
    .values(last_seen=sa.bindparam("now"), health=sa.bindparam("health", type_=_D.c.health.type))
)


_NUMBER_TAKEN = db.DriverQuery(
    sa.update(_N)
    .where(*_ONE_NUMBERING)
    .values(next_free=_N.c.next_free + sa.bindparam("count", type_=sa.Integer()))
    .returning(_N.c.next_free)
)
"""The numbering's next free number moved on by ``count``; returns the new value."""


_LOCKED = (
    sa.select(schema.sites.c.id, schema.sites.c.config_version, schema.sites.c.last_seq)
    .where(schema.sites.c.id == sa.bindparam("site"))
    .with_for_update()
    .cte("locked")
)
_MOVED = (
    sa.update(_N)
    .where(*_ONE_NUMBERING, _N.c.site == _LOCKED.c.id)
    .where(_LOCKED.c.config_version == sa.bindparam("version"))
    .values(next_free=_N.c.next_free + sa.bindparam("count", type_=sa.Integer()))
    .returning(_N.c.next_free)
    .cte("moved")
)
_LOCK_TAKING_NUMBER = db.DriverQuery(
    sa.select(
        _LOCKED.c.id,
        _LOCKED.c.config_version,
        _LOCKED.c.last_seq,
        sa.select(_MOVED.c.next_free).scalar_subquery().label("next_free"),
    )
)


def lock_taking_numbers(
    conn: Connection, site: str, version: str, service: str, day: str, count: int
) -> Any:
    """``db.lock_site`` and ``_NUMBER_TAKEN`` in one round trip (PostgreSQL): the site's row
    locked, then the numbering of ``service`` and ``day`` moved on by ``count`` if the site's
    configuration is still at ``version`` (the one ``day`` was reckoned with). The row has
    ``next_free`` besides: the new value, or None when nothing was moved (another version,
    or no numbering for that day yet). None when the site does not exist.

    The numbering is updated after the lock is held: its update joins the locked row, so it
    cannot run before the lock is granted."""
    params = {"site": site, "version": version, "service": service, "day": day, "count": count}
    rows = _LOCK_TAKING_NUMBER.rows(conn, params)
    return rows[0] if rows else None


def _next_free(conn: Connection, site: str, service: str, day: str) -> int | None:
    rows = _NEXT_FREE.rows(conn, {"site": site, "service": service, "day": day})
    return int(rows[0].next_free) if rows else None


def _set_next_free(
    conn: Connection, site: str, service: str, day: str, current: int | None, next_free: int
) -> None:
    """Stores the numbering's next free number (``current``: the one read, None: no row)."""
    query = _NUMBERING_NEW if current is None else _NUMBERING_SET
    query.run(conn, {"site": site, "service": service, "day": day, "next_free": next_free})


def mark_seen(conn: Connection, site: str, device: str, now: float, health: Any = None) -> None:
    """Stores a device's last sync time, and its health when it sent one."""
    params = {"site": site, "device": device, "now": now}
    if health is None:
        _SEEN.run(conn, params)
    else:
        _SEEN_WITH_HEALTH.run(conn, {**params, "health": health})


def grant_leases(
    conn: Connection, loaded: LoadedSite, device: str, requests: list[LeaseRequest], now: float
) -> list[dict[str, Any]]:
    """Grants one block per request (under the site lock), skipping offline ranges. A request
    with an id this device was already granted a block for (the answer was lost on its way)
    gets that block again: no number is skipped."""
    out = []
    for r in requests:
        day = r.day.isoformat()
        if r.request is not None:
            found = _GRANTED.rows(
                conn,
                {
                    "site": loaded.id,
                    "device": device,
                    "service": r.service,
                    "day": day,
                    "request": r.request,
                },
            )
            granted = found[0] if found else None
            if granted is not None:
                out.append(_lease_json(r, day, granted.start, granted.end))
                continue
        current = _next_free(conn, loaded.id, r.service, day)
        start, end, next_free = allocate_block(
            current or 1, loaded.site.lease_block, loaded.reserved
        )
        _set_next_free(conn, loaded.id, r.service, day, current, next_free)
        _GRANT.run(
            conn,
            {
                "site": loaded.id,
                "service": r.service,
                "day": day,
                "device": device,
                "start": start,
                "end": end,
                "granted_at": now,
                "request": r.request,
            },
        )
        out.append(_lease_json(r, day, start, end))
    return out


def _lease_json(r: LeaseRequest, day: str, start: int, end: int) -> dict[str, Any]:
    out: dict[str, Any] = {"service": r.service, "day": day, "start": start, "end": end}
    if r.request is not None:
        out["request"] = r.request
    return out


def take_numbers(
    conn: Connection,
    loaded: LoadedSite,
    service: str,
    day: str,
    count: int = 1,
    moved: int | None = None,
) -> list[int]:
    """``count`` numbers for tickets the server issues itself (under the site lock), in order.

    One statement in the usual case: the numbering's next free number moved on by ``count``,
    the numbers taken the ones before (``moved``: that statement was run already, this is the
    value it returned: ``lock_taking_numbers``). When a number is in an offline range, or the
    day has no numbering yet, a second statement stores the right next free number."""
    if moved is None:
        params = {"site": loaded.id, "service": service, "day": day, "count": count}
        rows = _NUMBER_TAKEN.rows(conn, params)
        moved = int(rows[0].next_free) if rows else None
    current = moved - count if moved is not None else None
    numbers: list[int] = []
    next_free = current or 1
    for _ in range(count):
        start, _end, next_free = allocate_block(next_free, 1, loaded.reserved)
        numbers.append(start)
    if current is None or next_free != moved:
        _set_next_free(conn, loaded.id, service, day, current, next_free)
    return numbers


def history_start(
    ctx: ServerContext,
    site_id: str,
    loaded: LoadedSite | None,
    now: float,
    last: int,
    conn: Connection,
) -> int:
    """The cursor a device syncing from scratch starts after: just before the site's first
    event of the last ``device_history_days`` whole days before today (site time), so a new
    device receives those days, not years of history (``last`` when there is no such event).
    """
    loaded = loaded or ctx.sites.get(conn, site_id)
    if loaded is None:
        raise not_found(f"site {site_id!r}")
    site = loaded.site
    first_day = site.day(now) - timedelta(days=ctx.settings.device_history_days)
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=site.tz)
    first = store.first_seq_from(conn, site_id, store.hlc_floor(start.timestamp()))
    return last if first is None else first - 1


def run_sync(ctx: ServerContext, authorization: str | None, req: SyncRequest) -> dict[str, Any]:
    """One sync of the device named by ``authorization`` (its Authorization header).

    The whole sync runs on one pooled connection: the device read by its token, the upload's
    transaction (``db.transaction``), the read of what is new."""
    quiet = ctx.quiet
    generation = quiet.generation() if quiet is not None else 0
    with db.read(ctx.engine) as conn:
        answer, learned = _sync_on(ctx, conn, authorization, req)
    if quiet is not None and learned is not None:
        quiet.learned(generation, *learned)
    return answer


_Learned = tuple[str, str, str, str, int, float | None]
"""What a sync read, for ``QuietSyncs.learned`` (token, site, device, version, seq, seen)."""


def _sync_on(
    ctx: ServerContext, conn: Connection, authorization: str | None, req: SyncRequest
) -> tuple[dict[str, Any], _Learned | None]:
    session = device_session_from_header(conn, authorization)
    who = session.principal
    site_id = who.sites[0]
    who.require(Permission.SYNC, site_id)
    if req.device != who.name:
        raise ApiError(
            403,
            "forbidden",
            f"device {req.device!r} does not match the token's device {who.name!r}",
            field="device",
        )
    now = ctx.now()
    stale = who.last_seen is None or now - who.last_seen >= LAST_SEEN_EVERY_SECONDS
    # Events and leases are decided under the site's lock; the device's own row (last seen,
    # health) is one statement of its own, which most syncs of a large fleet come down to.
    locked = bool(req.events or req.lease_requests)
    touch = req.health is not None or stale
    version = session.config_version
    loaded: LoadedSite | None = None
    events: list[Event] = []
    check_health(req.health)
    if locked or req.config_version != version:
        # The version read with the device: a site held at that version costs no query.
        loaded = ctx.sites.cached(site_id, version) or ctx.sites.get(conn, site_id)
        if loaded is None:
            raise not_found(f"site {site_id!r}")
        events = parse_batch(ctx, who, loaded, req, conn)
        for i, lr in enumerate(req.lease_requests):
            if who.role != "kiosk":
                raise ApiError(
                    403, "forbidden", "only kiosks receive number leases", field="lease_requests"
                )
            if loaded.site.service(lr.service) is None:
                raise invalid(
                    f"unknown service {lr.service!r}", field=f"lease_requests.{i}.service"
                )

    stored: list[Event] = []
    leases: list[dict[str, Any]] = []
    last = session.last_seq
    if locked:
        error = clock_error(req.device_time, now)
        try:  # the usual upload, new events: their ids' and tokens' checks are the inserts'
            stored, leases, last, loaded = _upload(ctx, conn, who, req, events, now, error, True)
        except store.IdTaken:  # some already stored (a lost answer, a relay): sorted out
            stored, leases, last, loaded = _upload(ctx, conn, who, req, events, now, error, False)
    elif touch:
        if db.is_sqlite(ctx.engine):
            with db.transaction(conn):  # queued for SQLite's write lock
                mark_seen(conn, site_id, who.name, now, req.health)
        else:
            mark_seen(conn, site_id, who.name, now, req.health)
    if stored:
        ctx.clock.receive(max(e.hlc for e in stored))
        ctx.notifier.publish(site_id, last)
    if loaded is not None:
        version = loaded.version

    # A cursor ahead of the site (a database restored from backup) starts again from 0.
    cursor = req.cursor if req.cursor <= last else 0
    if cursor == 0 and last > 0:
        cursor = history_start(ctx, site_id, loaded, now, last, conn)
    rows: list[Any] = []
    if cursor < last:
        rows = store.since(conn, site_id, cursor, req.limit + 1)
    more = len(rows) > req.limit
    rows = rows[: req.limit]
    _scheme, _, token = (authorization or "").partition(" ")
    seen = now if locked or touch else who.last_seen
    learned = (token.strip(), site_id, who.name, version, session.last_seq, seen)
    return {
        "acks": [e.id for e in events],
        "events": [store.event_json(r) for r in rows],
        "cursor": rows[-1].seq if rows else cursor,
        "more": more,
        "leases": leases,
        "config_version": version,
        "config": loaded.config_json if loaded and req.config_version != version else None,
        "server_time": now,
        "server_hlc": ctx.clock.now().encode(),
    }, learned


def _upload(
    ctx: ServerContext,
    conn: Connection,
    who: Principal,
    req: SyncRequest,
    events: list[Event],
    now: float,
    error: float | None,
    all_new: bool,
) -> tuple[list[Event], list[dict[str, Any]], int, LoadedSite]:
    """Stores the upload and grants the leases in one transaction under the site's lock;
    (stored events, leases, the site's new last seq, the site). ``all_new``: takes every
    event for new without looking (``store.IdTaken`` when one is not: the transaction is
    rolled back, and the caller tries again without ``all_new``)."""
    site_id = who.sites[0]
    with db.transaction(conn):
        row = db.lock_site(conn, site_id)
        if row is None:
            raise not_found(f"site {site_id!r}")
        loaded = ctx.sites.from_row(conn, row)
        stored = _store_new(ctx, conn, loaded, row.last_seq, events, now, error, who.name, all_new)
        leases = grant_leases(conn, loaded, who.name, req.lease_requests, now)
        mark_seen(conn, site_id, who.name, now, req.health)
    return stored, leases, row.last_seq + len(stored), loaded
