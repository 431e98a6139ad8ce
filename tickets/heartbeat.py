"""The health report a kiosk or a board sends with each sync (the server shows it to IT).

Common fields, then what the role adds (printer paper, button boxes, ...)::

    {"role": "kiosk", "version": "0.1.0", "uptime_seconds": 3600.0,
     "backlog": 0, "quarantined": 0, "last_sync": 1732380000.0,
     "last_sync_age_seconds": 2.0, "wall_time": 1732380002.0, ...role fields}

``last_sync`` and its age are None before the first successful sync ("unknown", not "never
failed"). Values are plain JSON; keep role fields small (the server takes at most 8 KB).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from tickets.journal import Journal


def guichet_version() -> str:
    """The installed Guichet version, "unknown" when running from a bare source tree."""
    try:
        return version("guichet")
    except PackageNotFoundError:
        return "unknown"


class Heartbeat:
    def __init__(
        self,
        role: str,
        journal: Journal,
        *,
        version: str | None = None,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.role = role
        self.journal = journal
        self.version = version if version is not None else guichet_version()
        self._wall = wall
        self._monotonic = monotonic
        self._started = monotonic()

    def report(self, last_sync: float | None, **fields: Any) -> dict[str, Any]:
        """The health dict: common fields, then ``fields`` (which may override none of them)."""
        now = self._wall()
        report: dict[str, Any] = {
            "role": self.role,
            "version": self.version,
            "uptime_seconds": round(self._monotonic() - self._started, 1),
            "backlog": self.journal.backlog(),
            "quarantined": len(self.journal.quarantined()),
            "last_sync": last_sync,
            "last_sync_age_seconds": None if last_sync is None else round(now - last_sync, 1),
            "wall_time": now,
        }
        clash = report.keys() & fields.keys()
        if clash:
            raise ValueError(f"health fields {sorted(clash)} are reserved")
        report.update(fields)
        return report
