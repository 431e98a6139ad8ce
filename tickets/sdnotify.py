"""systemd service notification (sd_notify) and the watchdog, for every Guichet process.

The units use ``Type=notify`` and ``WatchdogSec``: a process says READY once it is up, then pings
WATCHDOG from its main loop (for the kiosk and the board, the UI loop), so a frozen UI stops the
pings and systemd restarts the process. Without ``NOTIFY_SOCKET`` (not under systemd) every call
is a no-op.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, address: str | None = None, watchdog_usec: int | None = None) -> None:
        self._address = address
        self._watchdog_usec = watchdog_usec
        self._sock: socket.socket | None = None

    @classmethod
    def from_env(cls) -> Notifier:
        """Reads NOTIFY_SOCKET and WATCHDOG_USEC (ignoring WATCHDOG_PID meant for another)."""
        address = os.environ.get("NOTIFY_SOCKET") or None
        usec: int | None = None
        raw = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        if raw and raw.isdigit() and (not pid or pid == str(os.getpid())):
            usec = int(raw)
        return cls(address, usec)

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def watchdog_interval(self) -> float | None:
        """Seconds between two pings: half the unit's WatchdogSec, or None without a watchdog."""
        return self._watchdog_usec / 2_000_000 if self._watchdog_usec else None

    def notify(self, message: str) -> bool:
        if self._address is None:
            return False
        address = self._address
        if address.startswith("@"):
            address = "\0" + address[1:]  # abstract socket namespace
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            # Never wait: the manager's queue is short (net.unix.max_dgram_qlen) and a blocked
            # send would freeze the loop that pings, the kiosk's and board's UI among them. A
            # message that does not fit is lost, as a ping from a frozen loop would be.
            self._sock.sendto(message.encode(), socket.MSG_DONTWAIT, address)
            return True
        except OSError as exc:
            log.warning("sd_notify to %s failed: %s", self._address, exc)
            return False

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
