"""Network printers through real TCP on 127.0.0.1: the virtual printer, and raw socket
servers for what a virtual printer would not do."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from config.printer import NetworkTransport, PrinterSettings
from printer import EscposPrinter, PrinterState, TicketContent, open_printer
from printer.virtual import VirtualPrinter


def network_printer(port: int, status_timeout: float = 0.3) -> EscposPrinter:
    return open_printer(
        PrinterSettings(
            transport=NetworkTransport(host="127.0.0.1", port=port),
            timeout_seconds=2,
            status_timeout_seconds=status_timeout,
        )
    )


def test_prints_a_ticket_the_virtual_printer_renders(
    virtual_printer: VirtualPrinter, reference: TicketContent
) -> None:
    printer = network_printer(virtual_printer.port)
    try:
        assert printer.status().state is PrinterState.READY
        assert printer.print_ticket(reference).state is PrinterState.READY
        (png,) = virtual_printer.wait_for_tickets(1, timeout=5)
    finally:
        printer.close()
    assert png.name == "0001-A042.png"
    with Image.open(png) as img:
        assert [r.text for r in zxingcpp.read_barcodes(img)] == [reference.follow_url]


@pytest.mark.parametrize(
    ("fault", "state", "error_id"),
    [
        ("paper_out", PrinterState.PAPER_OUT, "printer.paper_out"),
        ("cover_open", PrinterState.COVER_OPEN, "printer.cover_open"),
        ("error", PrinterState.ERROR, "printer.error.cutter"),
        ("no_answer", PrinterState.OFFLINE, "printer.offline.no_answer"),
    ],
)
def test_a_fault_is_a_status_and_no_ticket_is_sent(
    virtual_printer: VirtualPrinter,
    reference: TicketContent,
    fault: str,
    state: PrinterState,
    error_id: str,
) -> None:
    virtual_printer.simulate(fault)
    printer = network_printer(virtual_printer.port)
    try:
        status = printer.print_ticket(reference)
    finally:
        printer.close()
    assert (status.state, status.error_id) == (state, error_id)
    assert f"127.0.0.1:{virtual_printer.port}" in status.detail
    virtual_printer.simulate(None)  # a held ticket would come out now: none was sent
    assert virtual_printer.tickets == []


def test_paper_near_end_still_prints_and_warns(
    virtual_printer: VirtualPrinter, reference: TicketContent
) -> None:
    virtual_printer.simulate("paper_near_end")
    printer = network_printer(virtual_printer.port)
    try:
        status = printer.print_ticket(reference)
    finally:
        printer.close()
    assert status.state is PrinterState.PAPER_NEAR_END
    assert len(virtual_printer.wait_for_tickets(1, timeout=5)) == 1


def test_no_answer_returns_within_the_status_timeout(virtual_printer: VirtualPrinter) -> None:
    virtual_printer.simulate("no_answer")
    printer = network_printer(virtual_printer.port, status_timeout=0.3)
    start = time.monotonic()
    status = printer.status()
    elapsed = time.monotonic() - start
    printer.close()
    assert status.state is PrinterState.OFFLINE
    assert "within 0.3 s" in status.detail
    assert elapsed < 2.0  # bounded: never python-escpos's 60 s default


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_nothing_listening_is_offline_naming_the_printer() -> None:
    port = free_port()
    status = network_printer(port).status()
    assert status.state is PrinterState.OFFLINE
    assert status.error_id == "printer.offline.refused"
    assert status.detail.startswith(f"network printer 127.0.0.1:{port}: refused the connection")


def test_printer_switched_off_then_on_again_is_found_again(
    tmp_path: Path, reference: TicketContent
) -> None:
    vp = VirtualPrinter(tmp_path)
    vp.start()
    port = vp.port
    printer = network_printer(port)
    assert printer.status().state is PrinterState.READY
    vp.stop()
    assert printer.status().state is PrinterState.OFFLINE
    with VirtualPrinter(tmp_path, port=port) as again:
        assert printer.print_ticket(reference).state is PrinterState.READY
        assert len(again.wait_for_tickets(1, timeout=5)) == 1
    printer.close()


Handler = Callable[[socket.socket], None]


@pytest.fixture
def raw_server() -> Iterator[Callable[[Handler], int]]:
    """Starts a one-connection TCP server on 127.0.0.1 running ``handler(conn)``."""
    servers: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def start(handler: Handler) -> int:
        server = socket.create_server(("127.0.0.1", 0))
        servers.append(server)

        def serve() -> None:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                handler(conn)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        threads.append(thread)
        return int(server.getsockname()[1])

    yield start
    for server in servers:
        server.close()
    for thread in threads:
        thread.join(timeout=5)


def test_garbage_answer_is_unknown(raw_server: Callable[[Handler], int]) -> None:
    def handler(conn: socket.socket) -> None:
        conn.recv(16)
        conn.sendall(b"\x00")
        conn.recv(16)

    printer = network_printer(raw_server(handler))
    status = printer.status()
    printer.close()
    assert status.state is PrinterState.UNKNOWN
    assert "00" in status.detail


def test_printer_closing_the_connection_is_offline(raw_server: Callable[[Handler], int]) -> None:
    def handler(conn: socket.socket) -> None:
        conn.recv(16)  # reads the question, hangs up without an answer

    status = network_printer(raw_server(handler)).status()
    assert status.state is PrinterState.OFFLINE
    assert status.error_id == "printer.offline.connection_lost"


def test_a_stale_answer_is_not_taken_for_the_next_one(
    raw_server: Callable[[Handler], int],
) -> None:
    """GIVEN a printer that sent an extra 'off line' byte after answering, WHEN the status is
    asked again on the same connection THEN the extra byte is discarded, not read as the
    answer."""
    stale_sent = threading.Event()

    def handler(conn: socket.socket) -> None:
        for _ in range(2):  # DLE EOT 1 then DLE EOT 4, each answered "fine"
            conn.recv(3)
            conn.sendall(b"\x12")
        conn.sendall(b"\x1a")  # unsolicited: would read as "off line"
        stale_sent.set()
        for _ in range(2):
            conn.recv(3)
            conn.sendall(b"\x12")
        conn.recv(16)

    printer = network_printer(raw_server(handler))
    assert printer.status().state is PrinterState.READY
    assert stale_sent.wait(5)
    time.sleep(0.05)  # let the stale byte arrive in the socket buffer
    assert printer.status().state is PrinterState.READY
    printer.close()
