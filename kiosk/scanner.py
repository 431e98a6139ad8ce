"""2D barcode scanners in serial mode: one scanned code per line on a serial port.

A scanned line holds an appointment's short code, alone (``K7QM-3XHP``) or inside the link of
the confirmation (``https://…/a/…?code=K7QM3XHP``); ``code_of`` finds it. A line that holds no
code is logged and ignored. Scanners in keyboard mode type the same text into the kiosk's
code field instead.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable

import serial

log = logging.getLogger(__name__)

_CODE = re.compile(r"(?:code=)?\b([A-Za-z0-9]{4})-?([A-Za-z0-9]{4})\b")
MAX_LINE = 512


def code_of(line: str) -> str | None:
    """The short code a scanned line holds (normalised, ``K7QM3XHP``), or None."""
    text = line.strip()[:MAX_LINE]
    marked = re.search(r"code=([A-Za-z0-9-]{8,9})", text)
    if marked:
        return marked.group(1).replace("-", "").upper()
    found = _CODE.fullmatch(text)
    return (found.group(1) + found.group(2)).upper() if found else None


class SerialScanner:
    """Reads lines from ``port`` in a thread and hands each code to ``on_code``."""

    def __init__(self, port: str, on_code: Callable[[str], None], baudrate: int = 9600) -> None:
        self.port = port
        self.on_code = on_code
        self.baudrate = baudrate
        self._stop = threading.Event()
        self._port: serial.Serial | None = None
        self._thread = threading.Thread(target=self._run, name="kiosk-scanner", daemon=True)

    def start(self) -> SerialScanner:
        """Opens the port (here, so that nothing scanned from now on is lost: opening it
        empties its input) and reads it in a thread; a port that cannot be opened is logged
        and the kiosk goes on without its scanner."""
        try:
            self._port = serial.Serial(self.port, self.baudrate, timeout=0.5)
        except serial.SerialException as exc:
            log.error("scanner port %s cannot be opened: %s", self.port, exc)
            return self
        self._thread.start()
        return self

    def _run(self) -> None:
        line_port = self._port
        assert line_port is not None
        with line_port:
            pending = b""
            while not self._stop.is_set():
                try:
                    chunk = line_port.read(256)
                except serial.SerialException as exc:
                    log.error("scanner port %s failed: %s", self.port, exc)
                    return
                pending += chunk
                while b"\n" in pending or b"\r" in pending:
                    cut = min(i for i in (pending.find(b"\n"), pending.find(b"\r")) if i >= 0)
                    raw, pending = pending[:cut], pending[cut + 1 :]
                    self._line(raw)
                pending = pending[-MAX_LINE:]

    def _line(self, raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace").strip()
        if not text:
            return
        code = code_of(text)
        if code is None:
            log.warning(
                "scanned line without an appointment code ignored (%d characters)", len(text)
            )
            return
        try:
            self.on_code(code)
        except Exception:  # a failing check-in never stops the scanner
            log.exception("check-in of a scanned code failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
