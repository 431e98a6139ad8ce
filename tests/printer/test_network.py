"""Network printers through real TCP on 127.0.0.1: the virtual printer, and raw socket
servers for what a virtual printer would not do."""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from config.printer import NetworkTransport, PrinterSettings
from printer import EscposPrinter, PrinterState, TicketContent, open_printer
from printer.ticket import CLEAR_PARTIAL
from printer.virtual import VirtualPrinter
from tests.conftest import PATIENCE, wait_until
from tests.printer.conftest import NO_ANSWER, STATUS_PATIENCE


def network_printer(port: int, status_timeout: float = STATUS_PATIENCE) -> EscposPrinter:
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
        (png,) = virtual_printer.wait_for_tickets(1, timeout=PATIENCE)
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
    patience = NO_ANSWER if fault == "no_answer" else STATUS_PATIENCE
    printer = network_printer(virtual_printer.port, status_timeout=patience)
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
    assert len(virtual_printer.wait_for_tickets(1, timeout=PATIENCE)) == 1


def test_no_answer_returns_within_the_status_timeout(virtual_printer: VirtualPrinter) -> None:
    virtual_printer.simulate("no_answer")
    printer = network_printer(virtual_printer.port, status_timeout=NO_ANSWER)
    start = time.monotonic()
    status = printer.status()
    elapsed = time.monotonic() - start
    printer.close()
    assert status.state is PrinterState.OFFLINE
    assert f"within {NO_ANSWER:g} s" in status.detail
    assert elapsed < 60  # bounded: never python-escpos's 60 s default (times: bench/)


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
        assert len(again.wait_for_tickets(1, timeout=PATIENCE)) == 1
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
        thread.join(timeout=PATIENCE)


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
    assert stale_sent.wait(PATIENCE)
    sock = printer.link._sock  # type: ignore[attr-defined]
    assert wait_until(lambda: bool(select.select([sock], [], [], 0)[0]))  # the byte is there
    assert printer.status().state is PrinterState.READY
    printer.close()


def test_the_first_ticket_after_the_connection_dropped_prints(
    tmp_path: Path, reference: TicketContent
) -> None:
    """GIVEN a kiosk whose printer connection dropped while idle (the printer restarted) and
    the printer back WHEN the next ticket is printed THEN the kiosk reconnects and prints it,
    rather than failing on the dead connection."""
    vp = VirtualPrinter(tmp_path)
    vp.start()
    port = vp.port
    printer = network_printer(port)
    assert printer.status().state is PrinterState.READY  # the connection is kept
    vp.stop()
    with VirtualPrinter(tmp_path, port=port) as again:
        assert printer.print_ticket(reference).state is PrinterState.READY
        assert len(again.wait_for_tickets(1, timeout=PATIENCE)) == 1
    printer.close()


def test_a_ticket_cut_off_mid_way_is_fed_and_cut_before_the_next(reference: TicketContent) -> None:
    """GIVEN a printer whose connection breaks while a ticket is being sent WHEN the next
    ticket is printed on a new connection THEN it starts with a reset, a feed and a cut, so
    the stub leaves the printer on its own and the new ticket starts on clean paper."""
    server = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def answer_status(conn: socket.socket) -> None:
        for _ in range(2):  # DLE EOT 1, then DLE EOT 4: both "fine"
            assert conn.recv(3) == b"\x10\x04" + bytes([conn_requests.pop(0)])
            conn.sendall(b"\x12")

    def serve() -> None:
        with server:
            conn, _ = server.accept()
            with conn:  # the first ticket: 100 bytes arrive, then the line breaks
                answer_status(conn)
                conn.recv(100)
            conn, _ = server.accept()
            with conn:
                answer_status(conn)
                conn.settimeout(PATIENCE)
                data = b""
                while b"\x1dVB\x00" not in data[len(CLEAR_PARTIAL) :]:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                received.append(data)

    conn_requests = [1, 4, 1, 4]
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    printer = network_printer(server.getsockname()[1])
    first = printer.print_ticket(reference)
    assert first.state is PrinterState.OFFLINE
    assert printer.partial
    second = printer.print_ticket(replace(reference, label="A043"))
    printer.close()
    thread.join(timeout=PATIENCE)
    assert received and received[0].startswith(CLEAR_PARTIAL + b"\x1b@")
    assert b"A043" in received[0]
    assert second.state is PrinterState.OFFLINE  # the test server hung up after the ticket
