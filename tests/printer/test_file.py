"""Printers behind a device node (``/dev/usb/lp0``) or a plain file."""

from __future__ import annotations

import errno
import os
import tty
from pathlib import Path

import pytest

from config.printer import FileTransport, PrinterSettings
from printer import PrinterState, TicketContent, open_printer, render_ticket
from printer.transports.file import FileLink
from printer.virtual import VirtualPrinter
from tests.conftest import PATIENCE


def test_plain_file_receives_exactly_the_ticket(tmp_path: Path, reference: TicketContent) -> None:
    out = tmp_path / "ticket.bin"
    out.touch()
    printer = open_printer(PrinterSettings(transport=FileTransport(path=out)))
    status = printer.print_ticket(reference)
    printer.close()
    assert status.state is PrinterState.READY
    assert "not checked" in status.detail  # a file cannot tell paper or cover
    assert out.read_bytes() == render_ticket(reference, 80)


def test_missing_device_node_is_offline_and_never_created(tmp_path: Path) -> None:
    node = tmp_path / "lp0"
    printer = open_printer(PrinterSettings(transport=FileTransport(path=node)))
    status = printer.status()
    assert status.state is PrinterState.OFFLINE
    assert status.error_id == "printer.offline.not_found"
    assert status.detail.startswith(f"printer device {node}: not found")
    assert not node.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_unwritable_device_is_offline_with_the_fix(tmp_path: Path) -> None:
    node = tmp_path / "lp0"
    node.touch(mode=0o400)
    status = open_printer(PrinterSettings(transport=FileTransport(path=node))).status()
    assert status.error_id == "printer.offline.permission"
    assert "60-guichet-printer.rules" in status.detail


def test_permission_error_names_the_device_and_the_udev_rule() -> None:
    """The translation of the error the kiosk's unprivileged user gets (tests may run as root,
    which never gets it from the file system)."""
    link = FileLink(FileTransport(path=Path("/dev/usb/lp0")))
    status = link._open_error(PermissionError(errno.EACCES, "Permission denied")).status
    assert status.state is PrinterState.OFFLINE
    assert status.error_id == "printer.offline.permission"
    assert status.detail.startswith("printer device /dev/usb/lp0: permission denied.")
    assert "60-guichet-printer.rules" in status.detail


def test_bidirectional_device_node_answers_status(tmp_path: Path, reference: TicketContent) -> None:
    """GIVEN a character device whose other end is a virtual printer (a pseudo-terminal stands
    in for /dev/usb/lp0), WHEN a ticket is printed THEN the status goes both ways and the
    ticket comes out."""
    with VirtualPrinter(tmp_path, pty=True) as vp:
        assert vp.pty_path is not None
        printer = open_printer(PrinterSettings(transport=FileTransport(path=Path(vp.pty_path))))
        vp.simulate("paper_out")
        assert printer.status().state is PrinterState.PAPER_OUT
        vp.simulate(None)
        assert printer.print_ticket(reference).state is PrinterState.READY
        assert len(vp.wait_for_tickets(1, PATIENCE)) == 1
        printer.close()


def test_device_node_that_never_answers_is_offline(tmp_path: Path) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        path = os.ttyname(slave)
        printer = open_printer(
            PrinterSettings(transport=FileTransport(path=Path(path)), status_timeout_seconds=0.2)
        )
        assert printer.status().error_id == "printer.offline.no_answer"
        one_way = open_printer(
            PrinterSettings(transport=FileTransport(path=Path(path)), status_queries=False)
        )
        assert one_way.status().state is PrinterState.READY
        printer.close()
        one_way.close()
    finally:
        os.close(master)
        os.close(slave)
