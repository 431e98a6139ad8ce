"""The board without its screen: journal, queue core, button boxes, announcements, sync.

:class:`Board` wires the parts together and is what the Kivy app, the self-test, the tests and
the benchmarks drive. It draws nothing; a listener (the app) is told when to redraw, when calls
are to be flashed, and when a status dot changes. Listener methods are called on worker threads.
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from config.display import DisplaySettings
from config.loader import load_model
from config.site import SiteConfig
from display.audio import AnnouncementQueue, make_announcement
from display.buttons import ButtonBoxes, LinkState
from display.core import BoardCore, CallView, CounterActions, JournalLike
from display.protocol import Press, Reason, error_line, show_line
from display.virtual import VirtualButtonBox
from tickets.events import Event
from tickets.heartbeat import CLOCK_OFFSET_FIELD, clock_offset_seconds
from tickets.journal import Journal
from tickets.model import Site
from tickets.peer import PeerSync, fetch_peer_keys
from tickets.sync import SyncClient, SyncWorker, push_channel

log = logging.getLogger(__name__)


def version() -> str:
    """The installed Guichet version."""
    try:
        return importlib.metadata.version("guichet")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class BoardListener(Protocol):
    def board_changed(self) -> None: ...
    def board_calls(self, calls: list[CallView]) -> None: ...
    def board_status(self) -> None: ...


class Worker(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


class Board:
    def __init__(
        self,
        settings: DisplaySettings,
        journal: JournalLike,
        site: Site | None,
        *,
        action_client: CounterActions | None = None,
        audio: AnnouncementQueue | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.journal = journal
        self.action_client = action_client
        self.clock = wall
        self.listener: BoardListener | None = None
        self.core: BoardCore | None = None
        self.workers: list[Worker] = []
        """Sync worker and event stream, started and stopped with the board."""
        self.sync_worker: SyncWorker | None = None
        self.peers: PeerSync | None = None
        """The exchange with the site's other devices on the LAN ([peers]), when set."""
        self.on_stopped: list[Callable[[], None]] = []
        """Run last by ``stop()`` (closing the journal the board opened)."""
        self.sync_state = "never" if settings.server.url else "standalone"
        self.last_sync: float | None = None
        self.audio = audio or AnnouncementQueue(settings.audio, site_now=self._site_now)
        self.virtual = VirtualButtonBox() if settings.buttons.virtual else None
        ports = list(settings.buttons.ports)
        if self.virtual is not None:
            ports.append(self.virtual.path)
        self.buttons = ButtonBoxes(
            ports,
            self._press,
            baudrate=settings.buttons.baudrate,
            on_state=lambda _s: self._status(),
            retry_min=settings.buttons.retry_min_seconds,
            retry_max=settings.buttons.retry_max_seconds,
        )
        self._resync_timer: threading.Timer | None = None
        self._stopped = threading.Event()
        if site is not None:
            self.use_site(site)

    # ---- life ---------------------------------------------------------------------------
    def start(self) -> None:
        self.audio.start()
        self.buttons.start()
        for w in self.workers:
            w.start()
        self._schedule_resync()

    def stop(self) -> None:
        self._stopped.set()
        if self._resync_timer is not None:
            self._resync_timer.cancel()
        for w in self.workers:
            try:
                w.stop()
            except Exception:
                log.exception("stopping %s failed", w)
        self.buttons.stop()
        self.audio.stop()
        if self.virtual is not None:
            self.virtual.close()
        for done in self.on_stopped:
            done()

    def _schedule_resync(self) -> None:
        if self._stopped.is_set():
            return
        self._resync_timer = threading.Timer(
            self.settings.server.resync_interval_seconds, self._periodic_resync
        )
        self._resync_timer.daemon = True
        self._resync_timer.start()

    def _periodic_resync(self) -> None:
        """Re-folds the whole queue from the journal and syncs now: whatever a lost push or
        a bug left behind, the board cannot stay stale longer than the resync interval."""
        try:
            if self.core is not None:
                self.core.resync()
            if self.sync_worker is not None:
                self.sync_worker.wake()
        except Exception:
            log.exception("full resync from the journal failed")
        self._schedule_resync()

    def _site_now(self) -> Any:
        from datetime import datetime

        core = self.core
        return core.site.local(self.clock()) if core else datetime.now()

    # ---- the site -----------------------------------------------------------------------
    def use_site(self, site: Site) -> None:
        """Starts (or re-folds) the queue view for ``site``: first config or a new version."""
        if self.core is not None:
            self.core.replace_site(site)
            self._changed()
            return
        core = BoardCore(
            site,
            self.journal,
            client=self.action_client,
            history=self.settings.history,
            max_age=self.settings.audio.max_age_seconds,
            offline_retry=self.settings.offline_retry_seconds,
            wall=self.clock,
        )
        core.on_calls = self._calls
        core.on_change = self._changed
        core.on_boxes = self._boxes_changed
        self.core = core
        log.info("board showing site %s (%s)", site.id, site.name)
        self._changed()

    # ---- sync callbacks (worker threads) ------------------------------------------------
    def on_sync_events(self, events: list[Event]) -> None:
        """New events the sync worker pulled (already in the journal)."""
        if self.core is not None:
            self.core.receive(events)

    def on_stream_events(self, events: list[Event]) -> None:
        """Events pushed by the server's stream: journaled first, then shown."""
        self.journal.store_remote(events)
        if self.core is not None:
            self.core.receive(events)

    def on_stream_state(self, up: bool) -> None:
        if up and self.core is not None:
            self.core.server_answers()

    def on_sync_config(self, config: dict[str, Any], version: str) -> None:
        """A new site configuration from the server (already cached in the journal)."""
        try:
            site = SiteConfig.model_validate(config).to_domain()
        except ValueError as exc:
            log.error("site configuration %s from the server refused: %s", version, exc)
            return
        log.info("site configuration %s received", version)
        self.use_site(site)

    def on_sync_state(self, state: Any) -> None:
        value = str(getattr(state, "value", state))
        if value == "online":
            self.last_sync = self.clock()
            if self.core is not None:
                self.core.server_answers()
        if value != self.sync_state:
            log.info("sync: %s -> %s", self.sync_state, value)
            self.sync_state = value
            self._status()

    # ---- presses (button reader threads) ------------------------------------------------
    def _press(self, press: Press, reply: Callable[[str], object]) -> None:
        core = self.core
        if core is None:
            reply(error_line(press.counter, Reason.NOT_READY))
            return
        outcome = core.press(press)
        for line in outcome.reply_lines():
            reply(line)
        if outcome.decided_by == "board" and self.sync_worker is not None:
            self.sync_worker.wake()  # upload the decision as soon as the server is back
        if outcome.decided_by == "board" and self.peers is not None:
            self.peers.wake()  # the other boards and kiosks learn the call at once

    def _calls(self, calls: list[CallView]) -> None:
        core = self.core
        assert core is not None
        if self.listener is not None:
            self.listener.board_calls(calls)  # the screen first: it is what people watch
        a = self.settings.audio
        langs = a.languages or list(core.site.languages)
        for c in calls:
            item = make_announcement(
                c.key, c.ticket, c.counter_id, c.counter_label, langs, a.templates
            )
            self.audio.announce(item)

    def _boxes_changed(self, tickets: dict[str, str | None]) -> None:
        """Counters whose ticket changed elsewhere (a call at the web console or another
        board, a ticket served or transferred there, a call overruled): their displays
        follow."""
        for counter, ticket in tickets.items():
            self.buttons.send(counter, show_line(counter, ticket))

    def _changed(self) -> None:
        if self.listener is not None:
            self.listener.board_changed()

    def _status(self) -> None:
        if self.listener is not None:
            self.listener.board_status()

    # ---- health and staff indicators ----------------------------------------------------
    def sync_colour(self) -> str:
        """Which configured colour the sync dot takes: online, offline or error."""
        if self.sync_state in ("online", "standalone"):
            return "online"
        if self.sync_state in ("auth_error", "error"):
            return "error"
        return "offline"

    def buttons_colour(self) -> str | None:
        """The button-box dot: hidden without a box, else online or error."""
        state = self.buttons.state
        if state is LinkState.NOT_CONFIGURED:
            return None
        return "online" if state is LinkState.CONNECTED else "error"

    def health(self) -> dict[str, Any]:
        """What the board reports to the server with each sync (and ``guichet doctor``)."""
        core = self.core
        return {
            "version": version(),
            "site_loaded": core is not None,
            "buttons": self.buttons.state.value,
            "audio": self.audio.health(),
            "sync": self.sync_state,
            "last_sync": (
                self.sync_worker.last_success if self.sync_worker is not None else self.last_sync
            ),
            "decided_locally": core.decided_locally if core else 0,
            CLOCK_OFFSET_FIELD: clock_offset_seconds(self.journal),
        }


def initial_site(settings: DisplaySettings, journal: Journal) -> Site | None:
    """The site to show at start: the server's last configuration cached in the journal,
    else the site file of the settings, else none yet (the board waits for the first sync)."""
    cached = journal.load_site()
    if cached is not None:
        try:
            return SiteConfig.model_validate(cached[0]).to_domain()
        except ValueError as exc:
            log.error("cached site configuration unusable: %s", exc)
    if settings.site_file is not None:
        return load_model(SiteConfig, settings.site_file).to_domain()
    return None


def build_board(
    settings: DisplaySettings,
    *,
    journal: Journal | None = None,
    wall: Callable[[], float] = time.time,
    monotonic: Callable[[], float] | None = None,
    boot_id: str | None = None,
) -> Board:
    """The board of these settings: journal, site, sync with the server when one is set.
    ``wall``, ``monotonic`` and ``boot_id``: the machine's clocks (``KioskRuntime``'s)."""
    own_journal = journal is None
    if journal is None:
        journal = Journal(
            settings.journal_path,
            settings.site,
            settings.device_id,
            wall=wall,
            key=settings.server.event_key,
            retention_days=settings.retention_days,
            standalone=settings.server.url is None,
            monotonic=monotonic,
            boot_id=boot_id,
        )
    site = initial_site(settings, journal)
    link = settings.server
    client = action_client = None
    if link.url is not None:
        url = str(link.url)
        client = SyncClient(url, link.token, settings.device_id, timeout=link.timeout_seconds)
        # Presses get their own, shorter timeout: past it the board decides alone.
        action_client = SyncClient(
            url, link.token, settings.device_id, timeout=settings.action_timeout_seconds
        )
    # The board's day, opening hours and announcements read the machine's clock corrected by
    # the server's (``Journal.now``): a board without a real-time clock may start a day behind.
    board = Board(settings, journal, site, action_client=action_client, wall=journal.now)
    if own_journal:
        board.on_stopped.append(journal.close)
    if client is not None:
        worker = SyncWorker(
            journal,
            client,
            interval=link.sync_interval_seconds,
            poll_interval=link.poll_interval_seconds,
            health=board.health,
            on_events=board.on_sync_events,
            on_state=board.on_sync_state,
            on_config=board.on_sync_config,
            max_backoff=link.max_backoff_seconds,
        )
        stream = push_channel(
            worker,
            settings.site,
            on_events=board.on_stream_events,
            on_state=board.on_stream_state,
            reconnect=link.stream_reconnect_seconds,
            max_reconnect=link.stream_reconnect_max_seconds,
        )
        board.sync_worker = worker
        board.workers += [worker, stream]
        peers = settings.peers
        if peers.listen is not None or peers.urls:
            keys_client = client
            board.peers = PeerSync(
                journal,
                token=link.token,
                listen=peers.listen_address,
                peers=[str(u) for u in peers.urls],
                interval=peers.interval_seconds,
                timeout=peers.timeout_seconds,
                keys_source=lambda: fetch_peer_keys(keys_client, settings.site),
                keys_interval=peers.keys_interval_seconds,
                max_backoff=peers.max_backoff_seconds,
                on_events=board.on_sync_events,
            )
            board.workers.append(board.peers)
    return board
