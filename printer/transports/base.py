"""What every transport offers the printer: open, write, ask one real-time status question.

Exceptions: each transport raises only :class:`LinkError`, which carries the
:class:`~printer.status.PrinterStatus` to show (the device named, the fix suggested). Driver
exceptions (pyserial, pyusb, sockets, python-escpos) are translated where they happen.
"""

from __future__ import annotations

import time
from typing import Protocol

from printer.status import PrinterState, PrinterStatus


class LinkError(Exception):
    """The device cannot be reached or stopped accepting data."""

    def __init__(self, status: PrinterStatus) -> None:
        super().__init__(status.detail)
        self.status = status


def offline(device: str, what: str, fix: str, error_id: str) -> LinkError:
    text = f"{device}: {what}." + (f" {fix}" if fix else "")
    return LinkError(PrinterStatus(PrinterState.OFFLINE, text, error_id))


class Link(Protocol):
    device: str
    """Human name of the device, e.g. "USB printer 04b8:0202"."""

    @property
    def can_answer(self) -> bool:
        """False when the transport cannot carry answers back (a plain file)."""
        ...

    def open(self, timeout: float) -> None:
        """Opens the device within ``timeout`` seconds (no-op when already open)."""
        ...

    def write(self, data: bytes, timeout: float) -> None:
        """Sends ``data``; raises LinkError if it is not accepted within ``timeout`` seconds."""
        ...

    def query(self, request: bytes, timeout: float) -> bytes:
        """Discards unread input, sends ``request`` and returns the answer (at least one byte)
        or b"" if nothing came within ``timeout`` seconds."""
        ...

    def close(self) -> None: ...


class Deadline:
    """A point in time (monotonic clock) and how much of it is left."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        return max(0.0, self.at - time.monotonic())
