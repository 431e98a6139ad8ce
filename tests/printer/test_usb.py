"""USB printers: python-escpos Usb and pyusb for real, over a fake USB bus (tests/printer/
fake_usb.py) whose printer is a virtual printer."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.printer import PrinterSettings, UsbTransport
from printer import EscposPrinter, PrinterState, TicketContent, open_printer
from printer.virtual import VirtualPrinter
from tests.printer.fake_usb import FakeUsbBackend


@pytest.fixture
def bus(tmp_path: Path) -> FakeUsbBackend:
    return FakeUsbBackend(VirtualPrinter(tmp_path / "printed"))


def usb_printer(bus: FakeUsbBackend, product_id: int = 0x0202) -> EscposPrinter:
    return open_printer(
        PrinterSettings(
            transport=UsbTransport(vendor_id=0x04B8, product_id=product_id),
            status_timeout_seconds=0.3,
        ),
        usb_backend=bus,
    )


def test_prints_over_usb_with_status_both_ways(
    bus: FakeUsbBackend, reference: TicketContent
) -> None:
    printer = usb_printer(bus)
    assert printer.status().state is PrinterState.READY
    assert bus.claimed == {0}
    assert printer.print_ticket(reference).state is PrinterState.READY
    assert [p.name for p in bus.printer.tickets] == ["0001-A042.png"]
    printer.close()
    assert bus.claimed == set()


def test_paper_out_over_usb(bus: FakeUsbBackend, reference: TicketContent) -> None:
    bus.printer.simulate("paper_out")
    status = usb_printer(bus).print_ticket(reference)
    assert status.state is PrinterState.PAPER_OUT
    assert status.detail.startswith("USB printer 04b8:0202: out of paper")


def test_silent_usb_printer_is_offline(bus: FakeUsbBackend) -> None:
    bus.printer.simulate("no_answer")
    assert usb_printer(bus).status().error_id == "printer.offline.no_answer"


def test_absent_printer_is_offline_naming_ids(bus: FakeUsbBackend) -> None:
    status = usb_printer(bus, product_id=0x0E15).status()
    assert status.state is PrinterState.OFFLINE
    assert status.error_id == "printer.offline.not_found"
    assert status.detail.startswith("USB printer 04b8:0e15: not found")
    assert "lsusb" in status.detail


def test_permission_denied_points_to_the_udev_rule(bus: FakeUsbBackend) -> None:
    bus.deny_access = True
    status = usb_printer(bus).status()
    assert status.state is PrinterState.OFFLINE
    assert status.error_id == "printer.offline.permission"
    assert status.detail.startswith("USB printer 04b8:0202: permission denied.")
    assert "systemd/udev/60-guichet-printer.rules" in status.detail


def test_unplugged_then_plugged_back(bus: FakeUsbBackend, reference: TicketContent) -> None:
    printer = usb_printer(bus)
    assert printer.status().state is PrinterState.READY
    bus.unplugged = True
    status = printer.print_ticket(reference)
    assert (status.state, status.error_id) == (PrinterState.OFFLINE, "printer.offline.unplugged")
    bus.unplugged = False
    assert printer.print_ticket(reference).state is PrinterState.READY
    assert len(bus.printer.tickets) == 1
