"""The device's local journal: every event a kiosk or a board makes is written here first.

One SQLite file (WAL, ``synchronous=FULL``): a commit is on disk before the device acts on it
(before the printer gets the ticket, before the board shows a call), so a power cut loses
nothing the device acted on. The journal holds:

- every event the device knows (its own and those received from the server or a LAN peer);
- the outbox: the events to upload the server has not acknowledged yet: the device's own, and
  those it learnt from LAN peers (it relays them: ``store_remote(relay=True)``);
- events the server refused for good (quarantined, kept for the record, never resent);
- the sync cursor (last server sequence number seen);
- the number pool (leases granted by the server, offline counters): a number is taken and its
  TicketIssued event recorded in one transaction, so no number is ever issued twice, even
  across a crash;
- the site configuration last received from the server;
- the print state of each ticket ("pending" from issue until the printer answers).

It keeps ``retention_days`` whole days before today and today (``prune``): older events,
leases, offline counters and print states go, except events the server has not acknowledged
yet, which stay until it has.

Thread-safety: one connection, shared by every thread and serialised by a lock; every public
method may be called from any thread (the UI thread, the sync worker, the button readers).
Each call holds the lock for one short transaction.

The hybrid logical clock (``clock``) restarts after the highest clock value in the journal, so
it never goes backwards across restarts, even when the wall clock does after a power cut. Its
physical part reads ``now()``: the machine's wall clock corrected by the offset the sync worker
measured against the server's clock (kept in the journal, so a restart keeps it), never below
the time floor (the latest time the device knows has passed, kept in the journal: a restart
with the clock set back goes on from it). The service day and the fold's window come from
``now()`` too; an event's ``wall_time`` stays the machine's own reading, which the server
corrects with the offset it measures itself. The clock follows received stamps only within its
bound (docs/architecture.md, "Time").
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from tickets.epochs import ClockEpochs, Reading, machine_boot_id, machine_monotonic
from tickets.events import Event, EventKind, new_event
from tickets.hlc import MAX_DRIFT_SECONDS, HybridClock, Timestamp
from tickets.model import Site
from tickets.numbering import Lease, NumberPool
from tickets.queue import QueueState, label
from tickets.signing import signed
from tickets.timing import place_received

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE events (
    n INTEGER PRIMARY KEY AUTOINCREMENT, -- the order events were learnt (never reused)
    id TEXT NOT NULL UNIQUE,
    hlc TEXT NOT NULL,
    body TEXT NOT NULL,
    seq INTEGER,
    received_at REAL
);
CREATE INDEX events_by_hlc ON events (hlc);
CREATE TABLE outbox (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE REFERENCES events (id)
);
CREATE TABLE quarantine (
    id TEXT PRIMARY KEY REFERENCES events (id),
    reason TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE leases (
    service TEXT NOT NULL,
    day TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    next INTEGER NOT NULL,
    PRIMARY KEY (service, day, start)
);
CREATE TABLE offline_numbers (
    service TEXT NOT NULL,
    day TEXT NOT NULL,
    next INTEGER NOT NULL,
    PRIMARY KEY (service, day)
);
CREATE TABLE prints (
    ticket TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated REAL NOT NULL
);
"""
_MIGRATIONS: dict[int, str] = {1: _SCHEMA}
"""Schema version -> the script that brings the previous version to it."""

# Keys of the meta table used by the journal itself; set_meta() keys live apart ("app.").
_SITE, _DEVICE = "journal.site", "journal.device"
_CURSOR, _OFFLINE = "journal.cursor", "journal.offline_range"
_SITE_JSON, _SITE_VERSION = "journal.site_json", "journal.site_version"
_LEASE_REQUEST = "journal.lease_request."
_TIME_FLOOR = "journal.time_floor"
"""The latest time this device knows for sure has passed (seconds): its ``now()`` never goes
below it, so its service day never runs backwards."""
_KEPT_FROM = "journal.kept_from"
"""The clock (milliseconds) of the first day the last prune kept: older events are not taken in."""
_CLOCK_EPOCHS = "journal.clock_epochs"
"""The clock's epochs and its last reading (``tickets.epochs.ClockEpochs``, as JSON)."""
_CLOCK_OFFSET = CLOCK_OFFSET_KEY = "journal.clock_offset"
"""The ``meta`` key of the clock offset in force (seconds, as text): absent until the first
sync measured the clock (``guichet doctor`` reads it)."""

_FLOOR_WRITE_SECONDS = 60.0
CLOCK_TOLERANCE_SECONDS = 1.0
"""A measured clock offset replaces the kept one when they differ by more than this plus the
measurement's own uncertainty (half the round trip): a right clock keeps an offset of 0, and
the offset is not rewritten at every sync."""


DEFAULT_RETENTION_DAYS = 35
"""Whole days before today a device keeps (five weeks: the kiosk's quieter-time advice reads the
four whole weeks before today)."""
_PRUNE_BATCH = 2000
"""Events deleted per transaction while pruning: other threads get the journal in between."""


@dataclass(frozen=True, slots=True)
class Pruned:
    """What one ``Journal.prune`` removed."""

    first_day: str
    """The earliest day kept (site time, YYYY-MM-DD): everything before it is gone."""
    events: int
    leases: int
    offline_numbers: int
    prints: int
    unsent_kept: int
    """Events older than ``first_day`` kept because the server has not acknowledged them."""


class JournalError(RuntimeError):
    """The journal file cannot be used: names the file and why."""


class PrintState(StrEnum):
    PENDING = "pending"
    """Journaled, handed (or about to be handed) to the printer, no answer yet."""
    PRINTED = "printed"
    FAILED = "failed"
    """The printer refused or faulted: the ticket exists, shown on screen, not on paper."""


class Journal:
    def __init__(
        self,
        path: Path,
        site: str,
        device: str,
        wall: Callable[[], float] = time.time,
        *,
        key: str | None = None,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        standalone: bool = False,
        monotonic: Callable[[], float] | None = None,
        boot_id: str | None = None,
    ) -> None:
        if retention_days < 1:
            raise ValueError("a journal keeps at least one whole day before today")
        self.path = Path(path)
        self.site = site
        self.device = device
        self.key = key
        """The device's key (``tickets.signing.peer_key`` of its token): every event it makes
        carries its signature, so any device can relay it. None: events are unsigned (a device
        that never talks to a server or a peer)."""
        self.retention_days = retention_days
        self.standalone = standalone
        """A device without a server: it prunes on its own clock, at start and each new day
        (``state``); with a server the sync worker prunes on the server's time."""
        self._pruned_on: str | None = None
        self._monotonic = monotonic
        """The machine's monotonic clock, beside ``wall``: the clock's steps are found by
        comparing the two (``tickets.epochs``). Default: the machine's own with its own wall
        clock; none with an injected wall clock (no epochs: every event is timed by the
        clock at its upload)."""
        self._boot = boot_id
        if monotonic is None and wall is time.time:
            self._monotonic = machine_monotonic
            self._boot = machine_boot_id()
        self._epochs: ClockEpochs | None = None
        self._epochs_dirty = False
        self._closed = False
        self._kept_from = 0
        self._wall = wall
        self._offset = 0.0
        self._measured = False
        self._floor_time = 0.0
        self._floor_saved = 0.0
        self._shift = 0.0
        self._synced = False
        self._time_lock = threading.Lock()  # a leaf: nothing is taken while it is held
        self._lock = threading.RLock()
        self._state: QueueState | None = None
        self._site: Site | None = None
        self._floor = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=10.0
            )
        except (OSError, sqlite3.Error) as exc:
            raise JournalError(f"journal {self.path}: cannot open: {exc}") from None
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise JournalError(f"journal {self.path}: not a usable journal: {exc}") from None
        except JournalError:
            self._db.close()
            raise

    # ---- opening ---------------------------------------------------------------------------
    def _open(self) -> None:
        db = self._db
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode != "wal":
            raise JournalError(f"journal {self.path}: WAL mode refused (got {mode!r})")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"journal {self.path}: schema version {version} is newer than this program's "
                f"({SCHEMA_VERSION}); upgrade Guichet"
            )
        with self._tx() as c:
            for v in range(version + 1, SCHEMA_VERSION + 1):
                c.executescript_in_tx(_MIGRATIONS[v])
                c.execute(f"PRAGMA user_version={v}")
            for key, mine in ((_SITE, self.site), (_DEVICE, self.device)):
                row = c.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
                if row is None:
                    c.execute("INSERT INTO meta VALUES (?, ?)", (key, mine))
                elif row[0] != mine:
                    what = key.split(".")[1]
                    raise JournalError(
                        f"journal {self.path} belongs to {what} {row[0]!r}, not {mine!r}"
                    )
        top = db.execute("SELECT max(hlc) FROM events").fetchone()[0]
        offset = db.execute("SELECT value FROM meta WHERE key=?", (_CLOCK_OFFSET,)).fetchone()
        self._offset = float(offset[0]) if offset else 0.0
        self._measured = offset is not None
        floor = db.execute("SELECT value FROM meta WHERE key=?", (_TIME_FLOOR,)).fetchone()
        self._floor_time = self._floor_saved = float(floor[0]) if floor else 0.0
        if self._monotonic is not None:
            self._open_epochs(self._monotonic)
        self.clock = HybridClock(
            self.device,
            self.now,
            Timestamp.decode(top) if top else None,
            max_ahead=MAX_DRIFT_SECONDS,
        )
        self.pool = self._load_pool()
        kept = db.execute("SELECT value FROM meta WHERE key=?", (_KEPT_FROM,)).fetchone()
        self._kept_from = int(kept[0]) if kept else 0

    def _open_epochs(self, monotonic: Callable[[], float]) -> None:
        """Continues the clock's epoch of the last run, or begins one (``tickets.epochs``)."""
        epochs = ClockEpochs.load(self._meta(_CLOCK_EPOCHS))
        with self._tx() as c:
            step = epochs.opened(
                self._boot,
                self._wall(),
                monotonic(),
                _outbox_position(c),
                self._offset if self._measured else None,
            )
            if step:
                log.warning("clock stepped %+.1f s while stopped", step)
                self._stepped(step, epochs.known(-2))
                c.execute(
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)", (_CLOCK_OFFSET, repr(self._offset))
                )
            elif step is None:
                log.info("clock epoch %d begins (a new boot)", epochs.current.id)
            c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_CLOCK_EPOCHS, epochs.dump()))
        self._epochs = epochs

    def _save_epochs(self, c: _Tx) -> None:
        """Writes down a step ``now()`` found (the epoch begins after the outbox's last event),
        inside the caller's transaction."""
        epochs = self._epochs
        if epochs is None or not self._epochs_dirty:
            return
        with self._time_lock:
            epochs.place(_outbox_position(c))
            text, offset, self._epochs_dirty = epochs.dump(), self._offset, False
        c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_CLOCK_EPOCHS, text))
        if self._measured:
            c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_CLOCK_OFFSET, repr(offset)))

    def _load_pool(self) -> NumberPool:
        raw = self._meta(_OFFLINE)
        offline: tuple[int, int] | None = None
        if raw:
            lo, hi = json.loads(raw)
            offline = (int(lo), int(hi))
        pool = NumberPool(offline_range=offline)
        for service, day, start, end, nxt in self._db.execute(
            'SELECT service, day, start, "end", next FROM leases ORDER BY start'
        ):
            pool.grant(Lease(service, day, start, end))
            pool.next_number[(service, day, start)] = nxt
        for service, day, nxt in self._db.execute("SELECT service, day, next FROM offline_numbers"):
            pool.offline_next[(service, day)] = nxt
        return pool

    @contextmanager
    def _tx(self) -> Iterator[_Tx]:
        """One write transaction, taken at once (BEGIN IMMEDIATE), committed durably."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield _Tx(self._db)
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # also when COMMIT itself failed (disk full)
                    self._db.execute("ROLLBACK")
                raise

    # ---- writing events ---------------------------------------------------------------------
    def record(self, kind: EventKind, **data: Any) -> Event:
        """A new event made by this device: durably in the journal and the outbox on return.

        Raises ``EventError`` for a payload the event kind does not allow (nothing written).
        """
        with self._lock:
            event = self._sign(
                new_event(
                    kind,
                    site=self.site,
                    device=self.device,
                    hlc=self.clock.now(),
                    wall_time=self._wall(),
                    **data,
                )
            )
            with self._tx() as c:
                self._save_epochs(c)
                _insert(c, event)
                c.execute("INSERT INTO outbox (id) VALUES (?)", (event.id,))
                self._own_time_seen(c)
            self._fold([event])
            return event

    def issue_ticket(
        self,
        service: str,
        day: str,
        *,
        priority: str | None,
        lang: str,
        prefix: str,
        extra: Mapping[str, Any] | None = None,
    ) -> tuple[Event, str]:
        """Takes the next number and records the TicketIssued event in one transaction;
        ``extra`` adds payload fields (a checked-in appointment's).

        The ticket's print state is "pending" on return. Returns the event and where the number
        came from ("lease" or "offline"); raises ``NumbersExhausted`` when neither has one left.
        """
        with self._lock:
            before = self.pool.counters(service, day)
            number, source = self.pool.take(service, day)
            try:
                event = self._sign(
                    new_event(
                        EventKind.TICKET_ISSUED,
                        site=self.site,
                        device=self.device,
                        hlc=self.clock.now(),
                        wall_time=self._wall(),
                        ticket=str(uuid.uuid4()),
                        service=service,
                        number=number,
                        day=day,
                        priority=priority,
                        token=secrets.token_urlsafe(16),
                        lang=lang,
                        label=label(prefix, number),
                        **(extra or {}),
                    )
                )
                with self._tx() as c:
                    self._save_epochs(c)
                    _insert(c, event)
                    c.execute("INSERT INTO outbox (id) VALUES (?)", (event.id,))
                    self._save_numbers(c, service, day)
                    c.execute(
                        "INSERT OR REPLACE INTO prints VALUES (?, ?, ?)",
                        (event.data["ticket"], PrintState.PENDING.value, self._wall()),
                    )
                    self._own_time_seen(c)
            except BaseException:
                self.pool.restore(before)
                raise
            self._fold([event])
            return event, source

    def _sign(self, event: Event) -> Event:
        return signed(event, self.key) if self.key else event

    def store_remote(self, events: list[Event], *, relay: bool = False) -> list[Event]:
        """Events from the server or a LAN peer: stored once by id; returns the new ones and
        those the server's copy moved (re-stamped: the server's copy replaces ours).

        With ``relay`` (events from a peer, already checked against their authors) the new
        signed ones also go to the outbox: this device uploads them, so the server gets them
        even when their author cannot reach it (an unsigned one only its author can upload).
        An event the server sent (it has a ``seq``) leaves the outbox: the server has it (but
        this device's own, which its own upload times: ``_sent_by_another``). The
        clock moves past each within its bound (``tickets.timing.place_received``: a peer's event
        stamped further ahead is re-stamped at receipt); events of another site are ignored
        (and logged), and so are events of days this journal has already pruned (``prune``).
        The server's reception times raise the time floor.
        """
        with self._lock:
            fresh: list[Event] = []
            latest = 0.0
            with self._tx() as c:
                for e in events:
                    if e.site != self.site:
                        log.warning(
                            "event %s of site %r ignored (journal of %r)", e.id, e.site, self.site
                        )
                        continue
                    e = place_received(e, self.clock)
                    if e.hlc.millis < self._kept_from:
                        continue  # a day this journal has already forgotten
                    if e.original_hlc is not None and e.seq is None:
                        log.warning(
                            "event %s of %s stamped %s, beyond this device's clock: re-stamped "
                            "%s at receipt",
                            e.id,
                            e.device,
                            e.original_hlc.encode(),
                            e.hlc.encode(),
                        )
                    if e.received_at is not None:
                        latest = max(latest, e.received_at)
                    if _insert(c, e):
                        fresh.append(e)
                        self._skip_offline_number(c, e)
                        if relay and e.seq is None and e.sig is not None:
                            c.execute("INSERT INTO outbox (id) VALUES (?)", (e.id,))
                    elif e.seq is not None and _replace(c, e):
                        fresh.append(e)
                        self._sent_by_another(c, e)
                    elif e.seq is not None:
                        c.execute(
                            "UPDATE events SET seq=?, received_at=? WHERE id=? AND seq IS NULL",
                            (e.seq, e.received_at, e.id),
                        )
                        self._sent_by_another(c, e)
                if latest:
                    self._time_seen(c, latest)
            self._fold(fresh)
            return fresh

    def _sent_by_another(self, c: _Tx, e: Event) -> None:
        """The server has ``e``: it leaves the outbox, unless this device made it. A device
        that relayed it brought it first, and the server could not time it (the relay's clock
        is not its author's): this device's own upload, acknowledged as a copy, times it with
        the error of the clock it was made on (``server.sync``, ``tickets.epochs``)."""
        if e.device != self.device:
            c.execute("DELETE FROM outbox WHERE id=?", (e.id,))

    def _skip_offline_number(self, c: _Tx, e: Event) -> None:
        """A ticket from our offline range we do not remember issuing (a journal restored from
        an older copy): never issue its number again."""
        rng = self.pool.offline_range
        if e.kind is not EventKind.TICKET_ISSUED or rng is None:
            return
        number, key = e.data["number"], (e.data["service"], e.data["day"])
        if rng[0] <= number <= rng[1] and self.pool.offline_next.get(key, rng[0]) <= number:
            self.pool.offline_next[key] = number + 1
            self._save_numbers(c, *key)

    def _fold(self, events: list[Event]) -> None:
        if self._state is not None and events:
            self._state.extend([e for e in events if e.hlc.millis >= self._floor])

    def events_after(self, position: int, limit: int = 500) -> tuple[list[Event], int]:
        """Every event this journal holds (its own and received ones) stored after
        ``position``, in the order it stored them, and the position of the last one returned
        (``position`` when none). Positions are local to this journal file; a LAN peer pulls
        with them (``tickets.peer``)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT rowid, body, seq, received_at FROM events WHERE rowid > ? "
                "ORDER BY rowid LIMIT ?",
                (position, limit),
            ).fetchall()
        if not rows:
            return [], position
        return [_event(body, seq, at) for _, body, seq, at in rows], int(rows[-1][0])

    # ---- the outbox -------------------------------------------------------------------------
    def outbox(self, limit: int = 500) -> list[Event]:
        """Events to upload not yet acknowledged by the server (own and relayed), oldest
        first."""
        return [e for _, e in self._outbox(limit)]

    def _outbox(self, limit: int) -> list[tuple[int, Event]]:
        """The outbox's first ``limit`` events with their positions."""
        with self._lock:
            rows = self._db.execute(
                "SELECT o.n, e.body, e.seq, e.received_at FROM outbox o JOIN events e USING (id) "
                "ORDER BY o.n LIMIT ?",
                (limit,),
            ).fetchall()
        return [(n, _event(*row)) for n, *row in rows]

    def upload_batch(self, limit: int = 500) -> tuple[list[Event], Reading, bool]:
        """The next events to upload, oldest first: this device's own of one clock epoch (and
        the relayed ones among them), how to read the clock for them (``ClockEpochs.reading``),
        and whether events of a later epoch wait behind them. Without epochs: ``outbox``."""
        with self._lock:
            events = self._outbox(limit)
            epochs = self._epochs
            if epochs is None:
                return [e for _, e in events], Reading(0.0), False
            own = [n for n, e in events if e.device == self.device]
            # Epochs before the oldest own event waiting (all, when none waits) are done with.
            done = own[0] - 1 if own else None
            if done is None and len(events) < limit:
                done = _outbox_position(_Tx(self._db))
            with self._time_lock:
                if done is not None and epochs.epoch_of(done + 1) != epochs.epochs[0].id:
                    epochs.forget_before(done)
                    self._epochs_dirty = True
                epoch = epochs.epoch_of(own[0]) if own else epochs.current.id
                reading = epochs.reading(epoch)
            if self._epochs_dirty:
                with self._tx() as c:
                    self._save_epochs(c)
        batch: list[Event] = []
        for n, e in events:
            if e.device == self.device and epochs.epoch_of(n) != epoch:
                return batch, reading, True
            batch.append(e)
        return batch, reading, False

    def acknowledge(self, ids: Iterable[str]) -> None:
        """The server stored these events: they leave the outbox (they stay in the journal)."""
        ids = list(ids)
        with self._tx() as c:
            c.executemany("DELETE FROM outbox WHERE id=?", [(i,) for i in ids])

    def backlog(self) -> int:
        """How many events (own and relayed) wait for the server's acknowledgement."""
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def quarantine(self, event_id: str, reason: str) -> None:
        """The server refused this event for good: out of the outbox, kept with the reason.

        The event stays in the journal and in the device's own view of the queue.
        """
        with self._tx() as c:
            if c.execute("DELETE FROM outbox WHERE id=?", (event_id,)).rowcount:
                c.execute(
                    "INSERT OR REPLACE INTO quarantine VALUES (?, ?, ?)",
                    (event_id, reason, self._wall()),
                )

    def quarantined(self) -> list[tuple[Event, str]]:
        """Events the server refused, with its reason, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT e.body, e.seq, e.received_at, q.reason FROM quarantine q "
                "JOIN events e USING (id) ORDER BY q.at"
            ).fetchall()
        return [(_event(body, seq, at), reason) for body, seq, at, reason in rows]

    # ---- cursor, numbers, site --------------------------------------------------------------
    @property
    def cursor(self) -> int:
        """The last server sequence number this device has pulled."""
        return int(self._meta(_CURSOR) or 0)

    def set_cursor(self, n: int) -> None:
        self._set(_CURSOR, str(int(n)))

    def grant_leases(self, leases: list[Lease]) -> None:
        """Blocks of numbers granted by the server (a lease granted twice counts once)."""
        with self._tx() as c:
            for lease in leases:
                self.pool.grant(lease)
                c.execute(
                    "INSERT OR IGNORE INTO leases VALUES (?, ?, ?, ?, ?)",
                    (lease.service, lease.day, lease.start, lease.end, lease.start),
                )
                c.execute(
                    "DELETE FROM meta WHERE key=?",
                    (f"{_LEASE_REQUEST}{lease.service}/{lease.day}",),
                )

    def lease_requests(self, services: list[str], day: str, block: int) -> list[dict[str, str]]:
        """The lease requests to send now: services with less than half a block left. Each
        carries an id kept (on disk) until a block for its service and day arrives, so a
        request whose answer was lost, asked again, gets the same block from the server."""
        with self._lock:
            return [
                {"service": s, "day": day, "request": self._lease_request_id(s, day)}
                for s in services
                if self.pool.needs_lease(s, day, block)
            ]

    def _lease_request_id(self, service: str, day: str) -> str:
        key = f"{_LEASE_REQUEST}{service}/{day}"
        found = self._meta(key)
        if found is None:
            found = uuid.uuid4().hex
            self._set(key, found)
        return found

    def set_offline_range(self, numbers: tuple[int, int] | None) -> None:
        """This device's offline range (from the site's devices); ``state()`` sets it too."""
        with self._lock:
            self.pool.offline_range = numbers
            self._set(_OFFLINE, json.dumps(list(numbers)) if numbers else "")

    def _save_numbers(self, c: _Tx, service: str, day: str) -> None:
        now = self.pool.counters(service, day)
        for start, nxt in now.blocks.items():
            c.execute(
                "UPDATE leases SET next=? WHERE service=? AND day=? AND start=?",
                (nxt, service, day, start),
            )
        if now.offline is not None:
            c.execute(
                "INSERT OR REPLACE INTO offline_numbers VALUES (?, ?, ?)",
                (service, day, now.offline),
            )

    def save_site(self, site_json: dict[str, Any], version: str) -> None:
        """Caches the site configuration (SiteConfig JSON) and its server version."""
        with self._tx() as c:
            c.execute(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)", (_SITE_JSON, json.dumps(site_json))
            )
            c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_SITE_VERSION, version))

    def load_site(self) -> tuple[dict[str, Any], str] | None:
        raw = self._meta(_SITE_JSON)
        if raw is None:
            return None
        return json.loads(raw), self._meta(_SITE_VERSION) or ""

    def config_version(self) -> str:
        """The version of the cached site configuration ("" when none came from the server)."""
        return self._meta(_SITE_VERSION) or ""

    # ---- printing ---------------------------------------------------------------------------
    def set_print_state(self, ticket: str, state: str) -> None:
        """ "pending" before printing (``issue_ticket`` sets it), then "printed" or "failed"."""
        value = PrintState(state).value
        with self._tx() as c:
            c.execute(
                "INSERT OR REPLACE INTO prints VALUES (?, ?, ?)", (ticket, value, self._wall())
            )

    def print_state(self, ticket: str) -> PrintState | None:
        with self._lock:
            row = self._db.execute("SELECT state FROM prints WHERE ticket=?", (ticket,)).fetchone()
        return PrintState(row[0]) if row else None

    def pending_prints(self) -> list[str]:
        """Tickets whose printing started and never finished (a crash mid-print), oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT ticket FROM prints WHERE state=? ORDER BY updated, rowid",
                (PrintState.PENDING.value,),
            ).fetchall()
        return [r[0] for r in rows]

    # ---- the queue --------------------------------------------------------------------------
    def state(self, site: Site) -> QueueState:
        """The queue as this device knows it: the fold over the journal's events from the start
        of yesterday (site time) on, like the server's: today's queue and a margin, not the
        whole history.

        Returns a copy the caller owns (it may add events to it); the journal keeps its own
        fold up to date incrementally and re-folds when ``site`` differs from the last one or
        the day changes. Also takes this device's offline range from the site's devices.
        """
        with self._lock:
            floor = fold_floor(site, self.now())
            if self._state is None or self._site != site or self._floor != floor:
                rows = self._db.execute(
                    "SELECT body, seq, received_at FROM events WHERE hlc >= ? ORDER BY hlc, id",
                    (f"{floor:015d}",),
                ).fetchall()
                state = QueueState(site)
                state.extend([_event(*row) for row in rows])
                self._state, self._site, self._floor = state, site, floor
                device = site.device(self.device)
                offline = device.offline_range if device else None
                if offline != self.pool.offline_range:
                    self.set_offline_range(offline)
                if self.standalone:
                    self.prune_soon()  # at start and on each new day: no sync worker does
            return self._state.copy()

    def today(self) -> str:
        """Today in the site's time zone (the last site given to ``state``), else the
        machine's local date: the day numbers are leased for."""
        with self._lock:
            site = self._site
        now = self.now()
        return (site.day(now) if site else date.fromtimestamp(now)).isoformat()

    def issued_times(self, service: str, since: float, until: float) -> list[float]:
        """The clocks (seconds since the epoch) of the service's TicketIssued events in
        [since, until), read from the journal (not the fold, which holds two days): the
        kiosk's quieter-time advice reads weeks of them."""
        lo, hi = f"{int(since * 1000):015d}", f"{int(until * 1000):015d}"
        with self._lock:
            rows = self._db.execute(
                "SELECT hlc FROM events WHERE hlc >= ? AND hlc < ? "
                "AND json_extract(body, '$.kind') = ? "
                "AND json_extract(body, '$.data.service') = ?",
                (lo, hi, EventKind.TICKET_ISSUED.value, service),
            ).fetchall()
        return [Timestamp.decode(h).seconds for (h,) in rows]

    def last_position(self) -> int:
        """The position (``events_after``) of the last event this journal stored, 0 if none."""
        with self._lock:
            return int(self._db.execute("SELECT coalesce(max(n), 0) FROM events").fetchone()[0])

    # ---- retention ----------------------------------------------------------------------
    def prune(self, reference: float | None = None) -> Pruned | None:
        """Forgets the days before the last ``retention_days`` whole days before today: their
        events (with their quarantine records and print states), leases and offline counters.
        Events still in the outbox stay, whatever their age, until the server has them.

        Today is the day of the earlier of ``reference`` (the sync worker passes the server's
        time) and ``now()``, in the site's time zone (the last site given to ``state``; None,
        nothing done, before any). Numbers restart each day, so a pruned day's numbers can
        never be issued again: the service day never goes back that far. Events of a pruned
        day that arrive later (from the server or a peer) are not taken in.
        """
        with self._lock:
            site = self._site
        if site is None:
            return None
        now = self.now() if reference is None else min(reference, self.now())
        first_day = site.day(now) - timedelta(days=self.retention_days)
        first = datetime.combine(first_day, datetime.min.time(), site.tz)
        kept_from = int(first.timestamp() * 1000)
        cut, day = f"{kept_from:015d}", first_day.isoformat()
        events = prints = 0
        while not self._closed:
            with self._tx() as c:
                rows = c.execute(
                    "SELECT n, id, json_extract(body, '$.kind'), "
                    "json_extract(body, '$.data.ticket') FROM events "
                    "WHERE hlc < ? AND id NOT IN (SELECT id FROM outbox) LIMIT ?",
                    (cut, _PRUNE_BATCH),
                ).fetchall()
                tickets = [(t,) for _, _, kind, t in rows if kind == EventKind.TICKET_ISSUED.value]
                for t in tickets:
                    prints += c.execute("DELETE FROM prints WHERE ticket=?", t).rowcount
                c.executemany("DELETE FROM quarantine WHERE id=?", [(r[1],) for r in rows])
                c.executemany("DELETE FROM events WHERE n=?", [(r[0],) for r in rows])
            events += len(rows)
            if len(rows) < _PRUNE_BATCH:
                break
        with self._tx() as c:
            leases = c.execute("DELETE FROM leases WHERE day < ?", (day,)).rowcount
            offline = c.execute("DELETE FROM offline_numbers WHERE day < ?", (day,)).rowcount
            unsent = c.execute(
                "SELECT count(*) FROM outbox JOIN events USING (id) WHERE hlc < ?", (cut,)
            ).fetchone()[0]
            self._kept_from = max(self._kept_from, kept_from)
            c.execute(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)", (_KEPT_FROM, str(self._kept_from))
            )
            self.pool.forget_before(day)
        result = Pruned(day, events, leases, offline, prints, int(unsent))
        if events or leases or offline:
            log.info(
                "journal pruned before %s: %d events, %d leases, %d offline counters, "
                "%d print states (%d unacknowledged events kept)",
                day,
                events,
                leases,
                offline,
                prints,
                unsent,
            )
        return result

    def prune_due(self, reference: float | None = None) -> Pruned | None:
        """``prune`` once per day (of the site): the sync worker calls it after each round."""
        with self._lock:
            site = self._site
        if site is None:
            return None
        now = self.now() if reference is None else min(reference, self.now())
        today = site.day(now).isoformat()
        if self._pruned_on == today:
            return None
        result = self.prune(reference)
        self._pruned_on = today
        return result

    def prune_soon(self) -> None:
        """``prune_due`` on a thread of its own (a standalone device): the first prune of a
        long history never holds up a ticket."""

        def run() -> None:
            try:
                self.prune_due()
            except Exception:
                if not self._closed:
                    log.exception("journal pruning failed (tried again tomorrow)")

        threading.Thread(target=run, name="guichet-journal-prune", daemon=True).start()

    # ---- the time -----------------------------------------------------------------------
    def wall(self) -> float:
        """The machine's wall clock (seconds since the epoch): hours or days wrong after a power
        cut on a board without a real-time clock. Events carry it as their ``wall_time``."""
        return self._wall()

    def now(self) -> float:
        """The time as well as this device knows it (seconds since the epoch): the machine's
        wall clock corrected by the offset measured at the last sync with the server, and
        never before the time floor (``time_floor``): a machine that restarts with its clock
        set back goes on from the floor. The hybrid clock's physical part, the service day and
        the opening hours read this."""
        with self._time_lock:
            wall = self._wall()
            if self._epochs is not None and self._monotonic is not None:
                step = self._epochs.check(wall, self._monotonic())
                if step is not None:
                    self._stepped(step, self._epochs.known(-2))
                    self._epochs_dirty = True
                    log.warning("clock stepped %+.1f s: a new clock epoch begins", step)
            t = wall + self._offset + self._shift
            if t < self._floor_time:
                # Behind what surely has passed: time goes on from there (until a sync).
                self._shift += self._floor_time - t
                t = self._floor_time
            return t

    def _stepped(self, step: float, known: bool) -> None:
        """The wall clock jumped ``step`` seconds; ``known``: whether the error of the clock
        before was known (a sync measured it, or a step from one that was)."""
        if known:
            # The same instant reads ``step`` later on the clock now: so much less to add.
            self._offset -= step
        else:
            # Nobody it trusts measured the clock before (a boot on a saved time, not synced
            # yet): the stepped clock (NTP's) is the better guess, with the offset last
            # measured; what the time floor inferred for the clock before goes (it still holds).
            self._shift = 0.0

    def time_floor(self) -> float:
        """The latest time this device knows has passed (seconds since the epoch; 0: none):
        the server's reception time of the events it sent, its clock at each sync, and this
        device's own time when it made an event after a sync of this run. Kept on disk."""
        return self._floor_time

    def _raise_floor(self, t: float) -> bool:
        """Raises the floor to ``t``; True when it is to be written to disk (once it moved a
        minute: the floor is a lower bound, a minute stale is harmless)."""
        with self._time_lock:
            if t <= self._floor_time:
                return False
            self._floor_time = t
            if t - self._floor_saved < _FLOOR_WRITE_SECONDS:
                return False
            self._floor_saved = t
            return True

    def _time_seen(self, c: _Tx, t: float) -> None:
        """Raises the floor to ``t``, inside the caller's transaction."""
        if self._raise_floor(t):
            c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_TIME_FLOOR, repr(t)))

    def _own_time_seen(self, c: _Tx) -> None:
        # This machine's time is only trusted once a sync of this run measured it.
        if self._synced:
            self._time_seen(c, self.now())

    @property
    def clock_offset(self) -> float:
        """Seconds added to the machine's wall clock (``now() - wall()``)."""
        return self._offset

    def measured_clock_offset(self) -> float | None:
        """The offset in force (``clock_offset``) once a sync has measured this machine's clock
        against the server's, kept across restarts; None before the first measure (unknown)."""
        return self._offset if self._measured else None

    def adjust_clock(self, measured: float, uncertainty: float = 0.0) -> bool:
        """A new measure of the server's time minus this machine's wall clock (seconds), give
        or take ``uncertainty``: kept (on disk) when it is further than that plus
        ``CLOCK_TOLERANCE_SECONDS`` from the offset in force. True when the offset changed.

        The measure's server time raises the time floor. A correction backwards by more than
        the clock's bound rewinds the hybrid clock (``HybridClock.rewind``): what it stamped
        with the wrong time is no time, the server re-stamps it at receipt. A smaller one never
        makes the hybrid clock go back (its logical part counts until the time catches up)."""
        server_time = self._wall() + measured - max(0.0, uncertainty)
        if self._raise_floor(server_time):
            self._set(_TIME_FLOOR, repr(server_time))
        with self._time_lock:
            self._shift = 0.0  # the server's word replaces what the floor inferred
        self._synced = True
        changed = self._adjust_offset(measured, uncertainty)
        if self._epochs is not None:
            with self._time_lock:
                self._epochs_dirty |= self._epochs.measured(self._offset)
                dirty = self._epochs_dirty
            if dirty:  # most syncs measure nothing new: no transaction then
                with self._tx() as c:
                    self._save_epochs(c)
        if self.clock.rewind():
            log.warning("clock was ahead of the server's: its stamps go on from the server's time")
        return changed

    def _adjust_offset(self, measured: float, uncertainty: float) -> bool:
        if abs(measured - self._offset) <= CLOCK_TOLERANCE_SECONDS + max(0.0, uncertainty):
            if not self._measured:
                # The first measure is kept even when it finds the clock right (once): the
                # health report then tells a right clock from one never measured.
                with self._lock:
                    self._set(_CLOCK_OFFSET, repr(self._offset))
                    self._measured = True
            return False
        # A clock found right again (set by NTP meanwhile) goes back to no offset at all.
        offset = 0.0 if abs(measured) <= CLOCK_TOLERANCE_SECONDS else float(measured)
        with self._lock:
            self._set(_CLOCK_OFFSET, repr(offset))
            self._offset = offset
            self._measured = True
        log.info("clock offset now %+.1f s (the server's time minus this machine's)", offset)
        return True

    # ---- small things -----------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        """A value an application stored with ``set_meta`` (None when never set)."""
        return self._meta("app." + key)

    def set_meta(self, key: str, value: str) -> None:
        self._set("app." + key, value)

    def meta_keys(self, prefix: str) -> list[str]:
        """The keys set with ``set_meta`` that start with ``prefix``."""
        full = "app." + prefix
        with self._lock:
            rows = self._db.execute(
                "SELECT key FROM meta WHERE substr(key, 1, ?) = ?", (len(full), full)
            ).fetchall()
        return [key[len("app.") :] for (key,) in rows]

    def delete_meta(self, key: str) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM meta WHERE key=?", ("app." + key,))

    def _meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def _set(self, key: str, value: str) -> None:
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def fold_floor(site: Site, now: float) -> int:
    """The earliest clock (milliseconds) the journal folds: the start of yesterday, site time."""
    start = datetime.combine(site.day(now) - timedelta(days=1), datetime.min.time(), site.tz)
    return int(start.timestamp() * 1000)


class _Tx:
    """The connection inside a transaction (what the journal's writers may do with it)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        return self._db.execute(sql, params)

    def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        self._db.executemany(sql, rows)

    def executescript_in_tx(self, script: str) -> None:
        # executescript() would commit first; run the statements one by one instead.
        for statement in script.split(";"):
            if statement.strip():
                self._db.execute(statement)


def _outbox_position(c: _Tx) -> int:
    """The position of the last event ever put in the outbox (0: none)."""
    row = c.execute("SELECT seq FROM sqlite_sequence WHERE name='outbox'").fetchone()
    return int(row[0]) if row else 0


def _insert(c: _Tx, e: Event) -> bool:
    """Stores an event unless one with its id is there; True when stored."""
    cur = c.execute(
        "INSERT OR IGNORE INTO events (id, hlc, body, seq, received_at) VALUES (?, ?, ?, ?, ?)",
        (e.id, e.hlc.encode(), _body(e), e.seq, e.received_at),
    )
    return cur.rowcount == 1


def _replace(c: _Tx, e: Event) -> bool:
    """The server's copy of a stored event, when its stamp differs from ours (the server
    re-stamped it, or kept the stamp we re-stamped): it replaces ours; True when it did."""
    cur = c.execute(
        "UPDATE events SET hlc=?, body=?, seq=?, received_at=? WHERE id=? AND hlc<>?",
        (e.hlc.encode(), _body(e), e.seq, e.received_at, e.id, e.hlc.encode()),
    )
    return cur.rowcount == 1


def _body(e: Event) -> str:
    body = e.to_dict()
    body.pop("seq", None)
    body.pop("received_at", None)
    return json.dumps(body, separators=(",", ":"))


def _event(body: str, seq: int | None, received_at: float | None) -> Event:
    # Checked when it entered the journal: rebuilt without checking again (start-up cost).
    d = json.loads(body)
    original = d.get("original_hlc")
    return Event(
        id=d["id"],
        site=d["site"],
        device=d["device"],
        kind=EventKind(d["kind"]),
        hlc=Timestamp.decode(d["hlc"]),
        wall_time=d["wall_time"],
        data=d["data"],
        seq=seq,
        received_at=received_at,
        original_hlc=Timestamp.decode(original) if original else None,
        sig=d.get("sig"),
    )
