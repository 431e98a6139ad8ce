"""Hybrid logical clock.

A Raspberry Pi has no real-time clock: after a power cut without network its wall clock can be
hours or days off. Events are therefore ordered by a hybrid logical clock (Kulkarni et al., 2014):
the physical part follows the highest wall time seen (ours or any received), the logical part
breaks ties, the device id makes the order total.

The encoded form is a fixed-width string whose lexical order is the clock order, so it can be
stored and sorted as text in SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

_PHYS_DIGITS = 15  # milliseconds since the epoch, good until year 33658
_LOGICAL_DIGITS = 6
_LOGICAL_MAX = 10**_LOGICAL_DIGITS - 1


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
        self, node: str, wall: Callable[[], float] = time.time, last: Timestamp | None = None
    ) -> None:
        if not node or any(c.isspace() for c in node):
            raise ValueError(f"bad clock node name: {node!r}")
        self.node = node
        self._wall = wall
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

    def receive(self, remote: Timestamp) -> None:
        """Moves the clock past a timestamp seen in a received event."""
        with self._lock:
            wall = int(self._wall() * 1000)
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
