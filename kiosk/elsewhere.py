"""Where else a service can be done: the other sites of the kiosk's server offering the same
service, with their wait now and their next free appointment slot, for the long-wait screen.

The server answers ``GET /api/v1/public/sites/{site}/services/{service}/elsewhere`` (public,
small, cacheable); the kiosk keeps each answer for the time the server's ``Cache-Control``
allows (``MAX_AGE_SECONDS`` at most), so people choosing the same busy service one after the
other cost one request. Asked on its own thread (``KioskRuntime.look_elsewhere``), never on the
UI thread nor on the I/O worker that prints tickets.

Exceptions: ``ElsewhereUnavailable`` (no server configured, it did not answer, refused, or sent
something unreadable: the screen shows no "elsewhere" section).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from config.kiosk import KioskSettings
from kiosk.booking import ask_server

log = logging.getLogger(__name__)

SITES_SHOWN = 3
"""At most this many other sites on the long-wait screen."""
MAX_AGE_SECONDS = 30.0
"""Longest an answer is kept, whatever the server allows (the wait there moves)."""
_MAX_AGE = re.compile(r"max-age=(\d+)")


class ElsewhereUnavailable(Exception):
    """The server is not configured, did not answer, refused, or answered nonsense."""


@dataclass(frozen=True, slots=True)
class OtherSite:
    """One other site offering the service."""

    site: str
    name: str
    open_now: bool
    waiting: int
    wait_seconds: float | None
    """Estimated wait there now for a new ticket; None when the service is closed there."""
    next_slot: float | None
    """Its first free appointment slot there (epoch seconds); None when none."""
    books: bool
    """The service takes appointments there (``next_slot`` None then means none is free)."""


def _site(raw: dict[str, Any]) -> OtherSite:
    wait = raw["estimated_wait_seconds"]
    slot = raw["next_slot"]
    return OtherSite(
        site=str(raw["site"]),
        name=str(raw["name"]),
        open_now=bool(raw["open_now"]),
        waiting=int(raw["waiting"]),
        wait_seconds=float(wait) if wait is not None else None,
        next_slot=float(slot) if slot is not None else None,
        books=raw.get("booking_path") is not None,
    )


class ElsewhereClient:
    """The server's "same service elsewhere" answer for one kiosk's site, with a short cache.

    Thread-safe: the cache is read from the UI thread (``cached``) and filled from the thread
    that fetches."""

    def __init__(
        self,
        settings: KioskSettings,
        session: requests.Session,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.session = session
        self.clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, list[OtherSite]]] = {}
        """service id -> (monotonic time the answer expires, the sites)."""

    @property
    def configured(self) -> bool:
        return self.settings.server.url is not None

    def cached(self, service: str) -> list[OtherSite] | None:
        """The answer kept for ``service`` if still fresh, else None."""
        with self._lock:
            kept = self._cache.get(service)
            if kept is None or kept[0] <= self.clock():
                return None
            return kept[1]

    def other_sites(self, service: str) -> list[OtherSite]:
        """The other sites offering ``service`` (up to ``SITES_SHOWN``), from the cache or the
        server; raises ``ElsewhereUnavailable``."""
        kept = self.cached(service)
        if kept is not None:
            return kept
        path = f"/api/v1/public/sites/{self.settings.site}/services/{service}/elsewhere"
        r = ask_server(self.settings, self.session, "GET", path, ElsewhereUnavailable)
        if r.status_code != 200:
            raise ElsewhereUnavailable(f"elsewhere refused: {r.status_code}")
        try:
            sites = [_site(s) for s in r.json()["sites"]][:SITES_SHOWN]
        except (ValueError, KeyError, TypeError) as exc:
            raise ElsewhereUnavailable(f"unreadable answer ({exc})") from None
        found = _MAX_AGE.search(r.headers.get("Cache-Control", ""))
        keep = min(MAX_AGE_SECONDS, float(found.group(1))) if found else MAX_AGE_SECONDS
        with self._lock:
            self._cache[service] = (self.clock() + keep, sites)
        return sites
