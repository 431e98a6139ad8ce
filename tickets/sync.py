"""The device's link to the central server: sync, counter actions and the push stream.

``SyncClient`` makes single calls (``POST /api/v1/sync``, counter actions, the queue) over an
injectable ``requests.Session``. ``SyncWorker`` is the background thread of a kiosk or a board:
it pushes the journal's outbox, pulls what is new since the cursor, stores leases and the site
configuration, and backs off with jitter while the server is unreachable. ``EventStream``
keeps the server's SSE stream open so a call made elsewhere reaches a board within a fraction
of a second; when it drops, periodic sync carries on.

The client and its exceptions live in ``tickets.client`` and are re-exported here.
Exceptions raised by ``SyncClient`` (all are ``SyncError``)::

    SyncError
    ├── TransportError          no answer: the server could not be reached in time
    │   ├── ConnectError        connection refused, no route, name not resolved
    │   ├── RequestTimeout      connected, but no answer within the timeout
    │   └── ConnectionDropped   the connection broke while the answer was on its way
    ├── HTTPStatusError         the server answered with an error (.status_code, .code,
    │   │                       .message, .event and .field from its error body)
    │   ├── AuthError           401, or 403 not about one event: token wrong or revoked
    │   ├── RequestRejected     another 4xx: this request was refused (.event names the
    │   │                       uploaded event at fault, when one is)
    │   └── ServerError         5xx: the server failed; try again later
    └── ProtocolError           an answer that is not what the API promises
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Any

import requests
import sseclient

from tickets.client import (
    API,
    COUNTER_ACTIONS,
    AuthError,
    ConnectError,
    ConnectionDropped,
    HTTPStatusError,
    ProtocolError,
    RequestRejected,
    RequestTimeout,
    ServerError,
    SyncClient,
    SyncError,
    SyncResult,
    TransportError,
    parse_sync,
    status_error,
)
from tickets.events import Event, EventError
from tickets.journal import Journal

__all__ = [
    "API",
    "COUNTER_ACTIONS",
    "PROBLEM_STATES",
    "AuthError",
    "ConnectError",
    "ConnectionDropped",
    "EventStream",
    "HTTPStatusError",
    "ProtocolError",
    "RequestRejected",
    "RequestTimeout",
    "ServerError",
    "SyncClient",
    "SyncError",
    "SyncResult",
    "SyncState",
    "SyncWorker",
    "TransportError",
    "backoff_delay",
    "parse_sync",
    "push_channel",
]

log = logging.getLogger(__name__)


# ---- the state shown to staff ---------------------------------------------------------------
class SyncState(StrEnum):
    NEVER = "never"
    ONLINE = "online"
    OFFLINE = "offline"
    AUTH_ERROR = "auth_error"
    ERROR = "error"

    @property
    def label(self) -> str:
        """What the staff indicator says."""
        return _LABELS[self]

    @property
    def colour(self) -> str:
        """The staff dot: green online, orange offline or not yet synced, red needs someone."""
        return (
            "green" if self is SyncState.ONLINE else ("red" if self in PROBLEM_STATES else "orange")
        )


_LABELS = {
    SyncState.NEVER: "Not synced yet",
    SyncState.ONLINE: "Online",
    SyncState.OFFLINE: "Offline: server unreachable, working locally",
    SyncState.AUTH_ERROR: "Refused by the server: check this device's token",
    SyncState.ERROR: "Sync error: see the device log",
}
PROBLEM_STATES = frozenset({SyncState.AUTH_ERROR, SyncState.ERROR})
"""States that need a person (the others resolve by themselves)."""


MAX_DEVICE_TIME = 1e11
"""The largest ``device_time`` the sync API takes (seconds since the epoch)."""
SAFETY_JITTER = 0.2
"""The safety sync's interval varies by this share either way (at random)."""


def backoff_delay(failures: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: between half and all of min(cap, base * 2^(n-1))."""
    ceiling = min(cap, base * 2 ** min(failures - 1, 30))
    return ceiling * rng.uniform(0.5, 1.0)


# ---- the background sync ------------------------------------------------------------------
class SyncWorker:
    """The device's sync thread. Every callback runs on this thread; a Kivy app posts what it
    needs to its UI thread itself (``Clock.schedule_once``). A callback that raises is logged
    and never stops the sync.

    It syncs when told: a local event (``wake``), the push stream opening (``push_state``:
    the server is back, or was restarted), and otherwise every ``interval`` seconds
    (+-``SAFETY_JITTER``) while the push stream is open (a safety net: what the stream says
    needs no sync), every ``poll_interval`` seconds while it is not. While the server does not
    answer, the wait grows with backoff up to ``max_backoff``; the stream's reconnection cuts
    it short."""

    MAX_PAGES = 50
    """Pages pulled in one round when the server says there is more."""

    def __init__(
        self,
        journal: Journal,
        client: SyncClient,
        *,
        interval: float,
        poll_interval: float | None = None,
        services_for_leases: Callable[[], list[str]] | list[str] | None = None,
        block: int = 20,
        health: Callable[[], dict[str, Any]] | None = None,
        on_events: Callable[[list[Event]], None] | None = None,
        on_state: Callable[[SyncState], None] | None = None,
        on_config: Callable[[dict[str, Any], str], None] | None = None,
        today: Callable[[], str] | None = None,
        health_interval: float = 30.0,
        batch: int = 500,
        limit: int = 1000,
        max_backoff: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        self.journal = journal
        self.client = client
        self.interval = interval
        self.poll_interval = poll_interval
        """The interval while no push stream is open (never longer than ``interval``; None:
        ``interval``)."""
        self.push_open = False
        """Whether the device's push stream is open (``push_state``)."""
        self.services_for_leases = services_for_leases
        """The services to hold number leases for (kiosks): a list or a function giving one."""
        self.block = block
        self.health = health
        self.on_events = on_events
        self.on_state = on_state
        self.on_config = on_config
        self.today = today if today is not None else journal.today
        """The site-local day leases are asked for (default: the journal's site)."""
        self.health_interval = health_interval
        """Health goes with at most one sync per this many seconds (the server stores it)."""
        self.batch = batch
        self.limit = limit
        self.max_backoff = max_backoff
        self._rng = rng if rng is not None else random.Random()
        self.state = SyncState.NEVER
        self.last_success: float | None = None
        """Wall time of the last successful sync (seconds since the epoch)."""
        self.last_error: str | None = None
        self.clock_offset: float | None = None
        """Server time minus this machine's wall clock measured at the last sync (seconds);
        the journal corrects its clock with it (``Journal.adjust_clock``)."""
        self.failures = 0
        self._server_time: float | None = None
        self._health_sent: float | None = None
        self._round = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- control ------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="guichet-sync", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Sync now (a new local event, a push from the stream), even while backing off."""
        self._wake.set()

    def push_state(self, up: bool) -> None:
        """The push stream opened (sync now: the server answers again) or dropped (poll)."""
        self.push_open = up
        if up:
            self.wake()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            ok = self.run_once()
            interval = self.interval
            if not self.push_open and self.poll_interval is not None:
                interval = min(interval, self.poll_interval)
            if ok:
                delay = interval
                if self.push_open:  # safety syncs of a fleet spread out, not in step
                    delay *= self._rng.uniform(1 - SAFETY_JITTER, 1 + SAFETY_JITTER)
            else:
                delay = backoff_delay(self.failures, interval, self.max_backoff, self._rng)
            self._wake.wait(delay)
            self._wake.clear()

    # ---- one round ----------------------------------------------------------------------
    def run_once(self) -> bool:
        """Pushes, pulls and stores until caught up; True on success. Never raises."""
        with self._round:
            return self._round_locked()

    def _round_locked(self) -> bool:
        self.last_error = None
        try:
            for _ in range(self.MAX_PAGES):
                if not self._exchange() or self._stop.is_set():
                    break
        except AuthError as exc:
            return self._failed(SyncState.AUTH_ERROR, exc)
        except TransportError as exc:
            return self._failed(SyncState.OFFLINE, exc)
        except Exception as exc:  # a server error, a bug: the thread must go on
            if not isinstance(exc, SyncError):
                log.exception("sync round failed")
            return self._failed(SyncState.ERROR, exc)
        self.failures = 0
        self.last_success = time.time()
        self._set_state(SyncState.ONLINE)
        self._prune()
        return True

    def _prune(self) -> None:
        """The journal's daily pruning, on the server's time: a device clock running ahead
        never makes it forget days that are still today's."""
        try:
            self.journal.prune_due(self._server_time)
        except Exception:
            log.exception("journal pruning failed (tried again after the next sync)")

    def _exchange(self) -> bool:
        """One sync call; True when another should follow at once."""
        j = self.journal
        # One clock epoch's events at a time, with the reading of that epoch's clock: the
        # server times them with its error, not the error of the clock they are uploaded on.
        events, reading, later = j.upload_batch(self.batch)
        if reading.measure_first:
            events = []  # that reading needs this clock's error: measured by this sync first
        services = self.services_for_leases
        if callable(services):
            services = services()
        day = self.today() if services else None
        leases = j.lease_requests(list(services), day, self.block) if services and day else []
        health = self._health()
        # The machine's own clock, not the corrected one: the server measures its error from
        # this reading, and corrects the uploaded events' wall times with it.
        before = j.wall()
        try:
            result = self.client.sync(
                j.cursor,
                events,
                leases,
                j.config_version(),
                health,
                self.limit,
                device_time=_device_time(before, reading.difference),
            )
        except RequestRejected as exc:
            # Nothing the server refuses for good may block the events behind it.
            if exc.event is not None and exc.event in {e.id for e in events}:
                log.error("server refused event %s for good (%s): quarantined", exc.event, exc)
                j.quarantine(exc.event, exc.message)
                return True
            where = exc.field or ""
            if not (leases and where.startswith("lease_requests")) and not (
                health is not None and where.startswith("health")
            ):
                raise
            log.error("server refused this device's %s (%s): syncing without", where, exc)
            self.last_error = str(exc)
            before = j.wall()
            result = self.client.sync(
                j.cursor,
                events,
                [] if where.startswith("lease_requests") else leases,
                j.config_version(),
                None if where.startswith("health") else health,
                self.limit,
                device_time=_device_time(before, reading.difference),
            )
        if health is not None:
            self._health_sent = time.monotonic()
        after = j.wall()
        corrected = False
        self._server_time = result.server_time
        if result.server_time is None:
            self.clock_offset = None
        else:
            # The server read its clock somewhere during the round trip: at its middle, give or
            # take half of it.
            self.clock_offset = result.server_time - (before + after) / 2
            corrected = j.adjust_clock(self.clock_offset, (after - before) / 2)
        j.acknowledge(result.acks)
        if result.server_hlc is not None:
            j.clock.receive(result.server_hlc, trusted=True)
        fresh = j.store_remote(result.events)
        j.set_cursor(result.cursor)
        if result.leases:
            j.grant_leases(result.leases)
        if result.config is not None:
            j.save_site(result.config, result.config_version)
            self._call(self.on_config, result.config, result.config_version)
        if fresh:
            self._call(self.on_events, fresh)
        acked = set(result.acks)
        if corrected and day is not None and self.today() != day:
            return True  # the leases asked were for the day the wrong clock said: ask again
        if reading.measure_first or (later and acked >= {e.id for e in events}):
            return True  # the events of another clock epoch wait
        return result.more or (len(events) == self.batch and acked >= {e.id for e in events})

    def _health(self) -> dict[str, Any] | None:
        sent = self._health_sent
        if self.health is None or (
            sent is not None and time.monotonic() - sent < self.health_interval
        ):
            return None
        try:
            return self.health()
        except Exception:
            log.exception("health report failed; syncing without it")
            return None

    def _failed(self, state: SyncState, exc: Exception) -> bool:
        self.failures += 1
        self.last_error = str(exc)
        if state is not self.state:
            log.warning("sync: %s (%s)", state.label, exc)
        self._set_state(state)
        return False

    def _set_state(self, state: SyncState) -> None:
        if state is self.state:
            return
        if state is SyncState.ONLINE:
            log.info("sync: online")
        self.state = state
        self._call(self.on_state, state)

    @staticmethod
    def _call(callback: Callable[..., None] | None, *args: Any) -> None:
        if callback is None:
            return
        try:
            callback(*args)
        except Exception:
            log.exception("sync callback %r failed", callback)


def _device_time(wall: float, difference: float | None) -> float | None:
    """The ``device_time`` of an upload: what the clock its events were made on reads now (the
    machine's clock ``wall`` minus the ``difference`` of that clock's error and this one's:
    ``tickets.epochs.Reading``); None when not known, or not a time the API takes."""
    if difference is None:
        return None
    reading = wall - difference
    return reading if 0.0 <= reading <= MAX_DEVICE_TIME else None


# ---- the push stream ------------------------------------------------------------------------
class EventStream:
    """Keeps ``GET /api/v1/sites/{site}/stream`` open on its own thread and hands each batch of
    events to ``on_events`` (on that thread): the device's push channel. Resumes after the last
    event id seen (``Last-Event-ID``), or after ``cursor()`` when that is further.

    It reconnects after ``reconnect`` seconds (with jitter), doubling while the server does not
    answer but never past ``max_reconnect``: a few seconds, so a device learns that the server
    is back soon after it is (``on_state(True)``), whatever its sync's backoff has grown to.
    ``start()`` and ``stop()`` never wait on the network. The wire format is read by
    ``sseclient`` (sseclient-py)."""

    def __init__(
        self,
        client: SyncClient,
        site: str,
        *,
        on_events: Callable[[list[Event]], None],
        cursor: Callable[[], int] | None = None,
        on_state: Callable[[bool], None] | None = None,
        on_config: Callable[[], None] | None = None,
        session: requests.Session | None = None,
        read_timeout: float = 75.0,
        reconnect: float = 1.0,
        max_reconnect: float = 5.0,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.site = site
        self.on_events = on_events
        self.cursor = cursor
        self.on_state = on_state
        """Called with True when the stream is open, False when it dropped."""
        self.on_config = on_config
        """Called when the server says the site's configuration changed."""
        self.session = session if session is not None else requests.Session()
        self.read_timeout = read_timeout
        """Longer than the server's keep-alive interval: silence this long means a dead link."""
        self.reconnect = reconnect
        self.max_reconnect = max_reconnect
        self._rng = rng if rng is not None else random.Random()
        self.last_id: int | None = None
        self.connected = False
        self._pending: list[Event] = []
        self._stop = threading.Event()
        self._response: requests.Response | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="guichet-stream", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        with self._lock:
            # Under the lock: the reader closes the response only after taking it back.
            if self._response is not None:
                _shutdown(self._response)
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._listen()
                failures = 0
            except Exception as exc:
                failures += 1
                if failures == 1:
                    log.warning("push stream: %s", exc)
            self._connected(False)
            if self._stop.is_set():
                break
            self._stop.wait(
                backoff_delay(max(failures, 1), self.reconnect, self.max_reconnect, self._rng)
            )

    def _listen(self) -> None:
        """One connection, until it ends."""
        resume = max(self.last_id or 0, self.cursor() if self.cursor else 0)
        headers = {**self.client.headers, "Accept": "text/event-stream"}
        if resume:
            headers["Last-Event-ID"] = str(resume)
        url = f"{self.client.base_url}{API}/sites/{self.site}/stream"
        with self.session.get(
            url, headers=headers, stream=True, timeout=(self.client.timeout, self.read_timeout)
        ) as response:
            if response.status_code >= 400:
                raise status_error(response)
            with self._lock:
                self._response = response
            self._connected(True)
            try:
                for message in sseclient.SSEClient(self._chunks(response)).events():
                    self._deliver(message)
            except (requests.RequestException, OSError, ValueError) as exc:
                if not self._stop.is_set():
                    raise ConnectionDropped(f"{url}: {exc}") from exc
            finally:
                with self._lock:
                    self._response = None

    def _chunks(self, response: requests.Response) -> Iterator[bytes]:
        """The body as it arrives. The messages parsed from one read go to ``on_events`` as one
        batch, before the next read (a catch-up of 500 events is one journal write)."""
        while not self._stop.is_set():
            self._flush()
            # read1: whatever has arrived, as soon as it has (iter_content would wait for a
            # full buffer on a stream that is not chunked).
            data = response.raw.read1(65536)
            if not data:
                break
            yield data
        self._flush()

    def _deliver(self, m: Any) -> None:
        if m.event == "config":  # the site's configuration changed: sync to fetch it
            if self.on_config is not None:
                try:
                    self.on_config()
                except Exception:
                    log.exception("push stream config callback failed")
            return
        if m.id is not None and m.id.isdigit():
            self.last_id = int(m.id)
        try:
            self._pending.append(Event.from_dict(json.loads(m.data)))
        except (EventError, ValueError) as exc:
            log.warning("push stream: message %s (%s) skipped: %s", m.id, m.event, exc)

    def _flush(self) -> None:
        events, self._pending = self._pending, []
        if not events:
            return
        try:
            self.on_events(events)
        except Exception:
            log.exception("push stream callback failed")

    def _connected(self, up: bool) -> None:
        if up is self.connected:
            return
        self.connected = up
        if self.on_state is not None:
            try:
                self.on_state(up)
            except Exception:
                log.exception("push stream state callback failed")


def _shutdown(response: requests.Response) -> None:
    """Wakes a thread blocked reading the stream by shutting its connection down (the reader
    then closes the response itself: closing it from here would wait for the blocked read).
    The socket is reached through the response's file descriptor, duplicated."""
    with (
        contextlib.suppress(OSError, ValueError),
        socket.fromfd(response.raw.fileno(), socket.AF_INET, socket.SOCK_STREAM) as sock,
    ):
        sock.shutdown(socket.SHUT_RDWR)


def push_channel(
    worker: SyncWorker,
    site: str,
    *,
    on_events: Callable[[list[Event]], None],
    on_state: Callable[[bool], None] | None = None,
    reconnect: float = 1.0,
    max_reconnect: float = 5.0,
) -> EventStream:
    """The push stream of a device whose sync is ``worker``: when it opens the worker syncs at
    once and slows to its safety interval; when it drops the worker polls; when the server
    says the site's configuration changed the worker syncs (and gets it). ``on_events`` gets
    the pushed events (the caller journals them); ``on_state`` is told of each change too."""

    def state(up: bool) -> None:
        worker.push_state(up)
        if on_state is not None:
            on_state(up)

    return EventStream(
        worker.client,
        site,
        on_events=on_events,
        cursor=lambda: worker.journal.cursor,
        on_state=state,
        on_config=worker.wake,
        reconnect=reconnect,
        max_reconnect=max_reconnect,
    )
