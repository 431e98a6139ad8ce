"""Hybrid logical clock.

A Raspberry Pi has no real-time clock: after a power cut without network its wall clock can be
hours or days off. Events are therefore ordered by a hybrid logical clock (Kulkarni et al., 2014):
the physical part follows the highest wall time seen (ours or any received), the logical part
breaks ties, the device id makes the order total.

The encoded form is a fixed-width string whose lexical order is the clock order, so it can be
stored and sorted as text in SQLite and PostgreSQL alike.

Bounded drift (the paper's epsilon): a clock built with ``max_ahead`` never follows a received
stamp further than that ahead of its own wall clock (``receive`` answers False and leaves the
clock alone); the receiver re-stamps such an event at receipt (``tickets.timing``) instead of
letting one wrong clock drag everyone's. docs/architecture.md, "Time", states the whole model.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

_PHYS_DIGITS = 15  # milliseconds since the epoch, good until year 33658
_LOGICAL_DIGITS = 6
_LOGICAL_MAX = 10**_LOGICAL_DIGITS - 1

MAX_DRIFT_SECONDS = 60.0
"""How far ahead of a receiver's own time a stamp may be and still be followed (seconds): the
hybrid clock's epsilon. A stamp further ahead is re-stamped at receipt. Devices use this; the
server's is its ``max_clock_skew_seconds`` setting, this by default."""


@dataclass(frozen=True, order=True, slots=True)
class Timestamp:
    """One clock reading: milliseconds, logical counter, node (device id)."""

    millis: int
    logical: int
    node: str

    def encode(self) -> str:
        return f"{self.millis:0{_PHYS_DIGITS}d}-{self.logical:0{_LOGICAL_DIGITS}d}-{self.node}"

    @classmethod
    def decode(cls, text: str) -> Timestamp:
        try:
            millis, logical, node = text.split("-", 2)
            if len(millis) != _PHYS_DIGITS or len(logical) != _LOGICAL_DIGITS or not node:
                raise ValueError
            if not (millis + logical).isascii() or not (millis + logical).isdigit():
                raise ValueError
            return cls(int(millis), int(logical), node)
        except ValueError:
            raise ValueError(f"not a clock value: {text!r}") from None

    @property
    def seconds(self) -> float:
        return self.millis / 1000.0


class HybridClock:
    """Thread-safe hybrid logical clock for one node.

    ``wall`` returns the wall time in seconds; it is injectable so tests can skew a device's clock.
    """

    def __init__(
        self,
        node: str,
        wall: Callable[[], float] = time.time,
        last: Timestamp | None = None,
        max_ahead: float | None = None,
    ) -> None:
        if not node or any(c.isspace() for c in node):
            raise ValueError(f"bad clock node name: {node!r}")
        self.node = node
        self._wall = wall
        self.max_ahead = max_ahead
        """Seconds: received stamps further ahead of the wall clock are not followed (None:
        no bound, the plain hybrid clock)."""
        self._lock = threading.Lock()
        self._millis = last.millis if last else 0
        self._logical = last.logical if last else 0

    def now(self) -> Timestamp:
        """A new timestamp, greater than every one this clock produced or received."""
        with self._lock:
            wall = int(self._wall() * 1000)
            if wall > self._millis:
                self._millis, self._logical = wall, 0
            else:
                self._logical += 1
                self._carry()
            return Timestamp(self._millis, self._logical, self.node)

    def within_bound(self, remote: Timestamp) -> bool:
        """Whether this clock would follow ``remote`` (not further ahead than ``max_ahead``)."""
        if self.max_ahead is None:
            return True
        return remote.millis <= int((self._wall() + self.max_ahead) * 1000)

    def receive(self, remote: Timestamp, *, trusted: bool = False) -> bool:
        """Moves the clock past a timestamp seen in a received event; True when it did.

        A stamp further ahead of the wall clock than ``max_ahead`` is not followed (False),
        unless ``trusted`` (stamps the server stored: the server bounds them by its own clock).
        """
        with self._lock:
            wall = int(self._wall() * 1000)
            if (
                not trusted
                and self.max_ahead is not None
                and remote.millis > wall + int(self.max_ahead * 1000)
            ):
                return False
            top = max(wall, self._millis, remote.millis)
            if top == self._millis == remote.millis:
                self._logical = max(self._logical, remote.logical) + 1
            elif top == self._millis:
                self._logical += 1
            elif top == remote.millis:
                self._logical = remote.logical + 1
            else:
                self._logical = 0
            self._millis = top
            self._carry()
            return True

    def rewind(self, floor: Timestamp | None = None) -> bool:
        """Brings a clock that ran ahead of its (corrected) wall clock by more than
        ``max_ahead`` back to the later of the wall clock and ``floor``; True when it did.

        For a device that stamped with a wall clock found wrong at its next sync: its stamps
        made ahead are not times (the server re-stamps them at receipt), so its next ones need
        not follow them. Without ``max_ahead`` nothing is ever rewound."""
        with self._lock:
            if self.max_ahead is None:
                return False
            wall = int(self._wall() * 1000)
            if self._millis <= wall + int(self.max_ahead * 1000):
                return False
            top = Timestamp(wall, 0, self.node)
            if floor is not None and floor > top:
                top = floor
            self._millis, self._logical = top.millis, top.logical
            return True

    def _carry(self) -> None:
        # The logical part has a fixed width in the encoded form; past it, borrow the next
        # millisecond (still later than everything seen) rather than break the text order.
        if self._logical > _LOGICAL_MAX:
            self._millis += 1
            self._logical = 0

    def wall_seconds(self) -> float:
        return self._wall()

    def latest_seconds(self) -> float:
        """The later of the wall clock and the latest time this clock has seen (seconds).

        After a power cut a board's wall clock may restart in the past; this does not go back
        before the last event it journaled or received, so a day computed from it is not stale.
        """
        with self._lock:
            return max(self._wall(), self._millis / 1000.0)
