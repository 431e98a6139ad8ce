"""Printer settings (the ``[printer]`` table of a kiosk file; see docs/printer.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from config.loader import STRICT


class _Strict(BaseModel):
    model_config = STRICT


class UsbTransport(_Strict):
    """A printer on USB, reached through libusb (needs the udev rule in
    systemd/udev/60-guichet-printer.rules so the kiosk user may open it)."""

    kind: Literal["usb"] = "usb"
    """``usb``: a USB printer, by vendor and product id."""
    vendor_id: int = Field(ge=0, le=0xFFFF)
    """USB vendor id, e.g. 0x04b8 (Epson); ``lsusb`` shows it as the part before the colon."""
    product_id: int = Field(ge=0, le=0xFFFF)
    """USB product id, e.g. 0x0202 (TM-T20II); the part after the colon in ``lsusb``."""
    out_endpoint: int = Field(default=0x01, ge=0x01, le=0x0F)
    """Bulk OUT endpoint address (data to the printer); ``lsusb -v`` lists it."""
    in_endpoint: int = Field(default=0x82, ge=0x81, le=0x8F)
    """Bulk IN endpoint address (status from the printer); ``lsusb -v`` lists it."""


class SerialTransport(_Strict):
    """A printer on an RS-232 port or a USB-serial adapter (8 data bits, 1 stop bit)."""

    kind: Literal["serial"] = "serial"
    """``serial``: a printer on a serial port."""
    port: str = "/dev/ttyUSB0"
    """Serial device path, e.g. /dev/ttyUSB0 or /dev/serial/by-id/..."""
    baudrate: int = Field(default=19200, ge=1200, le=921600)
    """Bits per second; must match the printer's DIP switches or memory switches."""
    parity: Literal["none", "even", "odd"] = "none"
    """Parity bit, as set on the printer."""
    flow_control: Literal["none", "rtscts", "dsrdtr", "xonxoff"] = "rtscts"
    """Handshake: hardware (RTS/CTS or DSR/DTR), software (XON/XOFF) or none."""


class NetworkTransport(_Strict):
    """A printer with an Ethernet or Wi-Fi interface, raw TCP (port 9100)."""

    kind: Literal["network"] = "network"
    """``network``: a network printer (raw TCP, usually port 9100)."""
    host: str = Field(min_length=1)
    """Printer's IP address or host name."""
    port: int = Field(default=9100, ge=1, le=65535)
    """TCP port of the printer's raw print service."""


class FileTransport(_Strict):
    """A device node of the kernel's printer driver (usblp, parallel port), or a plain file."""

    kind: Literal["file"] = "file"
    """``file``: a device node such as /dev/usb/lp0."""
    path: Path = Path("/dev/usb/lp0")
    """Device node (or existing file) the ticket bytes are written to. Never created."""


class VirtualTransport(_Strict):
    """A printer inside the kiosk process that renders each ticket to a PNG (demos, tests)."""

    kind: Literal["virtual"] = "virtual"
    """``virtual``: the virtual printer of the demo and the tests."""
    output_dir: Path = Path("printed")
    """Folder where each received ticket is rendered as a PNG."""


Transport = Annotated[
    UsbTransport | SerialTransport | NetworkTransport | FileTransport | VirtualTransport,
    Field(discriminator="kind"),
]


class PrinterSettings(_Strict):
    transport: Transport = Field(default_factory=VirtualTransport)
    """How the printer is reached ([printer.transport]); ``kind`` chooses the fields below."""
    paper_mm: Literal[58, 80] = 80
    """Paper roll width (mm): 80 mm prints 576 dots a line, 58 mm prints 384."""
    timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    """Connection and write timeout (seconds)."""
    status_timeout_seconds: float = Field(default=0.5, gt=0, le=10)
    """How long to wait for a real-time status answer before calling the printer offline (s)."""
    status_queries: bool = True
    """Ask the printer for its real-time status (DLE EOT) before and after each ticket.
    Turn off only for one-way printers that never answer: then paper and cover are not checked."""
    logo: Path | None = None
    """Optional logo image printed above the site name (scaled down to at most 384x96 dots)."""
