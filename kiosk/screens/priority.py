"""The priority ticket choice: the reasons the site accepts, each a large button."""

from __future__ import annotations

from kivy.properties import NumericProperty

from kiosk import theme as T
from kiosk.i18n import PRIORITY_LABELS
from kiosk.screens.base import KioskScreen
from kiosk.widgets import KioskButton


class PriorityScreen(KioskScreen):
    cols = NumericProperty(3)

    def on_pre_enter(self) -> None:
        self.rebuild()

    def rebuild(self) -> None:
        app = self.kiosk
        reasons = app.core.priority_reasons()
        self.cols = 1 if app.portrait else max(1, min(3, len(reasons)))
        grid = self.ids.reasons
        grid.clear_widgets()
        for reason in reasons:
            button = KioskButton(
                text=app.tr._(PRIORITY_LABELS.get(reason, reason)),
                icon=reason,
                bg=T.SURFACE,
                fg=T.PRIORITY,
                border_color=T.BORDER,
                font_size=T.FONT_BUTTON,
                icon_size=80,
                orientation="horizontal" if app.portrait else "vertical",
            )
            button.bind(on_release=lambda _b, r=reason: self.choose(r))
            grid.add_widget(button)

    def spoken(self) -> str:
        app = self.kiosk
        texts = app.tr.texts
        reasons = [texts._(PRIORITY_LABELS.get(r, r)) for r in app.core.priority_reasons()]
        return texts._("Priority ticket") + ". " + ". ".join(reasons) + "."

    def choose(self, reason: str) -> None:
        self.kiosk.priority = reason
        self.kiosk.go("services")

    def back(self) -> None:
        self.kiosk.priority = None
        self.kiosk.go("services")
