"""What one server process holds: settings, database engine, clock and in-memory caches.

Built by ``server.app.create_app`` and reached from requests as ``request.app.state.ctx``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from config.server import ServerSettings
from server.appointments.messages import Messenger
from server.batches import SiteBatches
from server.notify import LocalNotifier, Notifier
from server.presence import StreamPresence
from server.quiet import QuietSyncs
from server.ratelimit import Limiters, RateLimits
from server.sites import SiteRegistry
from server.states import QueueStates
from tickets.events import Event
from tickets.hlc import MAX_DRIFT_SECONDS, HybridClock
from tickets.signing import server_site_key, signed

SERVER_NODE = "server"
"""Clock node (and tie-breaker) of the events the server makes itself."""


@dataclass
class ServerContext:
    settings: ServerSettings
    engine: Engine
    clock: HybridClock = field(
        default_factory=lambda: HybridClock(SERVER_NODE, max_ahead=MAX_DRIFT_SECONDS)
    )
    sites: SiteRegistry = field(default_factory=SiteRegistry)
    states: QueueStates = field(default_factory=QueueStates)
    batches: SiteBatches[Any] = field(default_factory=SiteBatches)
    """The counter actions and tickets of each site waiting in this process, decided together
    (``server.actions``)."""
    notifier: Notifier = field(default_factory=LocalNotifier)
    presence: StreamPresence = field(default_factory=StreamPresence)
    """The devices holding a push stream in this process (marked seen every minute)."""
    quiet: QuietSyncs | None = None
    """Idle syncs answered from memory (PostgreSQL only; ``server.quiet``)."""
    limiters: Limiters = field(default_factory=lambda: Limiters.of(RateLimits()))
    """Per-address budgets of public requests and of failed sign-ins."""
    schema_version: int = 0
    keepalive_seconds: float = 30.0
    """Idle time after which an SSE stream sends a comment line (seconds)."""
    messages: Messenger | None = None
    """Sends the appointments' e-mails and text messages (None: none are sent)."""
    wall: Callable[[], float] = time.time
    """The server's wall clock (seconds since the epoch); the site simulator runs the server
    on simulated time by setting it (with ``clock``)."""
    event_secret: str = ""
    """What the server's site keys derive from (set at start-up, ``server.startup``)."""

    def event_key(self, site: str) -> str:
        """The server's key for ``site``'s events: it signs the events it makes with it."""
        if not self.event_secret:
            raise RuntimeError("the server's event secret is not loaded (start-up not run)")
        return server_site_key(self.event_secret, site)

    def sign(self, site: str, events: list[Event]) -> list[Event]:
        """``events`` made by the server, signed with its key for ``site``."""
        key = self.event_key(site)
        return [signed(e, key) for e in events]

    def now(self) -> float:
        return self.wall()
