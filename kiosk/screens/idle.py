"""The idle screen: the site, the time, and an invitation to touch."""

from __future__ import annotations

from kiosk.screens.base import KioskScreen


class IdleScreen(KioskScreen):
    def start(self) -> None:
        self.kiosk.go("services")

    def choose_language(self, lang: str) -> None:
        """Picking a language on the idle screen starts the visit in that language."""
        self.kiosk.set_language(lang)
        self.start()
