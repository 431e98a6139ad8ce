"""Wake-ups for the live streams when a site gets new events, within one server process and
across every process on the same PostgreSQL database.

A wake-up names the site and its new last ``seq``; it carries no event. Subscribers read the
events from the table by cursor, so a lost or duplicated wake-up costs latency (until the next
wake-up, the fallback poll or the stream's keep-alive), never an event. A subscriber arms its
subscription *before* reading the table, so a wake-up that comes while it reads is not missed.

- ``LocalNotifier`` (SQLite, one process): the process that stored events wakes its own
  subscribers through the event loop that serves the streams.
- ``PgNotifier`` (PostgreSQL, any number of processes and machines): the transaction that stores
  events also runs ``pg_notify('guichet_events', '<site> <seq>')`` (``announce``), which
  PostgreSQL delivers at commit, and only if it commits, to every process listening on the
  channel. Each process keeps one connection of its own listening (a thread), reconnects when it
  breaks (waking every subscriber, who re-read what they missed), and every ``poll_seconds``
  compares the subscribed sites' ``last_seq`` with what it was told, in case a notification
  was lost. The process that stored the events also wakes its own subscribers at once.

``PgNotifier.barrier`` tells a request when every notification committed before it asked has
been heard (PostgreSQL delivers a session's notifications in commit order; a notification of
the process's own, sent after the request, comes after all of them): what the process knows
from notifications is then as current as a query would have been. ``server.quiet`` answers
idle syncs from memory with it. An ``Observer`` hears what the notifications say, in the
listening thread, before any barrier after them is passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)

CHANNEL = "guichet_events"
"""The PostgreSQL notification channel of stored events; payload ``"<site> <seq>"``,
``"<site> config"`` when the site's configuration changed, or ``"<site> news"`` when something
the follow pages show changed outside the event log (an appointment told it runs late)."""
CONFIG = "config"
NEWS = "news"
DEVICES = "devices"
"""Payload ``"<site> devices"``: a device's token changed (no configuration change)."""
BARRIER_PAUSE_SECONDS = 0.005
"""Least time between two barriers of a process (seconds): the requests that ask meanwhile
share the next one, so a flood of idle syncs costs a few hundred notifications a second at
most, not one each."""


def announce(conn: Connection, site: str, seq: int) -> None:
    """Tells every server process, when the caller's transaction commits, that ``site`` has
    events up to ``seq`` (PostgreSQL; SQLite is served by one process, which publishes itself)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_notify(CHANNEL, f"{site} {seq}")))


def announce_config(conn: Connection, site: str) -> None:
    """Tells every server process, when the caller's transaction commits, that ``site``'s
    configuration changed (PostgreSQL; payload ``"<site> config"``): their streams tell the
    site's devices to sync. A process on SQLite tells its own (``Notifier.config_changed``)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_notify(CHANNEL, f"{site} {CONFIG}")))


def announce_news(conn: Connection, site: str) -> None:
    """Tells every server process, when the caller's transaction commits, to wake ``site``'s
    streams (PostgreSQL; payload ``"<site> news"``): what they show changed outside the
    event log. The caller's process wakes its own (``Notifier.news``)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_notify(CHANNEL, f"{site} {NEWS}")))


def announce_devices(conn: Connection, site: str) -> None:
    """Tells every server process, when the caller's transaction commits, that a device token
    of ``site`` changed (PostgreSQL; payload ``"<site> devices"``): what they hold in memory
    about the site's devices (``server.quiet``) is forgotten."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_notify(CHANNEL, f"{site} {DEVICES}")))


class Observer(Protocol):
    """Hears what the notifications say (from the thread that hears them)."""

    def heard(self, site: str, seq: int, downward: bool) -> None:
        """``site``'s events go up to ``seq`` (``downward``: lower than told before, a
        database restored from a backup)."""

    def changed(self, site: str) -> None:
        """``site``'s configuration or one of its device tokens changed."""

    def reset(self) -> None:
        """Notifications may have been lost (the listening connection broke): forget all."""


class Subscription(Protocol):
    def arm(self) -> None:
        """Forgets past wake-ups; call before reading the table."""

    def config_changed(self) -> bool:
        """Whether the site's configuration changed since the last call (then forgotten)."""

    async def wait(self, timeout: float) -> bool:
        """True when woken since ``arm`` (at once if already), False after ``timeout``
        seconds or when the server is shutting down."""

    def close(self) -> None: ...


class Notifier(Protocol):
    closed: bool

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Binds the loop that serves the streams (and starts listening, if there is a
        database to listen to). Called at start-up."""

    def publish(self, site: str, seq: int) -> None:
        """Says that ``site``'s events up to ``seq`` are committed. Callable from any thread."""

    def subscribe(self, site: str) -> Subscription:
        """A subscription to ``site``'s wake-ups; called from the serving event loop."""

    def close(self) -> None:
        """Ends every wait (server shutting down)."""

    def config_changed(self, site: str) -> None:
        """Says that ``site``'s configuration changed. Callable from any thread."""

    def news(self, site: str) -> None:
        """Wakes ``site``'s subscribers (no new event: they re-read and find what changed).
        Callable from any thread."""


class _LocalSubscription:
    """A stream's wake-ups. Waiting is a bare future and one timer of the loop, no task and
    no exception at its end: an idle stream's keep-alive (every 30 s for each of thousands
    of streams) costs a third of what ``asyncio.wait_for`` did."""

    def __init__(self, owner: LocalNotifier, site: str) -> None:
        self.owner = owner
        self.site = site
        self.woken = False
        self.config = False
        self._waiter: asyncio.Future[bool] | None = None

    def arm(self) -> None:
        self.woken = False

    def config_changed(self) -> bool:
        changed, self.config = self.config, False
        return changed

    def wake(self) -> None:
        """Called in the loop's thread."""
        self.woken = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    async def wait(self, timeout: float) -> bool:
        if self.owner.closed:
            return False
        if not self.woken:
            loop = asyncio.get_running_loop()
            waiter = self._waiter = loop.create_future()
            timer = loop.call_later(timeout, _expire, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
        return self.woken and not self.owner.closed

    def close(self) -> None:
        self.owner._remove(self)


class LocalNotifier:
    """Fan-out inside one process, through the event loop that serves the streams.

    Each site's last announced ``seq`` is remembered, so the same news heard twice (from this
    process and back from the database) wakes the subscribers once."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subs: dict[str, set[_LocalSubscription]] = {}
        self._known: dict[str, int] = {}
        self._lock = threading.Lock()
        self.closed = False
        self.observer: Observer | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def subscribe(self, site: str) -> _LocalSubscription:
        self._loop = asyncio.get_running_loop()
        sub = _LocalSubscription(self, site)
        with self._lock:
            self._subs.setdefault(site, set()).add(sub)
        return sub

    def _remove(self, sub: _LocalSubscription) -> None:
        with self._lock:
            group = self._subs.get(sub.site)
            if group is not None:
                group.discard(sub)
                if not group:
                    del self._subs[sub.site]

    def subscribed_sites(self) -> list[str]:
        with self._lock:
            return list(self._subs)

    def publish(self, site: str, seq: int) -> None:
        self.deliver(site, seq)

    def deliver(self, site: str, seq: int, *, changed_only: bool = False) -> None:
        """Wakes ``site``'s subscribers unless ``seq`` was already announced (or, with
        ``changed_only``, unless it equals what was last announced: a database restored from
        a backup can go back)."""
        with self._lock:
            known = self._known.get(site)
            if known is not None and (seq == known if changed_only else seq <= known):
                return
            self._known[site] = seq
            # Nobody of this process follows the site: the loop is not woken for nothing (a
            # stream subscribes before it reads, so one subscribing now reads these events).
            followed = site in self._subs
        if self.observer is not None:
            self.observer.heard(site, seq, known is not None and seq < known)
        if followed:
            self._call(lambda: self._wake(site))

    def config_changed(self, site: str) -> None:
        if self.observer is not None:
            self.observer.changed(site)
        self._call(lambda: self._wake(site, config=True))

    def news(self, site: str) -> None:
        self._call(lambda: self._wake(site))

    def wake_all(self) -> None:
        """Wakes every subscriber (news may have been lost): each re-reads the table."""
        self._call(lambda: self._wake(None))

    def close(self) -> None:
        self.closed = True
        self.wake_all()

    def _wake(self, site: str | None, config: bool = False) -> None:
        with self._lock:
            if site is None:
                subs = [s for group in self._subs.values() for s in group]
            else:
                subs = list(self._subs.get(site, ()))
        for s in subs:
            s.config = s.config or config
            s.wake()

    def _call(self, fn: Callable[[], None]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # nobody has subscribed yet
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits
            loop.call_soon_threadsafe(fn)


def parse_payload(payload: str) -> tuple[str, int] | None:
    """``"<site> <seq>"`` as (site, seq), or None when it is not one of ours."""
    site, _, seq = payload.partition(" ")
    return (site, int(seq)) if site and seq.isdigit() else None


class PgNotifier(LocalNotifier):
    """``LocalNotifier`` plus PostgreSQL LISTEN on one dedicated connection (a thread)."""

    def __init__(
        self,
        conninfo: str,
        *,
        poll_seconds: float = 5.0,
        retry_seconds: tuple[float, float] = (0.5, 5.0),
    ) -> None:
        super().__init__()
        self.conninfo = conninfo
        self.poll_seconds = poll_seconds
        self.retry_seconds = retry_seconds
        self.listening = threading.Event()
        """Set while the listening connection is up (tests and the readiness probe)."""
        self.polls = 0
        """Fallback polls made so far (tests wait on it rather than for a while)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Barriers: numbered notifications on a channel of this process's own.
        self._barrier_channel = f"guichet_barrier_{secrets.token_hex(8)}"
        self._barrier_guard = threading.Lock()
        self._barrier_sent = 0
        self._barrier_sent_at = 0.0
        self._barrier_waiting: list[tuple[int, asyncio.Future[bool]]] = []
        self._barrier_wanted = threading.Event()
        self._sender: threading.Thread | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        super().start(loop)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="guichet-listen", daemon=True)
            self._thread.start()
        if self._sender is None:
            self._sender = threading.Thread(
                target=self._send_barriers, name="guichet-barrier", daemon=True
            )
            self._sender.start()

    def close(self) -> None:
        self._stop.set()
        self._barrier_wanted.set()
        super().close()
        self._fail_barriers()
        for thread in (self._thread, self._sender):
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=3)

    # ---- barriers ---------------------------------------------------------------------------
    async def barrier(self) -> bool:
        """True once every notification committed before this call has been heard (and told
        to the observer); False when that cannot be known (not listening, the connection
        broke meanwhile, shutting down). Called from the serving event loop."""
        if self.closed or not self.listening.is_set():
            return False
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        with self._barrier_guard:
            # A barrier sent from now on: the next one (the one being sent may have
            # been committed before this call).
            self._barrier_waiting.append((self._barrier_sent + 1, future))
        self._barrier_wanted.set()
        return await future

    def _send_barriers(self) -> None:
        """Sends a barrier whenever a request waits for one, on a connection of its own."""
        import psycopg

        conn: Any = None
        while not self._stop.is_set():
            self._barrier_wanted.wait(1.0)
            self._barrier_wanted.clear()
            with self._barrier_guard:
                wanted = any(need > self._barrier_sent for need, _ in self._barrier_waiting)
                lost = (
                    self._barrier_waiting
                    and self._barrier_sent_at
                    and time.monotonic() - self._barrier_sent_at > 5.0
                )
                if wanted:
                    self._barrier_sent += 1
                    self._barrier_sent_at = time.monotonic()
                number = self._barrier_sent
            if lost and not wanted:  # sent, never heard: those who wait ask the database
                self._fail_barriers()
            if not wanted or self._stop.is_set():
                continue
            try:
                if conn is None:
                    conn = self._connect("guichet-barrier")
                conn.execute("SELECT pg_notify(%s, %s)", (self._barrier_channel, str(number)))
            except psycopg.Error:
                log.warning("could not send a notification barrier", exc_info=True)
                with contextlib.suppress(psycopg.Error):
                    if conn is not None:
                        conn.close()
                conn = None
                self._fail_barriers()
                self._stop.wait(0.5)
            self._stop.wait(BARRIER_PAUSE_SECONDS)
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def _barrier_heard(self, number: int) -> None:
        with self._barrier_guard:
            passed = [f for need, f in self._barrier_waiting if need <= number]
            self._barrier_waiting = [
                (need, f) for need, f in self._barrier_waiting if need > number
            ]
            if not self._barrier_waiting:
                self._barrier_sent_at = 0.0
        if passed:
            self._call(lambda: _settle(passed, True))

    def _fail_barriers(self) -> None:
        with self._barrier_guard:
            waiting, self._barrier_waiting = self._barrier_waiting, []
            self._barrier_sent_at = 0.0
        if waiting:
            self._call(lambda: _settle([f for _, f in waiting], False))

    # ---- the listening thread -------------------------------------------------------------
    def _connect(self, name: str = "guichet-listen") -> Any:
        import psycopg

        return psycopg.connect(
            self.conninfo,
            autocommit=True,
            connect_timeout=5,
            # A dead peer (a database host gone without a word) is noticed within seconds,
            # not after the kernel's retransmission timeout (minutes).
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
            tcp_user_timeout=15_000,
            application_name=name,
        )

    def _run(self) -> None:
        import psycopg

        delay, most = self.retry_seconds
        failed_at: float | None = None
        while not self._stop.is_set():
            try:
                with self._connect() as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    conn.execute(f"LISTEN {self._barrier_channel}")
                    if self.observer is not None:  # what was said while deaf is not known
                        self.observer.reset()
                    self.listening.set()
                    if failed_at is not None:
                        log.warning(
                            "listening to the database's notifications again after %.1f s",
                            time.monotonic() - failed_at,
                        )
                        failed_at = None
                    delay = self.retry_seconds[0]
                    self._listen(conn)
            except psycopg.Error as exc:
                self.listening.clear()
                self._fail_barriers()
                if self.observer is not None:
                    self.observer.reset()
                if failed_at is None:
                    failed_at = time.monotonic()
                    log.warning(
                        "the database's notifications are not heard (%s); retrying, live "
                        "streams poll meanwhile",
                        str(exc).strip() or type(exc).__name__,
                    )
                # Whatever was announced meanwhile is lost: every stream re-reads now, and
                # again when the connection is back (``_listen`` starts with a poll).
                self.wake_all()
                self._stop.wait(delay)
                delay = min(delay * 2, most)
        self.listening.clear()

    def _listen(self, conn: Any) -> None:
        self._poll(conn)
        next_poll = time.monotonic() + self.poll_seconds
        while not self._stop.is_set():
            timeout = max(0.05, min(1.0, next_poll - time.monotonic()))
            for note in conn.notifies(timeout=timeout):
                if note.channel == self._barrier_channel and note.payload.isdigit():
                    self._barrier_heard(int(note.payload))
                    continue
                if note.channel != CHANNEL:
                    continue
                site, _, what = note.payload.partition(" ")
                if site and what == CONFIG:
                    self.config_changed(site)
                    continue
                if site and what == DEVICES:
                    if self.observer is not None:
                        self.observer.changed(site)
                    continue
                if site and what == NEWS:
                    self.news(site)
                    continue
                found = parse_payload(note.payload)
                if found is not None:
                    self.deliver(*found)
            if time.monotonic() >= next_poll:
                self._poll(conn)
                next_poll = time.monotonic() + self.poll_seconds

    def _poll(self, conn: Any) -> None:
        """Wakes the subscribed sites whose ``last_seq`` is not what was last announced."""
        sites = self.subscribed_sites()
        if sites:
            rows = conn.execute("SELECT id, last_seq FROM sites WHERE id = ANY(%s)", (sites,))
            for site, seq in rows.fetchall():
                self.deliver(site, int(seq), changed_only=True)
        self.polls += 1


def _settle(futures: list[asyncio.Future[bool]], value: bool) -> None:
    for f in futures:
        if not f.done():
            f.set_result(value)


def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)
