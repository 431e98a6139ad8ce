"""Settings of the ticket kiosk (``guichet kiosk --config FILE``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from config.device import DeviceSettings
from config.printer import PrinterSettings


class KioskSettings(DeviceSettings):
    role: Literal["kiosk"] = "kiosk"
    """What this file configures (check-config reads it)."""
    printer: PrinterSettings = Field(default_factory=PrinterSettings)
    """The ticket printer ([printer]): how it is reached and the ticket's layout."""
    long_wait_minutes: float = Field(default=15.0, ge=0, le=24 * 60)
    """Above this estimated wait the kiosk warns before printing (minutes)."""
    appointment_url: str = ""
    """Booking page offered as a QR code when the wait is long. Empty: not offered."""
    ticket_screen_seconds: float = Field(default=6.0, gt=0, le=60)
    """How long the "your ticket" screen stays before going back to idle (seconds)."""
    follow_base_url: str = ""
    """Base of follow-my-ticket links printed as QR codes. Empty: the server's public URL."""
    idle_after_seconds: float = Field(default=45.0, ge=5, le=600)
    """A visit left untouched this long on the service, priority or long-wait screen goes back
    to the idle screen (seconds)."""
    fault_screen_seconds: float = Field(default=20.0, gt=0, le=120)
    """How long the screen showing a number that could not be printed stays, so the person
    can note it (seconds)."""
    scanner_port: str = Field(default="", max_length=255)
    """Serial port of a 2D barcode scanner in serial mode, for appointment check-in (e.g.
    /dev/ttyACM0); empty: none (a scanner in keyboard mode needs no setting)."""
    appointments_refresh_seconds: float = Field(default=300.0, ge=10, le=86400)
    """How often the kiosk takes the day's appointments from the server, for check-in while
    offline (seconds)."""
