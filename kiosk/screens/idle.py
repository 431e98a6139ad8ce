"""The idle screen: the site, the time, and an invitation to touch."""

from __future__ import annotations

from kiosk.screens.base import KioskScreen


class IdleScreen(KioskScreen):
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
