"""Warnings that a device can trigger at any rate (a box sending noise, a box configured for a
counter the site lacks), logged at a bounded rate: the first, then at most one every
``period`` seconds saying how many were left out."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable


class RateLimitedLog:
    def __init__(
        self,
        logger: logging.Logger,
        period: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger
        self._period = period
        self._clock = clock
        self._last = -period
        self._skipped = 0
        self._lock = threading.Lock()

    def warning(self, message: str, *args: object) -> bool:
        """Logs ``message % args`` unless one was logged less than ``period`` ago; True when
        it was logged."""
        now = self._clock()
        with self._lock:
            if now - self._last < self._period:
                self._skipped += 1
                return False
            skipped, self._skipped, self._last = self._skipped, 0, now
        more = f" ({skipped} more since the last such message)" if skipped else ""
        self._log.warning(message + "%s", *args, more)
        return True
