"""Serial printers through a real pseudo-terminal pair: the test holds the printer's end."""

from __future__ import annotations

import os
import select
import threading
import time
import tty
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest

from config.printer import PrinterSettings, SerialTransport
from printer import EscposPrinter, PrinterState, TicketContent, open_printer, render_ticket
from printer.escpos_decode import EscposDecoder
from printer.virtual import VirtualPrinter
from tests.conftest import PATIENCE, wait_until
from tests.printer.conftest import NO_ANSWER, STATUS_PATIENCE


class PtyPrinter:
    """The printer's end of a pseudo-terminal: records what it receives and answers DLE EOT n
    from ``answers`` (no entry: stays silent)."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.answers: dict[int, int] = {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12}
        self.received = bytearray()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        decoder = EscposDecoder()
        while not self._stop.is_set():
            if not select.select([self.master], [], [], 0.05)[0]:
                continue
            data = os.read(self.master, 4096)
            self.received += data
            for cmd in decoder.feed(data):
                if cmd.name == "status_request" and cmd.args[0] in self.answers:
                    os.write(self.master, bytes([self.answers[cmd.args[0]]]))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=PATIENCE)
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def pty_printer() -> Iterator[PtyPrinter]:
    printer = PtyPrinter()
    yield printer
    printer.close()


FlowControl = Literal["none", "rtscts", "dsrdtr", "xonxoff"]


def serial_printer(
    port: str, flow_control: FlowControl = "rtscts", status_timeout: float = STATUS_PATIENCE
) -> EscposPrinter:
    return open_printer(
        PrinterSettings(
            transport=SerialTransport(port=port, baudrate=115200, flow_control=flow_control),
            status_timeout_seconds=status_timeout,
        )
    )


def test_ticket_bytes_reach_the_printer_between_status_checks(
    pty_printer: PtyPrinter, reference: TicketContent
) -> None:
    printer = serial_printer(pty_printer.path)
    status = printer.print_ticket(reference)
    ticket = render_ticket(reference, 80)
    status_check = b"\x10\x04\x01\x10\x04\x04"
    expected = status_check + ticket + status_check
    wait_until(lambda: len(pty_printer.received) >= len(expected))  # the pty's reader thread
    printer.close()
    assert status.state is PrinterState.READY
    assert bytes(pty_printer.received) == expected


@pytest.mark.parametrize(
    ("answers", "state"),
    [
        ({1: 0x1A, 2: 0x32}, PrinterState.PAPER_OUT),
        ({1: 0x12, 4: 0x7E}, PrinterState.PAPER_OUT),
        ({1: 0x12, 4: 0x1E}, PrinterState.PAPER_NEAR_END),
        ({1: 0x1A, 2: 0x16}, PrinterState.COVER_OPEN),
        ({1: 0x1A, 2: 0x52, 3: 0x32}, PrinterState.ERROR),
    ],
)
def test_status_answers(
    pty_printer: PtyPrinter, answers: dict[int, int], state: PrinterState
) -> None:
    pty_printer.answers = answers
    printer = serial_printer(pty_printer.path)
    assert printer.status().state is state
    printer.close()


def test_paper_out_prints_nothing(pty_printer: PtyPrinter, reference: TicketContent) -> None:
    pty_printer.answers = {1: 0x1A, 2: 0x32}
    printer = serial_printer(pty_printer.path)
    status = printer.print_ticket(reference)
    wait_until(lambda: len(pty_printer.received) >= 6)  # the two status questions
    printer.close()
    assert status.state is PrinterState.PAPER_OUT
    assert bytes(pty_printer.received) == b"\x10\x04\x01\x10\x04\x02"


def test_silent_printer_is_offline_within_the_status_timeout(pty_printer: PtyPrinter) -> None:
    """python-escpos would read this silence as "paper OK"; here it is OFFLINE, in bounded time."""
    pty_printer.answers = {}
    printer = serial_printer(pty_printer.path, status_timeout=NO_ANSWER)
    start = time.monotonic()
    status = printer.status()
    elapsed = time.monotonic() - start
    printer.close()
    assert status.state is PrinterState.OFFLINE
    assert status.error_id == "printer.offline.no_answer"
    assert status.detail.startswith(f"serial printer {pty_printer.path}: no answer")
    assert elapsed < PATIENCE  # bounded, never a hang (how fast: bench/)


def test_missing_port_is_offline_naming_the_port(tmp_path: Path) -> None:
    missing = str(tmp_path / "ttyUSB9")
    status = serial_printer(missing).status()
    assert status.state is PrinterState.OFFLINE
    assert status.error_id == "printer.offline.not_found"
    assert status.detail.startswith(f"serial printer {missing}: not found")


@pytest.mark.parametrize("flow_control", ["none", "rtscts", "xonxoff"])
def test_virtual_printer_on_a_pseudo_terminal(
    virtual_printer_pty: VirtualPrinter, reference: TicketContent, flow_control: FlowControl
) -> None:
    assert virtual_printer_pty.pty_path is not None
    printer = serial_printer(virtual_printer_pty.pty_path, flow_control)
    try:
        assert printer.print_ticket(reference).state is PrinterState.READY
        (png,) = virtual_printer_pty.wait_for_tickets(1, timeout=PATIENCE)
    finally:
        printer.close()
    assert png.name == "0001-A042.png"
    assert "[center 8x8 bold] A042" in virtual_printer_pty.printed[0].log
