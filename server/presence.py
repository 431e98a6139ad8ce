"""Devices holding their site's push stream are seen, without syncing to say so.

A device whose push stream is open syncs only when it has something to upload, when the
stream (re)opens and every few minutes as a safety net (``server.sync_interval_seconds``):
its syncs alone would let the fleet page call it offline (``OFFLINE_AFTER_SECONDS``). Each
server process counts the streams devices hold (``StreamPresence.add``) and, every
``SEEN_EVERY_SECONDS``, stores ``last_seen`` for all of them in one statement: a fleet at rest
costs one write a minute per process, not one per device. Devices whose idle syncs were
answered from memory (``server.quiet``) are queued (``StreamPresence.seen``) and stored the
same way, within a second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server import db, schema

log = logging.getLogger(__name__)

SEEN_EVERY_SECONDS = 60.0
"""How often the devices holding a stream are marked seen (seconds): well inside the fleet
page's 120 s before a device is called offline."""
_CHUNK = 500


class StreamPresence:
    """The devices holding a push stream in this process, and their periodic ``last_seen``."""

    def __init__(self) -> None:
        self.every = SEEN_EVERY_SECONDS
        """Seconds between two rounds of marking."""
        self._held: Counter[tuple[str, str]] = Counter()
        self._seen: set[tuple[str, str]] = set()
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, site: str, device: str) -> None:
        """``device`` of ``site`` opened a stream in this process."""
        with self._guard:
            self._held[(site, device)] += 1

    def remove(self, site: str, device: str) -> None:
        """One of the device's streams closed."""
        key = (site, device)
        with self._guard:
            self._held[key] -= 1
            if self._held[key] <= 0:
                del self._held[key]

    def held(self) -> list[tuple[str, str]]:
        with self._guard:
            return sorted(self._held)

    def seen(self, site: str, device: str) -> None:
        """``device`` of ``site`` synced: its last_seen is stored within a second."""
        with self._guard:
            self._seen.add((site, device))

    def mark_seen(self, engine: Engine, now: float) -> int:
        """Stores ``now`` as the last_seen of the devices queued by ``seen``; how many."""
        with self._guard:
            queued, self._seen = sorted(self._seen), set()
        _store_seen(engine, queued, now)
        return len(queued)

    def mark(self, engine: Engine, now: float) -> int:
        """Stores ``now`` as the last_seen of every device holding a stream; how many."""
        held = self.held()
        _store_seen(engine, held, now)
        return len(held)

    def start(self, engine: Engine, now: Callable[[], float]) -> None:
        """Marks the holders seen every ``every`` seconds on a thread of its own."""

        def run() -> None:
            last = time.monotonic()
            while not self._stop.wait(1.0):
                try:
                    if self._seen:
                        self.mark_seen(engine, now())
                    if time.monotonic() - last < self.every:
                        continue
                    last = time.monotonic()
                    self.mark(engine, now())
                except Exception:  # the database away: the next round tries again
                    log.warning("could not mark the streaming devices seen", exc_info=True)

        if self._thread is None:
            self._thread = threading.Thread(target=run, name="guichet-presence", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)


_SEEN_PG = (
    "UPDATE devices SET last_seen = %(now)s FROM unnest(%(sites)s::text[], %(ids)s::text[]) "
    "AS held(site, id) WHERE devices.site = held.site AND devices.id = held.id"
)
"""On PostgreSQL the devices go as two arrays: one statement for all, the same text every
time (a list of pairs in ``IN`` is a new statement to compile at each size: most of a worker's
CPU at rest in a sample of a 5,000-device fleet)."""


def _store_seen(engine: Engine, devices: list[tuple[str, str]], now: float) -> None:
    """Stores ``now`` as the last_seen of ``devices`` ((site, id) pairs)."""
    if not devices:
        return
    if not db.is_sqlite(engine):
        sites, ids = [site for site, _ in devices], [device for _, device in devices]
        with db.write_one(engine) as conn:
            conn.exec_driver_sql(_SEEN_PG, {"now": now, "sites": sites, "ids": ids})
        return
    d = schema.devices  # SQLite: 500 a statement
    for i in range(0, len(devices), _CHUNK):
        chunk = devices[i : i + _CHUNK]
        with db.write_one(engine) as conn:
            conn.execute(
                sa.update(d).where(sa.tuple_(d.c.site, d.c.id).in_(chunk)).values(last_seen=now)
            )
