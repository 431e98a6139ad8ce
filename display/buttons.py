"""Counter call buttons on serial ports, read in threads (protocol: display/protocol.py).

One :class:`ButtonReader` per port reads lines and hands each parsed press on; it owns the port
for its whole life: when the port vanishes (USB box unplugged, cable pulled) the reader closes
it, reports ``disconnected`` and tries to open it again with backoff until it comes back.
Nothing a box sends can stop a reader: bad lines are logged (rate-limited) and dropped.

:class:`ButtonBoxes` runs the readers of all configured ports, answers PING and bad lines, and
writes the called ticket back to the box the counter's presses come from.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from enum import StrEnum

import serial

from display.protocol import (
    PONG,
    BadLine,
    Echo,
    LineSplitter,
    Parsed,
    Ping,
    Press,
    Reason,
    error_line,
    parse_line,
)
from display.ratelog import RateLimitedLog

log = logging.getLogger(__name__)


class LinkState(StrEnum):
    NOT_CONFIGURED = "not configured"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"

    def label(self, lang: str = "en") -> str:
        fr = {
            LinkState.NOT_CONFIGURED: "pas de boîtier d'appel",
            LinkState.CONNECTING: "connexion au boîtier d'appel",
            LinkState.CONNECTED: "boîtier d'appel connecté",
            LinkState.DISCONNECTED: "boîtier d'appel déconnecté",
        }
        en = {
            LinkState.NOT_CONFIGURED: "no button box",
            LinkState.CONNECTING: "connecting to the button box",
            LinkState.CONNECTED: "button box connected",
            LinkState.DISCONNECTED: "button box disconnected",
        }
        return (fr if lang == "fr" else en)[self]


OUTBOX_LINES = 64
"""Answers waiting to be written to one box; past that (a box that does not read) the oldest
are dropped: answers never hold up the reading of presses."""
WRITE_TIMEOUT_SECONDS = 0.5
"""How long one answer may wait for the box to take it (its writer thread waits, not the
reader)."""


class ButtonReader:
    """Reads one serial port in a daemon thread and reopens it when it vanishes."""

    def __init__(
        self,
        port: str,
        on_line: Callable[[ButtonReader, Parsed], None],
        *,
        baudrate: int = 9600,
        on_state: Callable[[ButtonReader, LinkState], None] | None = None,
        retry_min: float = 0.5,
        retry_max: float = 10.0,
    ) -> None:
        self.port = port
        self._on_line = on_line
        self._on_state = on_state
        self._baudrate = baudrate
        self._retry_min = retry_min
        self._retry_max = retry_max
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._serial: serial.Serial | None = None
        self._thread: threading.Thread | None = None
        self._bad = RateLimitedLog(log)
        self._write_failed = RateLimitedLog(log)
        self._outbox: queue.Queue[str] = queue.Queue(maxsize=OUTBOX_LINES)
        self._writer: threading.Thread | None = None
        self.state = LinkState.CONNECTING
        self.lines = 0
        """Lines received since start (good or bad), for health and tests."""
        self.dropped = 0
        """Lines dropped as malformed since start."""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"buttons:{self.port}", daemon=True)
        self._thread.start()
        self._writer = threading.Thread(
            target=self._write_loop, name=f"buttons-out:{self.port}", daemon=True
        )
        self._writer.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        with contextlib.suppress(queue.Full):
            self._outbox.put_nowait("")  # wakes the writer
        with self._lock:
            if self._serial is not None:
                with contextlib.suppress(OSError, serial.SerialException):
                    self._serial.cancel_read()
        for thread in (self._thread, self._writer):
            if thread is not None:
                thread.join(timeout)

    def write(self, text: str) -> bool:
        """Queues one answer line for the box, never waiting; False when the port is not
        open. The writer thread sends it (``WRITE_TIMEOUT_SECONDS`` at most per line)."""
        if self._serial is None:
            return False
        while True:
            try:
                self._outbox.put_nowait(text)
                return True
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self._outbox.get_nowait()  # the oldest answer is the least useful
                self._write_failed.warning(
                    "button box %s: not reading its answers; older answers dropped", self.port
                )

    def _write_loop(self) -> None:
        while not self._stop.is_set():
            text = self._outbox.get()
            # Under the lock: the reader closes a lost port under it too, never mid-write.
            with self._lock:
                port = self._serial
                if not text or port is None:
                    continue
                try:
                    port.write(text.encode("ascii", "replace"))
                except (OSError, serial.SerialException) as exc:
                    self._write_failed.warning("button box %s: write failed: %s", self.port, exc)

    # ---- the thread ---------------------------------------------------------------------
    def _set_state(self, state: LinkState) -> None:
        if state is self.state:
            return
        self.state = state
        if state is LinkState.CONNECTED:
            log.info("button box %s connected", self.port)
        else:
            log.warning("button box %s: %s", self.port, state.value)
        if self._on_state is not None:
            try:
                self._on_state(self, state)
            except Exception:
                log.exception("button box state callback failed")

    def _run(self) -> None:
        delay = self._retry_min
        while not self._stop.is_set():
            try:
                port = serial.Serial(
                    self.port,
                    self._baudrate,
                    timeout=1.0,
                    write_timeout=WRITE_TIMEOUT_SECONDS,
                    exclusive=True,
                )
            except (OSError, ValueError, serial.SerialException) as exc:
                if self.state is not LinkState.DISCONNECTED:
                    log.info("button box %s cannot be opened: %s", self.port, exc)
                self._set_state(LinkState.DISCONNECTED)
                self._stop.wait(delay)
                delay = min(delay * 2, self._retry_max)
                continue
            delay = self._retry_min
            with self._lock:
                self._serial = port
            self._set_state(LinkState.CONNECTED)
            try:
                self._read(port)
            except (OSError, serial.SerialException) as exc:
                if not self._stop.is_set():
                    log.warning("button box %s lost: %s", self.port, exc)
            finally:
                with self._lock:
                    self._serial = None
                with contextlib.suppress(OSError, serial.SerialException):
                    port.close()
            if not self._stop.is_set():
                self._set_state(LinkState.DISCONNECTED)

    def _read(self, port: serial.Serial) -> None:
        splitter = LineSplitter()
        while not self._stop.is_set():
            data = port.read(max(1, port.in_waiting))
            if not data:
                continue
            for raw in splitter.feed(data):
                self.lines += 1
                parsed = parse_line(raw)
                if isinstance(parsed, BadLine):
                    self.dropped += 1
                    self._bad.warning(
                        "button box %s: dropped line %r: %s", self.port, raw[:40], parsed.reason
                    )
                try:
                    self._on_line(self, parsed)
                except Exception:
                    log.exception("button box %s: handling %r failed", self.port, raw)


class ButtonBoxes:
    """All the board's button boxes: presses go to ``on_press`` with a reply function."""

    def __init__(
        self,
        ports: Sequence[str],
        on_press: Callable[[Press, Callable[[str], object]], None],
        *,
        baudrate: int = 9600,
        on_state: Callable[[LinkState], None] | None = None,
        retry_min: float = 0.5,
        retry_max: float = 10.0,
    ) -> None:
        self._on_press = on_press
        self._on_state = on_state
        self._routes: dict[str, ButtonReader] = {}
        self.readers = [
            ButtonReader(
                p,
                self._line,
                baudrate=baudrate,
                on_state=self._state_changed,
                retry_min=retry_min,
                retry_max=retry_max,
            )
            for p in ports
        ]

    @property
    def state(self) -> LinkState:
        """Connected only when every box is; disconnected when any is."""
        if not self.readers:
            return LinkState.NOT_CONFIGURED
        states = {r.state for r in self.readers}
        for worst in (LinkState.DISCONNECTED, LinkState.CONNECTING):
            if worst in states:
                return worst
        return LinkState.CONNECTED

    def start(self) -> None:
        for r in self.readers:
            r.start()

    def stop(self) -> None:
        for r in self.readers:
            r.stop()

    def send(self, counter: str, line: str) -> None:
        """Writes a line for ``counter`` to its box (all boxes while its box is not known)."""
        reader = self._routes.get(counter)
        targets = [reader] if reader is not None else self.readers
        for r in targets:
            r.write(line)

    def _state_changed(self, reader: ButtonReader, state: LinkState) -> None:
        if self._on_state is not None:
            self._on_state(self.state)

    def _line(self, reader: ButtonReader, parsed: Parsed) -> None:
        if isinstance(parsed, Ping):
            reader.write(PONG)
        elif isinstance(parsed, BadLine):
            if parsed.counter is not None:
                reader.write(error_line(parsed.counter, Reason.BAD_LINE))
        elif isinstance(parsed, Echo):
            return
        else:
            self._routes[parsed.counter] = reader
            self._on_press(parsed, reader.write)
