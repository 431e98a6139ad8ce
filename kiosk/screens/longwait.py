"""The long-wait warning: said before printing, with the site's alternatives."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kivy.properties import BooleanProperty, StringProperty

from kiosk.core import ServiceStatus
from kiosk.screens.base import KioskScreen
from kiosk.widgets import place


class LongWaitScreen(KioskScreen):
    service_id = StringProperty("")
    headline = StringProperty("")
    quieter_text = StringProperty("")
    has_quieter = BooleanProperty(False)
    appointment_url = StringProperty("")
    can_book = BooleanProperty(False)
    """The service takes appointments: a time can be booked here, on this kiosk."""
    book_button: Any = None

    def show(self, status: ServiceStatus, quieter: datetime | None) -> None:
        app = self.kiosk
        texts = app.tr.texts
        self.service_id = status.service.id
        self.headline = texts._("{service}: the wait is long, {wait}.").format(
            service=status.service.name(app.lang), wait=texts.wait(status.wait.seconds)
        )
        self.has_quieter = quieter is not None
        self.quieter_text = (
            texts._("Come back {when}").format(when=texts.when(quieter, app.core.now_local()))
            if quieter is not None
            else ""
        )
        self.appointment_url = app.runtime.settings.appointment_url
        self.can_book = app.books(status.service.id)
        if self.book_button is None:
            self.book_button = self.ids.book.__self__  # ids hold weak proxies
        place(self.book_button, self.ids.actions, self.can_book, 1)

    def spoken(self) -> str:
        texts = self.kiosk.tr.texts
        parts = [self.headline]
        if self.has_quieter:
            parts.append(texts._("A quieter time") + ": " + self.quieter_text + ".")
        if self.appointment_url:
            parts.append(texts._("Book an appointment") + ".")
            parts.append(texts._("No smartphone? The reception desk can book it for you."))
        parts.append(texts._("Take a ticket anyway") + "?")
        return " ".join(parts)

    def take_anyway(self) -> None:
        self.kiosk.issue(self.service_id)

    def book_here(self) -> None:
        self.kiosk.open_booking(self.service_id, self.headline)

    def back(self) -> None:
        self.kiosk.go("services")
