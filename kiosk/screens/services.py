"""The service choice: one large card per service with its wait, or why it issues nothing."""

from __future__ import annotations

from kivy.clock import Clock
from kivy.properties import NumericProperty, StringProperty

from kiosk.core import Availability, ServiceStatus
from kiosk.i18n import PRIORITY_LABELS
from kiosk.screens.base import KioskScreen
from kiosk.widgets import KioskServiceCard

NOTICE_SECONDS = 8.0
"""How long an explanation (service closed, no more tickets) stays on the banner (seconds)."""


class ServicesScreen(KioskScreen):
    cols = NumericProperty(2)
    banner_text = StringProperty("")
    banner_kind = StringProperty("")
    """"", "priority", "printer" or "notice": decides the banner's colours."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._cards: dict[str, KioskServiceCard] = {}
        self._notice = ""
        self._notice_event: object = None

    def on_enter(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        app = self.kiosk
        statuses = app.core.statuses()
        ids = [s.service.id for s in statuses]
        if list(self._cards) != ids:
            grid = self.ids.grid
            grid.clear_widgets()
            self._cards = {}
            for sid in ids:
                card = KioskServiceCard(service_id=sid)
                card.bind(on_release=lambda c: self.kiosk.choose_service(c.service_id))
                grid.add_widget(card)
                self._cards[sid] = card
        n = len(ids)
        if app.portrait:
            self.cols = 1 if n <= 5 else 2
        else:
            self.cols = 1 if n == 1 else 2 if n <= 4 else 3 if n <= 9 else 4
        for status in statuses:
            self._fill(self._cards[status.service.id], status)
        self.update_banner()

    def _fill(self, card: KioskServiceCard, st: ServiceStatus) -> None:
        app = self.kiosk
        texts = app.tr.texts
        now = app.core.now_local()
        card.name = st.service.name(app.lang)
        card.icon = st.service.icon or "document"
        card.available = st.can_issue
        if st.availability is Availability.OPEN:
            card.badge = (
                texts._("No wait")
                if st.wait.minutes == 0
                else (texts._("{n} min").format(n=st.wait.minutes))
            )
            card.detail = texts.people(st.wait.ahead)
            if app.priority is not None and not st.service.priority_allowed:
                card.detail += "\n" + texts._("No priority ticket for this service")
        else:
            card.badge = (
                texts._("Closed") if st.availability is Availability.CLOSED else (texts._("Full"))
            )
            lines = []
            if st.availability is Availability.STOPPED:
                lines.append(texts._("No more tickets today"))
            if st.next_opening is not None:
                lines.append(texts._("Opens {when}").format(when=texts.when(st.next_opening, now)))
            card.detail = "\n".join(lines)

    def explain_unavailable(self, st: ServiceStatus) -> None:
        """A tap on a greyed service: say why, and when it opens next."""
        app = self.kiosk
        texts = app.tr.texts
        name = st.service.name(app.lang)
        if st.availability is Availability.STOPPED:
            text = texts._(
                "{service}: no more tickets today, the counters close before your turn."
            ).format(service=name)
        else:
            text = texts._("{service} is closed now.").format(service=name)
        if st.next_opening is not None:
            text += " " + texts._("Next opening: {when}.").format(
                when=texts.when(st.next_opening, app.core.now_local())
            )
        self._notice = text
        if self._notice_event is not None:
            self._notice_event.cancel()  # type: ignore[attr-defined]
        self._notice_event = Clock.schedule_once(self._clear_notice, NOTICE_SECONDS)
        self.update_banner()

    def _clear_notice(self, _dt: float) -> None:
        self._notice = ""
        self._notice_event = None
        self.update_banner()

    def update_banner(self) -> None:
        app = self.kiosk
        texts = app.tr.texts
        if self._notice:
            self.banner_kind, self.banner_text = "notice", self._notice
        elif app.printer_fault():
            self.banner_kind = "printer"
            self.banner_text = texts._(
                "The ticket printer is not working: your number will be shown on the screen."
            )
        elif app.priority is not None:
            self.banner_kind = "priority"
            self.banner_text = texts._("Priority ticket: {reason}. Choose your service.").format(
                reason=texts._(PRIORITY_LABELS.get(app.priority, app.priority))
            )
        else:
            self.banner_kind, self.banner_text = "", ""

    def leave(self) -> None:
        self.kiosk.end_visit()

    def cancel_priority(self) -> None:
        self.kiosk.priority = None
        self.refresh()
