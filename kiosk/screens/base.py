"""What every kiosk screen shares."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.uix.screenmanager import Screen


class KioskScreen(Screen):
    @property
    def kiosk(self) -> Any:
        """The running KioskApp."""
        return App.get_running_app()

    def spoken(self) -> str:
        """What "Listen" reads aloud on this screen, in the visit's language."""
        return ""
