"""The health report a kiosk or a board sends with each sync (the server shows it to IT).

Common fields, then what the role adds (printer paper, button boxes, ...)::

    {"role": "kiosk", "version": "0.1.0", "uptime_seconds": 3600.0,
     "backlog": 0, "quarantined": 0, "last_sync": 1732380000.0,
     "last_sync_age_seconds": 2.0, "wall_time": 1732380002.0,
     "clock_offset_seconds": -3720.0, ...role fields}

``last_sync`` and its age are None before the first successful sync ("unknown", not "never
failed"). Values are plain JSON; keep role fields small (the server takes at most 8 KB).

``clock_offset_seconds`` is the server's time minus this machine's wall clock, as measured at
the last sync that measured it (``Journal.measured_clock_offset``): positive when the machine's
clock is behind, negative when it is ahead, 0 for a right clock (within a second), None when no
sync has measured it yet. Kiosks and boards send it; the fleet page warns beyond
``CLOCK_OK_SECONDS`` and ``guichet doctor`` reads the same offset from the journal.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Protocol

from tickets.journal import Journal

CLOCK_OFFSET_FIELD = "clock_offset_seconds"
"""The health field carrying the device's clock offset (seconds; None: not measured yet)."""
CLOCK_OK_SECONDS = 60.0
"""A device clock this close to the server's (seconds, either way) counts as right: staff are
warned beyond it (fleet page, ``guichet doctor``)."""


class MeasuredClock(Protocol):
    """What the health report needs of a journal (``tickets.journal.Journal`` has it)."""

    def measured_clock_offset(self) -> float | None: ...


def clock_offset_seconds(journal: MeasuredClock) -> float | None:
    """The health report's clock offset: the journal's, to the tenth of a second."""
    offset = journal.measured_clock_offset()
    return None if offset is None else round(offset, 1)


def clock_amount(seconds: float, day: str = "d") -> str:
    """How far a clock is off, in plain words and either way: "45 s", "12 min", "1 h 02 min",
    "3 d 4 h" (``day`` is the day's unit: "j" in French)."""
    s = round(abs(seconds))
    if s < 60:
        return f"{s} s"
    minutes = s // 60
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} h {minutes % 60:02d} min"
    return f"{hours // 24} {day} {hours % 24} h"


def clock_right(offset: float) -> bool:
    """Whether a clock this far from the server's (seconds) counts as right."""
    return abs(offset) <= CLOCK_OK_SECONDS


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
            CLOCK_OFFSET_FIELD: clock_offset_seconds(self.journal),
        }
        clash = report.keys() & fields.keys()
        if clash:
            raise ValueError(f"health fields {sorted(clash)} are reserved")
        report.update(fields)
        return report
