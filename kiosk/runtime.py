"""Everything the kiosk runs besides its screens: journal, printer, core, sync, the I/O worker.

Kivy-free, so tests and the site simulator can run a kiosk headless. The single I/O worker
thread (``submit``) does every issue, print and printer status query, one at a time, so the
printer never sees two conversations at once and the UI thread never waits on a disk or a
socket.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, TypeVar

import requests

from config.kiosk import KioskSettings
from config.loader import ConfigError, load_model
from config.site import SiteConfig
from kiosk.booking import Booked, BookingClient
from kiosk.checkin import CheckInResult, check_in
from kiosk.core import KioskCore
from kiosk.elsewhere import ElsewhereClient, OtherSite
from kiosk.scanner import SerialScanner
from printer import PrinterStatus, TicketPrinter, open_printer
from tickets.daybook import DayBook, DayBookError
from tickets.heartbeat import CLOCK_OFFSET_FIELD, clock_offset_seconds
from tickets.journal import Journal

if TYPE_CHECKING:
    from tickets.peer import PeerSync
    from tickets.sync import EventStream, SyncClient, SyncWorker

log = logging.getLogger(__name__)
R = TypeVar("R")


def guichet_version() -> str:
    try:
        return version("guichet")
    except PackageNotFoundError:
        return "unknown"


class NoSiteError(RuntimeError):
    """The kiosk has no site description yet: no site_file and nothing cached from a sync."""


def initial_site(settings: KioskSettings, journal: Journal) -> SiteConfig | None:
    """The site to start with.

    Connected to a server, the journal's cached copy (the last one the server sent) wins, and
    the site file only seeds a first start. Standalone, the site file is the reference.
    """
    cached = journal.load_site()
    if settings.server.url is not None and cached is not None:
        try:
            return SiteConfig.model_validate(cached[0])
        except ValueError as exc:
            log.error("cached site configuration unusable (%s); using the site file", exc)
    if settings.site_file is not None:
        site = load_model(SiteConfig, settings.site_file)
        if cached is None or settings.server.url is None:
            journal.save_site(site.model_dump(mode="json"), "")
        return site
    if cached is not None:
        return SiteConfig.model_validate(cached[0])
    return None


class KioskRuntime:
    def __init__(
        self,
        settings: KioskSettings,
        *,
        clock: Callable[[], float] = time.time,
        printer: TicketPrinter | None = None,
        monotonic: Callable[[], float] | None = None,
        boot_id: str | None = None,
    ) -> None:
        """``clock``: the machine's wall clock; ``monotonic`` and ``boot_id`` its monotonic clock
        and boot id beside it (by default the machine's own, with its own wall clock: the
        journal finds the clock's steps by them, ``tickets.epochs``)."""
        self.settings = settings
        self.clock = clock
        self.version = guichet_version()
        self.io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-io")
        self.journal = Journal(
            settings.journal_path,
            settings.site,
            settings.device_id,
            clock,
            key=settings.server.event_key,
            retention_days=settings.retention_days,
            standalone=settings.server.url is None,
            monotonic=monotonic,
            boot_id=boot_id,
        )
        self.printer = printer if printer is not None else open_printer(settings.printer)
        self.sync: SyncWorker | None = None
        self.stream: EventStream | None = None
        """The push stream: the site's events as they happen, and the sign the server is
        back."""
        self.peers: PeerSync | None = None
        """The exchange with the site's other devices on the LAN ([peers]), once started."""
        site = initial_site(settings, self.journal)
        if site is None:
            self.journal.close()
            raise ConfigError(
                None,
                [
                    "kiosk: no site description: set 'site_file', or connect the kiosk to a "
                    "server once so it caches the site's configuration"
                ],
            )
        if site.site.id != settings.site:
            log.warning(
                "site file describes %r, this kiosk belongs to %r", site.site.id, settings.site
            )
        # The opening hours, the service day and the time printed on tickets read the
        # machine's clock corrected by the server's (a kiosk without a real-time clock may
        # start a day behind after a power cut).
        self.core = KioskCore(settings, self.journal, site, self.printer, self.journal.now)
        self.appointments = DayBook(
            settings.journal_path.with_name(settings.journal_path.stem + "-appointments.json")
        )
        """The day's appointments, for check-in while the server is away."""
        self._http = requests.Session()
        self.booking = BookingClient(settings, self._http)
        """Books appointments at the kiosk (needs the server)."""
        self._elsewhere_http = requests.Session()
        self.elsewhere = ElsewhereClient(settings, self._elsewhere_http)
        """The same service at the server's other sites, for the long-wait screen."""
        self._elsewhere_io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-elsewhere")
        """Its own thread: a server slow to answer never delays a ticket on the I/O worker."""
        self._elsewhere_asked: dict[str, Future[list[OtherSite]]] = {}
        self._elsewhere_lock = threading.Lock()
        self._scanner: SerialScanner | None = None
        self._refresher: threading.Thread | None = None
        self._stop_refresh = threading.Event()
        self.core.fail_interrupted_prints()

    # ---- the I/O worker ------------------------------------------------------------------
    def submit(self, fn: Callable[..., R], *args: Any) -> Future[R]:
        return self.io.submit(fn, *args)

    # ---- sync ------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        last = self.sync.last_success if self.sync is not None else None
        report = self.core.health(last, self.version)
        report["sync_state"] = self.sync_state
        report[CLOCK_OFFSET_FIELD] = clock_offset_seconds(self.journal)
        return report

    @property
    def sync_state(self) -> str:
        """ "never", "online", "offline", "auth_error" or "error" (tickets.sync.SyncState)."""
        return str(self.sync.state) if self.sync is not None else "never"

    def start_sync(
        self,
        on_events: Callable[[list[Any]], None] | None = None,
        on_state: Callable[[str], None] | None = None,
        on_config: Callable[[SiteConfig], None] | None = None,
    ) -> bool:
        """Starts the sync worker thread; False when the kiosk runs standalone (no server)."""
        link = self.settings.server
        if link.url is None:
            log.info("no server configured: standalone kiosk, numbers from the offline range")
            return False
        from tickets.sync import SyncClient, SyncWorker, push_channel

        def events_arrived(events: list[Any]) -> None:
            self.core.apply_events(events)
            if on_events is not None:
                on_events(events)

        def config_arrived(site_json: dict[str, Any], _version: str) -> None:
            try:
                site = SiteConfig.model_validate(site_json)
            except ValueError as exc:
                log.error("site configuration from the server refused: %s", exc)
                return
            self.core.set_site(site)
            if on_config is not None:
                on_config(site)

        client = SyncClient(
            str(link.url), link.token, self.settings.device_id, timeout=link.timeout_seconds
        )
        self.sync = SyncWorker(
            self.journal,
            client,
            interval=link.sync_interval_seconds,
            poll_interval=link.poll_interval_seconds,
            services_for_leases=lambda: [s.id for s in self.core.site.services],
            block=self.core.site.lease_block,
            health=self.health,
            on_events=events_arrived,
            on_state=on_state,
            on_config=config_arrived,
            today=self.core.today,
            max_backoff=link.max_backoff_seconds,
        )
        self.sync.start()

        def pushed(events: list[Any]) -> None:
            fresh = self.journal.store_remote(events)
            if fresh:
                events_arrived(fresh)

        self.stream = push_channel(
            self.sync,
            self.settings.site,
            on_events=pushed,
            reconnect=link.stream_reconnect_seconds,
            max_reconnect=link.stream_reconnect_max_seconds,
        )
        self.stream.start()
        self.start_peers(client, events_arrived)
        return True

    def start_peers(
        self, client: SyncClient, on_events: Callable[[list[Any]], None] | None = None
    ) -> bool:
        """Starts exchanging events with the site's other devices on the LAN, when the
        settings have a [peers] table: boards learn the tickets printed while the server is
        unreachable. ``client`` (a SyncClient) fetches the site's peer keys."""
        p = self.settings.peers
        if p.listen is None and not p.urls:
            return False
        from tickets.peer import PeerSync, fetch_peer_keys

        def arrived(events: list[Any]) -> None:
            if on_events is not None:
                on_events(events)
            else:
                self.core.apply_events(events)

        self.peers = PeerSync(
            self.journal,
            token=self.settings.server.token,
            listen=p.listen_address,
            peers=[str(u) for u in p.urls],
            interval=p.interval_seconds,
            timeout=p.timeout_seconds,
            keys_source=lambda: fetch_peer_keys(client, self.settings.site),
            keys_interval=p.keys_interval_seconds,
            max_backoff=p.max_backoff_seconds,
            on_events=arrived,
        )
        self.peers.start()
        return True

    def wake_sync(self) -> None:
        """Pushes a new ticket to the server (and the LAN peers) now rather than at the next
        interval."""
        if self.sync is not None:
            self.sync.wake()
        if self.peers is not None:
            self.peers.wake()

    # ---- appointments: the day's list, check-in ------------------------------------------
    def check_in(self, code: str) -> CheckInResult:
        """Checks an appointment in by its short code (I/O worker thread)."""
        return check_in(self.core, self.appointments, code)

    def book_and_print(self, service: str, start: float, lang: str) -> tuple[Booked, PrinterStatus]:
        """Books ``start`` on the server, then prints its slip (I/O worker thread); raises
        ``kiosk.booking.BookingUnavailable`` when the server cannot book it."""
        booked = self.booking.book(service, start, lang)
        return booked, self.core.print_slip(booked, lang)

    def look_elsewhere(self, service: str) -> Future[list[OtherSite]]:
        """The other sites offering ``service``, asked on the elsewhere thread (raises
        ``kiosk.elsewhere.ElsewhereUnavailable`` through the future)."""
        with self._elsewhere_lock:
            asked = self._elsewhere_asked.get(service)
            if asked is None or asked.done():  # one question at a time per service
                asked = self._elsewhere_io.submit(self.elsewhere.other_sites, service)
                self._elsewhere_asked[service] = asked
            return asked

    def refresh_appointments(self) -> int | None:
        """Takes today's appointments from the server; None when it could not (the list held
        stays)."""
        link = self.settings.server
        if link.url is None or not link.token:
            return None
        try:
            return self.appointments.fetch(
                self._http,
                str(link.url),
                self.settings.site,
                link.token,
                self.core.today(),
                link.timeout_seconds,
            )
        except DayBookError as exc:
            log.info("%s; check-in uses the list held", exc)
            return None

    def start_appointments(self, on_result: Callable[[CheckInResult], None] | None = None) -> None:
        """Refreshes the day's appointments every ``appointments_refresh_seconds`` and, with a
        ``scanner_port``, checks scanned codes in (results to ``on_result``)."""

        def scanned(code: str) -> None:
            future = self.submit(self.check_in, code)
            if on_result is not None:
                future.add_done_callback(lambda f: on_result(f.result()))

        if self.settings.scanner_port:
            self._scanner = SerialScanner(self.settings.scanner_port, scanned).start()

        def refresh() -> None:
            while not self._stop_refresh.is_set():
                self.refresh_appointments()
                self._stop_refresh.wait(self.settings.appointments_refresh_seconds)

        if self.settings.server.url is not None:
            self._refresher = threading.Thread(
                target=refresh, name="kiosk-appointments", daemon=True
            )
            self._refresher.start()

    def close(self) -> None:
        self._stop_refresh.set()
        if self._scanner is not None:
            self._scanner.stop()
        if self._refresher is not None:
            self._refresher.join(timeout=10)
        self._elsewhere_io.shutdown(wait=True)
        self._elsewhere_http.close()
        self._http.close()
        if self.peers is not None:
            self.peers.stop()
        if self.stream is not None:
            self.stream.stop()
        if self.sync is not None:
            self.sync.stop()
        self.io.shutdown(wait=True)
        try:
            self.printer.close()
        finally:
            self.journal.close()
