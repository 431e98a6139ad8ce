"""Each site's queue state, folded once and kept current from the event table.

The state in memory is a cache: it remembers up to which sequence number it has folded, and
every use first catches up from the table (inside the caller's transaction, under the site's
write lock for writers). A process that restarts, or another process that wrote events,
therefore never makes it wrong; it only costs a re-read.

The fold covers the events whose clock falls from the start of yesterday (site time) onwards:
today's queue and a margin, not the site's whole history. Statistics and old tickets are
folded from the table on demand instead.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection, Engine

from server import db, store
from server.sites import LoadedSite
from tickets.events import Event
from tickets.queue import QueueState, fold

_CATCH_UP_BATCH = 5000


def window_floor(loaded: LoadedSite, now: float) -> tuple[str, str]:
    """(today as ISO date, smallest clock value folded): start of yesterday, site time."""
    site = loaded.site
    today = site.day(now)
    start = datetime.combine(today - timedelta(days=1), datetime.min.time(), tzinfo=site.tz)
    return today.isoformat(), store.hlc_floor(start.timestamp())


@dataclass
class _Entry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    version: str = ""
    day: str = ""
    floor: str = ""
    seq: int = 0
    state: QueueState | None = None


class Deciding:
    """A state being decided on under the site's lock (``QueueStates.deciding``)."""

    def __init__(self, entry: _Entry) -> None:
        self._entry = entry

    @property
    def state(self) -> QueueState:
        assert self._entry.state is not None
        return self._entry.state

    def apply(self, stored: list[Event]) -> None:
        """Applies events just made, numbered after the last ones applied."""
        if stored:
            assert stored[0].seq == self._entry.seq + 1
            _advance(self._entry, stored)


def _advance(entry: _Entry, stored: list[Event]) -> None:
    """Folds events that directly follow what ``entry`` holds (those of its window)."""
    assert entry.state is not None
    entry.state.extend([e for e in stored if e.hlc.encode() >= entry.floor])
    entry.seq = stored[-1].seq or entry.seq


class QueueStates:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def _entry(self, site: str) -> _Entry:
        with self._lock:
            return self._entries.setdefault(site, _Entry())

    @contextmanager
    def hold(
        self, conn: Connection, loaded: LoadedSite, now: float, last_seq: int | None = None
    ) -> Iterator[QueueState]:
        """The site's state, caught up with every committed event, held for the block.

        ``last_seq``: the site's last seq, when the caller has just read it under the site's
        lock (a state already there costs no query). Read the state, never change it: a
        writer records its events with ``record`` after commit.
        """
        entry = self._entry(loaded.id)
        with entry.lock:
            yield self._current(conn, entry, loaded, now, last_seq)

    @contextmanager
    def deciding(
        self, conn: Connection, loaded: LoadedSite, now: float, last_seq: int
    ) -> Iterator[Deciding]:
        """The site's state, caught up as ``hold`` does, for a writer holding the site's lock
        that decides several actions in turn: each one's events are applied (``apply``) as
        soon as they are made, so the next one is decided after them. The writer commits
        before the block ends; if the block raises, the state is dropped (folded again from
        the table at its next use), since it may hold events that were never committed."""
        entry = self._entry(loaded.id)
        with entry.lock:
            self._current(conn, entry, loaded, now, last_seq)
            try:
                yield Deciding(entry)
            except BaseException:
                entry.state = None
                raise

    @contextmanager
    def hold_from(
        self, engine: Engine, loaded: LoadedSite, now: float, seq: int
    ) -> Iterator[QueueState]:
        """The site's state holding at least the events up to ``seq`` (committed), held for
        the block: the one in memory when it does (no connection taken, no query), else caught
        up from the table. What an action's answer reads after its commit."""
        entry = self._entry(loaded.id)
        with entry.lock:
            day, _floor = window_floor(loaded, now)
            current = (
                entry.state is not None
                and entry.version == loaded.version
                and entry.day == day
                and entry.seq >= seq
            )
            if current:
                assert entry.state is not None
                yield entry.state
        if not current:
            with db.read(engine) as conn, self.hold(conn, loaded, now) as state:
                yield state

    def seq(self, site: str) -> int:
        return self._entry(site).seq

    def record(self, loaded: LoadedSite, stored: list[Event]) -> None:
        """Applies events just committed, when they directly follow what the cache holds
        (otherwise the next use catches up from the table)."""
        if not stored:
            return
        entry = self._entry(loaded.id)
        with entry.lock:
            first = stored[0].seq
            if entry.state is None or entry.version != loaded.version or first != entry.seq + 1:
                return
            _advance(entry, stored)

    def invalidate(self, site: str) -> None:
        entry = self._entry(site)
        with entry.lock:
            entry.state = None

    def _current(
        self, conn: Connection, entry: _Entry, loaded: LoadedSite, now: float, last_seq: int | None
    ) -> QueueState:
        """The entry's state caught up with every committed event (its lock held): folded
        again for another configuration or day, else read on from its last seq unless
        ``last_seq`` (read under the site's lock) says nothing is new."""
        day, floor = window_floor(loaded, now)
        if entry.state is None or entry.version != loaded.version or entry.day != day:
            self._rebuild(conn, entry, loaded, day, floor)
        elif last_seq is None or last_seq != entry.seq:
            self._catch_up(conn, entry, loaded.id)
        assert entry.state is not None
        return entry.state

    def _rebuild(
        self, conn: Connection, entry: _Entry, loaded: LoadedSite, day: str, floor: str
    ) -> None:
        top = store.last_seq(conn, loaded.id)
        rows = store.by_clock(conn, loaded.id, floor)
        events = [store.row_event(r) for r in rows if r.seq <= top]
        entry.state = fold(loaded.site, events)
        entry.version, entry.day, entry.floor, entry.seq = loaded.version, day, floor, top

    def _catch_up(self, conn: Connection, entry: _Entry, site: str) -> None:
        assert entry.state is not None
        while True:
            rows = store.since(conn, site, entry.seq, _CATCH_UP_BATCH)
            if not rows:
                return
            entry.state.extend([store.row_event(r) for r in rows if r.hlc >= entry.floor])
            entry.seq = rows[-1].seq
            if len(rows) < _CATCH_UP_BATCH:
                return
