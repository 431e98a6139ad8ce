"""A virtual ESC/POS printer that speaks the protocol of a real one.

It listens on TCP (like a network printer on port 9100) and, optionally, on a pseudo-terminal
(like a serial printer); or it is fed in-process by the ``virtual`` transport. It answers
``DLE EOT n`` status requests with the bytes an Epson TM printer sends, decodes the ESC/POS it
receives (:mod:`printer.escpos_decode`, :mod:`printer.print_engine`) and renders every ticket,
up to its cut, to ``NNNN-LABEL.png`` (plus ``NNNN-LABEL.txt``, the text it printed).

``simulate(fault)`` switches on a fault, as the cover switch or the paper sensor would:
``"paper_near_end"`` (still prints), ``"paper_out"``, ``"cover_open"``, ``"error"`` (cutter
jammed), ``"no_answer"`` (no status answers: a hung printer) and ``"garbled"`` (answers that
are no status byte, as through a serial line at the wrong speed). While a fault stops printing,
received tickets are held and come out when it clears, as on a real printer.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import select
import socket
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

from printer.escpos_decode import Command, EscposDecoder
from printer.print_engine import PrintedTicket, PrintEngine
from printer.ticket import paper_for
from printer.ticket_png import render_png

log = logging.getLogger(__name__)

FAULTS = ("paper_near_end", "paper_out", "cover_open", "error", "no_answer", "garbled")

# DLE EOT answers (Epson): bits 1 and 4 always set.
_ONLINE, _OFFLINE = 0x12, 0x1A
_STATUS: dict[str | None, dict[int, int]] = {
    None: {1: _ONLINE, 2: 0x12, 3: 0x12, 4: 0x12},
    "paper_near_end": {1: _ONLINE, 2: 0x12, 3: 0x12, 4: 0x12 | 0x0C},
    "paper_out": {1: _OFFLINE, 2: 0x12 | 0x20, 3: 0x12, 4: 0x12 | 0x0C | 0x60},
    "cover_open": {1: _OFFLINE, 2: 0x12 | 0x04, 3: 0x12, 4: 0x12},
    "error": {1: _OFFLINE, 2: 0x12 | 0x40, 3: 0x12 | 0x08, 4: 0x12},
}


class VirtualPrinter:
    def __init__(
        self,
        out_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        pty: bool = False,
        paper_mm: int = 80,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.host = host
        self.port = port
        self.use_pty = pty
        self.paper_mm = paper_mm
        self.pty_path: str | None = None
        self.tickets: list[Path] = []
        """PNG files rendered so far, in print order."""
        self.printed: list[PrintedTicket] = []
        """The decoded tickets, in print order (same order as ``tickets``)."""
        self.on_ticket: Callable[[Path], None] | None = None
        self.fault: str | None = None
        self._engine = PrintEngine(paper_for(paper_mm).dots)
        self._held: list[Command] = []
        self._decoder = EscposDecoder()
        self._lock = threading.RLock()
        self._printed_cond = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: socket.socket | None = None
        self._pty_fds: tuple[int, int] | None = None
        self._next_number = 0  # found from the files already in out_dir at the first save

    # Running.
    def start(self) -> None:
        """Starts listening on TCP (host, port; port 0 picks a free one) and, if asked, on a
        pseudo-terminal. ``port`` and ``pty_path`` then say where."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._stop.clear()
        server = socket.create_server((self.host, self.port), reuse_port=False)
        server.settimeout(0.2)
        self._server = server
        self.port = server.getsockname()[1]
        self._spawn(self._accept_loop, "virtual-printer-tcp")
        if self.use_pty:
            master, slave = os.openpty()
            tty.setraw(slave)
            self._pty_fds = (master, slave)
            self.pty_path = os.ttyname(slave)
            self._spawn(self._pty_loop, "virtual-printer-pty")

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        self._threads.clear()
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._pty_fds is not None:
            for fd in self._pty_fds:
                os.close(fd)
            self._pty_fds = None

    def __enter__(self) -> VirtualPrinter:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept_loop(self) -> None:
        assert self._server is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._spawn(functools.partial(self._serve_connection, conn), "virtual-printer-conn")

    def _serve_connection(self, conn: socket.socket) -> None:
        decoder = EscposDecoder()
        conn.settimeout(0.2)
        with conn:
            while not self._stop.is_set():
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                reply = self._receive(decoder, data)
                if reply:
                    try:
                        conn.sendall(reply)
                    except OSError:
                        return

    def _pty_loop(self) -> None:
        assert self._pty_fds is not None
        master = self._pty_fds[0]
        decoder = EscposDecoder()
        while not self._stop.is_set():
            if not select.select([master], [], [], 0.2)[0]:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            reply = self._receive(decoder, data)
            if reply:
                os.write(master, reply)

    # Receiving.
    def feed(self, data: bytes) -> bytes:
        """Gives ``data`` to the printer as if it came down the cable; returns its answers."""
        return self._receive(self._decoder, data)

    def _receive(self, decoder: EscposDecoder, data: bytes) -> bytes:
        reply = bytearray()
        with self._lock:
            for cmd in decoder.feed(data):
                if cmd.name == "status_request":
                    answer = self.status_byte(cmd.args[0])
                    if answer is not None:
                        reply.append(answer)
                elif self._holding():
                    self._held.append(cmd)
                else:
                    self._apply(cmd)
        return bytes(reply)

    def status_byte(self, n: int) -> int | None:
        """The answer to DLE EOT ``n`` in the current state; None when it does not answer."""
        if self.fault == "no_answer" or n not in (1, 2, 3, 4):
            return None
        if self.fault == "garbled":
            return 0x00
        return _STATUS[self.fault][n]

    def _holding(self) -> bool:
        return self.fault not in (None, "paper_near_end")

    def simulate(self, fault: str | None) -> None:
        """Sets the simulated fault (None clears it; held tickets are then printed)."""
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; choose one of {', '.join(FAULTS)}")
        with self._lock:
            self.fault = fault
            if not self._holding():
                held, self._held = self._held, []
                for cmd in held:
                    self._apply(cmd)

    def _apply(self, cmd: Command) -> None:
        ticket = self._engine.apply(cmd)
        if ticket is not None:
            self._save(ticket)

    def _save(self, ticket: PrintedTicket) -> None:
        label = re.sub(r"[^A-Za-z0-9-]+", "", ticket.headline)[:16] or "ticket"
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if not self._next_number:
            self._next_number = _next_free_number(self.out_dir)
        stem = f"{self._next_number:04d}-{label}"
        self._next_number += 1
        png = self.out_dir / f"{stem}.png"
        render_png(ticket, self.paper_mm).save(png)
        (self.out_dir / f"{stem}.txt").write_text("\n".join(ticket.log) + "\n", encoding="utf-8")
        self.printed.append(ticket)
        self.tickets.append(png)
        self._printed_cond.notify_all()
        log.info("virtual printer: printed %s", png)
        if self.on_ticket is not None:
            self.on_ticket(png)

    def wait_for_tickets(self, n: int, timeout: float) -> list[Path]:
        """Waits until at least ``n`` tickets are printed; returns them all.
        Raises TimeoutError if fewer came within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._printed_cond:
            while len(self.tickets) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{len(self.tickets)} ticket(s) printed, {n} expected after {timeout} s"
                    )
                self._printed_cond.wait(left)
            return list(self.tickets)


def _next_free_number(out_dir: Path) -> int:
    numbers = [int(m.group(1)) for p in out_dir.glob("*.png") if (m := re.match(r"(\d+)-", p.name))]
    return max(numbers, default=0) + 1
