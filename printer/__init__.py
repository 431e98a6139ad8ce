"""Guichet's ticket printer: ESC/POS tickets over USB, serial, network, a device node or a
virtual printer, with the printer's real-time status as an explicit state.

The kiosk uses :func:`open_printer`, :class:`TicketPrinter`, :class:`TicketContent` and the
states; see docs/printer.md.
"""

from printer.connect import open_printer
from printer.device import EscposPrinter, TicketPrinter
from printer.slip import SlipContent, render_slip
from printer.status import (
    CAN_PRINT,
    FAULTS,
    STAFF_WARNINGS,
    PrinterState,
    PrinterStatus,
)
from printer.ticket import TicketContent, render_ticket

__all__ = [
    "CAN_PRINT",
    "FAULTS",
    "STAFF_WARNINGS",
    "EscposPrinter",
    "PrinterState",
    "PrinterStatus",
    "SlipContent",
    "TicketContent",
    "TicketPrinter",
    "open_printer",
    "render_slip",
    "render_ticket",
]
