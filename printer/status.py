"""What state the ticket printer is in, and how its real-time status bytes map to it.

The kiosk screen and the device health are driven by :class:`PrinterStatus`, never by
exceptions. The status bytes are those of ESC/POS ``DLE EOT n`` (Epson TM series and the many
printers that copy it): one byte per request, bits 1 and 4 always set, bits 0 and 7 clear.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tickets.i18n import catalog


class PrinterState(StrEnum):
    READY = "ready"
    PAPER_NEAR_END = "paper_near_end"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    ERROR = "error"
    OFFLINE = "offline"
    UNKNOWN = "unknown"

    def label(self, lang: str) -> str:
        """A short human label in ``lang`` (any language with a ``printer`` catalog;
        "fr-BE" reads the French one; others get English)."""
        return catalog("printer", lang).gettext(STATE_LABELS[self])


STATE_LABELS = {
    PrinterState.READY: "Printer ready",
    PrinterState.PAPER_NEAR_END: "Paper running low",
    PrinterState.PAPER_OUT: "Out of paper",
    PrinterState.COVER_OPEN: "Printer cover open",
    PrinterState.ERROR: "Printer error",
    PrinterState.OFFLINE: "Printer offline",
    PrinterState.UNKNOWN: "Printer status unknown",
}
"""Each state's label: a message id of the ``printer`` catalogs."""

CAN_PRINT: frozenset[PrinterState] = frozenset({PrinterState.READY, PrinterState.PAPER_NEAR_END})
"""States in which a ticket is sent to the printer."""
FAULTS: frozenset[PrinterState] = frozenset(
    {
        PrinterState.PAPER_OUT,
        PrinterState.COVER_OPEN,
        PrinterState.ERROR,
        PrinterState.OFFLINE,
        PrinterState.UNKNOWN,
    }
)
"""States in which no ticket is printed: the kiosk shows the number on screen instead."""
STAFF_WARNINGS: frozenset[PrinterState] = frozenset({PrinterState.PAPER_NEAR_END})
"""States that still print but that staff should act on soon."""


@dataclass(frozen=True)
class PrinterStatus:
    """The printer's state. ``detail`` names the device and, for faults, what to do;
    ``error_id`` is a stable identifier for screens, logs and the health report."""

    state: PrinterState
    detail: str = ""
    error_id: str = ""

    @property
    def can_print(self) -> bool:
        return self.state in CAN_PRINT


# DLE EOT n requests.
REQUEST_PRINTER = b"\x10\x04\x01"
REQUEST_OFFLINE_CAUSE = b"\x10\x04\x02"
REQUEST_ERROR_CAUSE = b"\x10\x04\x03"
REQUEST_PAPER = b"\x10\x04\x04"

_FIXED_MASK = 0x93
_FIXED_BITS = 0x12


def is_status_byte(value: int) -> bool:
    """True when ``value`` has the fixed bits every DLE EOT answer carries."""
    return value & _FIXED_MASK == _FIXED_BITS


def printer_offline(answer: int) -> bool:
    """DLE EOT 1, bit 3: the printer is off line (cover, paper end, error, feed button)."""
    return bool(answer & 0x08)


def offline_cause(answer: int, device: str) -> PrinterStatus:
    """Interprets DLE EOT 2 (why the printer is off line)."""
    if answer & 0x04:
        return PrinterStatus(
            PrinterState.COVER_OPEN,
            f"{device}: the cover is open. Close the paper cover firmly.",
            "printer.cover_open",
        )
    if answer & 0x20:
        return out_of_paper(device)
    if answer & 0x40:
        return PrinterStatus(
            PrinterState.ERROR, f"{device}: the printer reports an error.", "printer.error"
        )
    if answer & 0x08:
        return PrinterStatus(
            PrinterState.OFFLINE,
            f"{device}: paper is being fed with the FEED button.",
            "printer.offline.feeding",
        )
    return PrinterStatus(
        PrinterState.OFFLINE,
        f"{device}: the printer is off line and gives no cause. Switch it off and on.",
        "printer.offline.no_cause",
    )


def error_cause(answer: int, device: str) -> PrinterStatus:
    """Interprets DLE EOT 3 (which error stopped the printer)."""
    if answer & 0x08:
        what, fix, ident = (
            "the paper cutter is jammed",
            "Open the cover, clear the paper from the cutter, close it",
            "printer.error.cutter",
        )
    elif answer & 0x20:
        what, fix, ident = (
            "an unrecoverable error occurred",
            "Switch the printer off and on; if it persists, have it serviced",
            "printer.error.unrecoverable",
        )
    elif answer & 0x40:
        what, fix, ident = (
            "printing paused (print head too hot, or cover opened while printing)",
            "Wait a minute; close the cover if it is open",
            "printer.error.recoverable",
        )
    else:
        what, fix, ident = (
            "the printer reports an error without a cause",
            "Switch the printer off and on",
            "printer.error",
        )
    return PrinterStatus(PrinterState.ERROR, f"{device}: {what}. {fix}.", ident)


def paper_sensor(answer: int, device: str) -> PrinterStatus:
    """Interprets DLE EOT 4 (paper roll sensors) for a printer that is on line."""
    if answer & 0x60:
        return out_of_paper(device)
    if answer & 0x0C:
        return PrinterStatus(
            PrinterState.PAPER_NEAR_END,
            f"{device}: the paper roll is nearly finished. Have a new roll ready.",
            "printer.paper_near_end",
        )
    return PrinterStatus(PrinterState.READY, f"{device}: ready.")


def out_of_paper(device: str) -> PrinterStatus:
    return PrinterStatus(
        PrinterState.PAPER_OUT,
        f"{device}: out of paper. Put in a new roll (thermal side facing the print head).",
        "printer.paper_out",
    )


def no_answer(device: str, seconds: float) -> PrinterStatus:
    return PrinterStatus(
        PrinterState.OFFLINE,
        f"{device}: no answer to the status request within {seconds:g} s. Check that the "
        "printer is switched on and its cable is plugged in.",
        "printer.offline.no_answer",
    )


def garbled(device: str, answer: bytes) -> PrinterStatus:
    return PrinterStatus(
        PrinterState.UNKNOWN,
        f"{device}: unexpected status answer {answer.hex(' ')}. Check the serial speed and "
        "that the printer speaks ESC/POS.",
        "printer.unknown.garbled",
    )
