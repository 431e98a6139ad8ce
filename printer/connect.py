"""Choosing the transport named by the settings."""

from __future__ import annotations

import logging
from typing import Any

from config.printer import (
    FileTransport,
    NetworkTransport,
    PrinterSettings,
    SerialTransport,
    UsbTransport,
    VirtualTransport,
)
from printer.device import EscposPrinter
from printer.ticket import load_logo
from printer.transports.base import Link

log = logging.getLogger(__name__)


def open_printer(settings: PrinterSettings, *, usb_backend: Any = None) -> EscposPrinter:
    """The ticket printer described by ``settings``. Never raises for a missing or unplugged
    device: its status then says OFFLINE, naming the device and the fix, and the device is
    opened again at the next status check. ``usb_backend`` replaces libusb (tests)."""
    t = settings.transport
    link: Link
    if isinstance(t, UsbTransport):
        from printer.transports.usb import UsbLink

        link = UsbLink(t, backend=usb_backend)
    elif isinstance(t, SerialTransport):
        from printer.transports.serial import SerialLink

        link = SerialLink(t)
    elif isinstance(t, NetworkTransport):
        from printer.transports.network import NetworkLink

        link = NetworkLink(t)
    elif isinstance(t, FileTransport):
        from printer.transports.file import FileLink

        link = FileLink(t)
    elif isinstance(t, VirtualTransport):
        from printer.transports.virtual import VirtualLink

        link = VirtualLink(t, settings.paper_mm)
    else:  # pragma: no cover - the settings model admits no other kind
        raise TypeError(f"unknown printer transport {t!r}")

    logo = None
    if settings.logo is not None:
        try:
            logo = load_logo(settings.logo, settings.paper_mm)
        except OSError as exc:
            log.error(
                "printer.logo: cannot read %s (%s); tickets print without it", settings.logo, exc
            )
    return EscposPrinter(link, settings, logo)
