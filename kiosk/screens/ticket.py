"""Your ticket: the number, very large, while it prints; what to do if it does not print.

``state`` is "printing", "printed", "failed" (journaled and shown, not printed) or "error"
(no ticket could be issued at all). The screen goes back to idle after
``ticket_screen_seconds``, or ``fault_screen_seconds`` when the number must be noted.
"""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.properties import StringProperty

from kiosk.core import IssueResult, Outcome
from kiosk.screens.base import KioskScreen
from kiosk.speech import spoken_label
from printer import PrinterState

FAULT_MESSAGES = {
    PrinterState.PAPER_OUT: "The printer is out of paper.",
    PrinterState.COVER_OPEN: "The printer's cover is open.",
    PrinterState.OFFLINE: "The printer is not answering.",
    PrinterState.ERROR: "The printer has a fault.",
    PrinterState.UNKNOWN: "The printer is not answering.",
}


class TicketScreen(KioskScreen):
    state = StringProperty("printing")
    label = StringProperty("")
    service_name = StringProperty("")
    wait_text = StringProperty("")
    priority_text = StringProperty("")
    fault_text = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._leave_event: Any = None
        self._result: IssueResult | None = None

    def show_number(self, result: IssueResult) -> None:
        self._cancel_timer()
        self._result = result
        app = self.kiosk
        texts = app.tr.texts
        self.fault_text = ""
        if result.ticket is None:
            self.show_error()
            return
        t = result.ticket
        self.label = t.label
        self.service_name = t.service.name(app.lang)
        self.wait_text = texts.ahead(t.wait.ahead) + (
            " · " + texts.wait(t.wait.seconds) if t.wait.ahead else ""
        )
        # "Priority ticket" only: the reason is nobody else's business.
        self.priority_text = texts._("Priority ticket") if t.priority else ""
        self.state = "printing"

    def spoken(self) -> str:
        """The number, the service, the wait, and what to do now."""
        texts = self.kiosk.tr.texts
        if self.state == "error":
            return texts._("No ticket could be issued. Please go to the reception desk.")
        parts = [
            texts._("Your number is {number}.").format(number=spoken_label(self.label)),
            self.service_name + ".",
        ]
        if self.priority_text:
            parts.append(self.priority_text + ".")
        parts.append(self.wait_text + ".")
        if self.state == "failed":
            parts.append(self.fault_text)
            parts.append(texts._("Please note your number, or go to the reception desk."))
        parts.append(
            texts._("Take a seat and watch the screen: your number will be shown and called out.")
        )
        return " ".join(parts)

    def show_printed(self, result: IssueResult) -> None:
        self._result = result
        settings = self.kiosk.runtime.settings
        if result.outcome is Outcome.PRINTED:
            self.state = "printed"
            self._arm(settings.ticket_screen_seconds)
            return
        texts = self.kiosk.tr.texts
        state = result.printer.state if result.printer is not None else PrinterState.UNKNOWN
        self.fault_text = texts._(FAULT_MESSAGES.get(state, FAULT_MESSAGES[PrinterState.ERROR]))
        self.state = "failed"
        self._arm(max(settings.ticket_screen_seconds, settings.fault_screen_seconds))

    def show_error(self) -> None:
        """No ticket at all (no number left, journal failure): send the person to the desk."""
        self._cancel_timer()
        self.label = ""
        self.service_name = ""
        self.wait_text = ""
        self.priority_text = ""
        self.state = "error"
        self._arm(self.kiosk.runtime.settings.fault_screen_seconds)

    def _arm(self, seconds: float) -> None:
        self._cancel_timer()
        self._leave_event = Clock.schedule_once(lambda _dt: self.done(), seconds)

    def _cancel_timer(self) -> None:
        if self._leave_event is not None:
            self._leave_event.cancel()
            self._leave_event = None

    def done(self) -> None:
        self._cancel_timer()
        if self.state == "printing":
            return  # the number stays until the printer has answered
        self.kiosk.end_visit()

    def on_leave(self) -> None:
        self._cancel_timer()
