"""Idle syncs answered from memory (PostgreSQL): "nothing new" without a query or a thread.

Most syncs of a fleet carry nothing (a safety sync: no events, no lease request, no health)
and find nothing: the device's cursor is its site's last seq, its configuration current.
``QuietSyncs`` answers those on the event loop from what the process knows:

- the devices it has seen sync (by token digest: site, id, configuration version at the time,
  when its ``last_seen`` was last stored), learned from syncs answered the usual way;
- each site's last seq and configuration version, learned the same way and kept current by the
  database's notifications (``server.notify``): every stored event announces the site's new
  last seq, every configuration change and device token change is announced too.

Before answering from memory, the request waits for a notification barrier
(``PgNotifier.barrier``): every notification committed before the request arrived has then
been heard, so memory is as current as the query it replaces (an event stored by another
worker a moment before is sent, not missed; a token revoked is refused). Whatever is not known
for certain goes the usual way: a device or site not in memory, a cursor or version that is not
the one held, notifications not heard (the listening connection down or reconnecting: memory is
then forgotten), any upload, lease request or health report. A device's ``last_seen`` is still
refreshed every ``LAST_SEEN_EVERY_SECONDS``, by the presence batch (``server.presence``): one
statement a second for all such devices of the process.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from server.auth import token_hash
from server.models import SyncRequest
from server.notify import PgNotifier
from server.presence import StreamPresence

LAST_SEEN_EVERY_SECONDS = 30.0
"""As ``server.sync.LAST_SEEN_EVERY_SECONDS`` (kept equal by a test)."""
MAX_DEVICES = 200_000
"""Devices held in memory at most (a département's fleet is a few thousand); over it, memory
is forgotten and learned again."""


@dataclass
class _Device:
    site: str
    name: str
    version: str
    """The site's configuration version when the device was learned: a device revoked or
    re-declared changes it."""
    seen: float
    """When its ``last_seen`` was last stored, as far as this process knows (seconds)."""


class QuietSyncs:
    """What one server process knows to answer idle syncs (see the module)."""

    def __init__(self, notifier: PgNotifier, presence: StreamPresence) -> None:
        self.notifier = notifier
        self.presence = presence
        self.answered = 0
        """Syncs answered from memory so far."""
        self._guard = threading.Lock()
        self._generation = 0
        self._devices: dict[str, _Device] = {}
        self._versions: dict[str, str] = {}
        self._seqs: dict[str, int] = {}

    # ---- learned from syncs answered the usual way (sync threads) ---------------------------
    def generation(self) -> int:
        """Read before a sync reads the database; given back to ``learned``."""
        return self._generation

    def learned(
        self,
        generation: int,
        token: str,
        site: str,
        device: str,
        version: str,
        seq: int,
        seen: float | None,
    ) -> None:
        """What a sync read (its device by ``token``; its site's configuration ``version`` and
        last ``seq``), unless memory was forgotten since ``generation`` (what was read may
        be older than what forgot it)."""
        digest = token_hash(token)
        with self._guard:
            if generation != self._generation:
                return
            if len(self._devices) >= MAX_DEVICES and digest not in self._devices:
                self._forget_all()
                return
            self._devices[digest] = _Device(site, device, version, seen or 0.0)
            self._versions[site] = version
            self._seqs[site] = max(seq, self._seqs.get(site, 0))

    # ---- told by the notifier (its listening thread) ----------------------------------------
    def heard(self, site: str, seq: int, downward: bool) -> None:
        with self._guard:
            if downward:
                self._forget(site)
                self._seqs[site] = seq
            else:
                self._seqs[site] = max(seq, self._seqs.get(site, 0))

    def changed(self, site: str) -> None:
        with self._guard:
            self._forget(site)

    def reset(self) -> None:
        with self._guard:
            self._forget_all()

    def _forget(self, site: str) -> None:
        self._generation += 1
        self._versions.pop(site, None)
        for digest in [k for k, d in self._devices.items() if d.site == site]:
            del self._devices[digest]

    def _forget_all(self) -> None:
        self._generation += 1
        self._devices.clear()
        self._versions.clear()
        self._seqs.clear()

    # ---- the event loop ---------------------------------------------------------------------
    async def answer(
        self, authorization: str | None, req: SyncRequest, now: float, hlc: Any
    ) -> dict[str, Any] | None:
        """The answer to an idle sync from memory, or None: answer it the usual way.
        ``hlc``: called for the server's clock reading, encoded."""
        if req.events or req.lease_requests or req.health is not None:
            return None
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return None
        digest = token_hash(value.strip())
        if digest not in self._devices or not await self.notifier.barrier():
            return None
        with self._guard:
            device = self._devices.get(digest)
            if device is None or device.name != req.device:
                return None
            version = self._versions.get(device.site)
            seq = self._seqs.get(device.site)
            if version != device.version or version != req.config_version or seq != req.cursor:
                return None
            stale = now - device.seen >= LAST_SEEN_EVERY_SECONDS
            if stale:
                device.seen = now
            self.answered += 1
        if stale:
            self.presence.seen(device.site, device.name)
        return {
            "acks": [],
            "events": [],
            "cursor": seq,
            "more": False,
            "leases": [],
            "config_version": version,
            "config": None,
            "server_time": now,
            "server_hlc": hlc(),
        }
