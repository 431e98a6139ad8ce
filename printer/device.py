"""The ticket printer the kiosk talks to: status before and after each ticket, faults as
states, never an exception for a device problem and never a hang.

Status check (``DLE EOT``, all questions within one ``status_timeout_seconds`` deadline):
1 (printer status) first; when the printer is off line, 2 (why: cover open, paper end, error)
and, for an error, 3 (which error); when it is on line, 4 (paper roll sensors: near end, end).
No answer in time is OFFLINE; an answer without the fixed status bits is UNKNOWN.

A connection kept from an earlier check that fails (the printer was restarted, a cable
re-plugged) is reopened once before the printer is declared off line. A ticket whose sending
failed half-way leaves a stub in the printer: the next ticket starts with a feed and a cut
(``CLEAR_PARTIAL``).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Protocol

from config.printer import PrinterSettings
from printer.slip import SlipContent, render_slip
from printer.status import (
    REQUEST_ERROR_CAUSE,
    REQUEST_OFFLINE_CAUSE,
    REQUEST_PAPER,
    REQUEST_PRINTER,
    PrinterState,
    PrinterStatus,
    error_cause,
    garbled,
    is_status_byte,
    no_answer,
    offline_cause,
    paper_sensor,
    printer_offline,
)
from printer.ticket import CLEAR_PARTIAL, TicketContent, render_ticket
from printer.transports.base import Deadline, Link, LinkError

if TYPE_CHECKING:
    from PIL import Image

    from printer.virtual import VirtualPrinter

log = logging.getLogger(__name__)


class TicketPrinter(Protocol):
    partial: bool
    """The last ticket may have been cut off mid-way: the next one starts with a feed and a
    cut. Set by the printer when a sending fails, and by the kiosk when it stopped mid-ticket."""

    def status(self) -> PrinterStatus:
        """The printer's state now; returns within the status timeout."""
        ...

    def print_ticket(self, content: TicketContent) -> PrinterStatus:
        """Checks the status, prints the ticket if the printer can, checks again; returns the
        last status (a fault status when the ticket could not be printed)."""
        ...

    def print_slip(self, content: SlipContent) -> PrinterStatus:
        """The same for an appointment slip."""
        ...

    def close(self) -> None: ...


class _NoAnswer(Exception):
    pass


class EscposPrinter:
    """A :class:`TicketPrinter` over one transport. Thread-safe; reopens the device after it
    was lost (unplugged, switched off), at the next status check."""

    def __init__(
        self,
        link: Link,
        settings: PrinterSettings,
        logo: Image.Image | None = None,
    ) -> None:
        self.link = link
        self.settings = settings
        self.logo = logo
        self._lock = threading.Lock()
        self._last: PrinterState | None = None
        self._connected = False
        """Whether the link was left open by the last check (it may have died since)."""
        self.partial = False
        """Whether the last ticket may have been cut off mid-way (its sending failed, or the
        kiosk stopped while it printed): the next ticket clears it first."""

    @property
    def device(self) -> str:
        return self.link.device

    @property
    def virtual(self) -> VirtualPrinter | None:
        """The in-process virtual printer, for the ``virtual`` transport (demos, tests)."""
        printer = getattr(self.link, "printer", None)
        from printer.virtual import VirtualPrinter

        return printer if isinstance(printer, VirtualPrinter) else None

    def status(self) -> PrinterStatus:
        with self._lock:
            return self._noted(self._check())

    def print_ticket(self, content: TicketContent) -> PrinterStatus:
        data = render_ticket(content, self.settings.paper_mm, logo=self.logo)
        return self._print(data, f"ticket {content.label}")

    def print_slip(self, content: SlipContent) -> PrinterStatus:
        return self._print(render_slip(content, self.settings.paper_mm), "appointment slip")

    def _print(self, data: bytes, what: str) -> PrinterStatus:
        with self._lock:
            before = self._noted(self._check())
            if not before.can_print:
                log.warning("%s not printed: %s", what, before.detail)
                return before
            if self.partial:
                log.info("clearing the stub of an interrupted ticket before %s", what)
                data = CLEAR_PARTIAL + data
            try:
                self.link.write(data, self.settings.timeout_seconds)
            except LinkError as exc:
                self._disconnect()
                self.partial = True
                log.warning("%s not printed: %s", what, exc.status.detail)
                return self._noted(exc.status)
            # On the same connection: a new one could not tell whether this ticket got through.
            after = self._check_once()
            self.partial = after.state is PrinterState.OFFLINE
            return self._noted(after)

    def close(self) -> None:
        with self._lock:
            self._disconnect()

    def _disconnect(self) -> None:
        self._connected = False
        self.link.close()

    def _check(self) -> PrinterStatus:
        kept = self._connected
        status = self._check_once()
        if kept and status.state is PrinterState.OFFLINE:
            # The connection kept since the last check died meanwhile (a restarted printer,
            # a re-plugged cable): a new one may well work.
            log.info("printer %s: %s; reconnecting", self.device, status.detail)
            status = self._check_once()
        return status

    def _check_once(self) -> PrinterStatus:
        seconds = self.settings.status_timeout_seconds
        deadline = Deadline(seconds)
        try:
            self.link.open(deadline.left() or 0.001)
            self._connected = True
            if not (self.settings.status_queries and self.link.can_answer):
                return PrinterStatus(
                    PrinterState.READY,
                    f"{self.device}: connected; paper and cover are not checked (this printer "
                    "does not answer status requests).",
                )
            first = self._ask(REQUEST_PRINTER, deadline)
            if not is_status_byte(first):
                return garbled(self.device, bytes([first]))
            if printer_offline(first):
                cause = self._ask(REQUEST_OFFLINE_CAUSE, deadline)
                status = offline_cause(cause, self.device)
                if status.state is PrinterState.ERROR:
                    status = error_cause(self._ask(REQUEST_ERROR_CAUSE, deadline), self.device)
                return status
            return paper_sensor(self._ask(REQUEST_PAPER, deadline), self.device)
        except _NoAnswer:
            self._disconnect()  # reopen next time: a switched-off printer may come back
            return no_answer(self.device, seconds)
        except LinkError as exc:
            self._disconnect()
            return exc.status

    def _ask(self, request: bytes, deadline: Deadline) -> int:
        answer = self.link.query(request, deadline.left())
        if not answer:
            raise _NoAnswer
        return answer[-1]

    def _noted(self, status: PrinterStatus) -> PrinterStatus:
        if status.state is not self._last:  # log transitions, not every check
            level = logging.INFO if status.can_print else logging.WARNING
            log.log(level, "printer %s: %s", status.state.value, status.detail)
            self._last = status.state
        return status
