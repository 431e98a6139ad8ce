"""What one server process holds: settings, database engine, clock and in-memory caches.

Built by ``server.app.create_app`` and reached from requests as ``request.app.state.ctx``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from config.server import ServerSettings
from server.notify import LocalNotifier, Notifier
from server.sites import SiteRegistry
from server.states import QueueStates
from tickets.hlc import MAX_DRIFT_SECONDS, HybridClock

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
    notifier: Notifier = field(default_factory=LocalNotifier)
    schema_version: int = 0
    keepalive_seconds: float = 15.0
    """Idle time after which an SSE stream sends a comment line (seconds)."""
    wall: Callable[[], float] = time.time
    """The server's wall clock (seconds since the epoch); the site simulator runs the server
    on simulated time by setting it (with ``clock``)."""

    def now(self) -> float:
        return self.wall()
