"""The idle screen: the site, the time, and an invitation to touch."""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty

from kiosk.screens.base import KioskScreen
from kiosk.widgets import place


class IdleScreen(KioskScreen):
    checkin_in_row = BooleanProperty(False)
    """The "I have an appointment" button sits in the bottom row (landscape); in portrait it
    has a row of its own."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._placed: dict[str, Any] = {}
        """The buttons ``place`` puts in and out (ids hold weak references only)."""
        Clock.schedule_once(lambda _dt: self._watch())

    def _watch(self) -> None:
        for name in ("checkin", "checkin_row", "bottom_row", "touch_area"):
            self._placed[name] = self.ids[name].__self__  # ids hold weak proxies
        self.kiosk.bind(takes_appointments=self._place, portrait=self._place)
        self._place()

    def _place(self, *_: object) -> None:
        if not self._placed:
            return
        app, w = self.kiosk, self._placed
        place(w["checkin"], w["bottom_row"], self.checkin_in_row, 1)
        place(w["checkin_row"], w["touch_area"], app.takes_appointments and app.portrait, 1)

    def on_checkin_in_row(self, *_: object) -> None:
        self._place()

    def checkin_button(self) -> Any:
        """The "I have an appointment" button on screen (none when no service takes
        appointments)."""
        return self._placed["checkin" if self.checkin_in_row else "checkin_row"]

    def spoken(self) -> str:
        texts = self.kiosk.tr.texts
        return " ".join(
            (
                texts._("Touch the screen to take a ticket") + ".",
                texts._(
                    "Then choose your service. Your number will be called on the screens in "
                    "the waiting room."
                ),
            )
        )

    def start(self) -> None:
        self.kiosk.go("services")

    def choose_language(self, lang: str) -> None:
        """Picking a language on the idle screen starts the visit in that language."""
        self.kiosk.set_language(lang)
        self.start()
