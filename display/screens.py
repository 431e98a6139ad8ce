"""The board's screens and widgets (Kivy). Their look is in display/kv/, one file per screen.

Widgets only show what :class:`display.core.BoardView` says; they decide nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kivy.clock import Clock
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen
from kivy.uix.stencilview import StencilView
from kivy.uix.widget import Widget

from display.core import BoardView, CallView, ServiceView
from display.texts import long_date, pair, text, wait_text

TICKER_SPEED = 110.0
"""Scrolling message speed on a 1080p board (pixels per second)."""


def fit_font(label: str, width: float, largest: float, glyph_ratio: float = 0.62) -> float:
    """The largest font size up to ``largest`` at which ``label`` fits in ``width`` pixels."""
    if not label or width <= 0:
        return largest
    return max(8.0, min(largest, width / (glyph_ratio * len(label))))


class BoardArrow(Widget):
    """A solid right arrow drawn on the canvas (the board's fonts lack a crisp one)."""

    color = ListProperty([1, 1, 1, 1])


class BoardDot(Widget):
    color = ListProperty([1, 1, 1, 1])


class BoardCallPanel(FloatLayout):
    ticket = StringProperty("")
    counter = StringProperty("")
    service = StringProperty("")
    heading = StringProperty("")
    heading_2 = StringProperty("")
    recall_text = StringProperty("")
    idle_title = StringProperty("")
    idle_text = StringProperty("")
    idle_text_2 = StringProperty("")
    recall = BooleanProperty(False)
    flash = BooleanProperty(False)
    """True while the panel shows the accent colour (a new call blinking)."""


class BoardHistoryRow(BoxLayout):
    ticket = StringProperty("")
    counter = StringProperty("")
    index = NumericProperty(0)


class BoardHistoryPanel(BoxLayout):
    heading = StringProperty("")
    heading_2 = StringProperty("")
    rows = ListProperty([])

    def show(self, calls: tuple[CallView, ...], size: int) -> None:
        box = self.ids.rows
        if len(box.children) != size:
            box.clear_widgets()
            for i in range(size):
                box.add_widget(BoardHistoryRow(index=i))
        rows = list(reversed(box.children))
        for i, row in enumerate(rows):
            call = calls[i] if i < len(calls) else None
            row.ticket = call.ticket if call else ""
            row.counter = call.counter_label if call else ""


class BoardServiceCard(BoxLayout):
    prefix = StringProperty("")
    name = StringProperty("")
    waiting = StringProperty("")
    wait = StringProperty("")
    closed = BooleanProperty(False)


class BoardServicesBand(BoxLayout):
    heading = StringProperty("")
    count = NumericProperty(0)

    def show(self, services: tuple[ServiceView, ...], languages: tuple[str, ...]) -> None:
        box = self.ids.cards
        if len(box.children) != len(services):
            box.clear_widgets()
            for _ in services:
                box.add_widget(BoardServiceCard())
        self.count = len(services)
        lang = languages[0] if languages else "fr"
        for card, s in zip(reversed(box.children), services, strict=True):
            card.prefix = s.prefix
            card.name = s.name
            card.closed = not s.open_now
            if s.waiting:
                card.waiting = text("people", lang, n=s.waiting)
                card.wait = wait_text(s.wait_minutes or 0, lang)
            else:
                card.waiting = text("nobody" if s.open_now else "closed", lang)
                card.wait = ""


class BoardTicker(StencilView):
    """The scrolling message band."""

    message = StringProperty("")
    scale = NumericProperty(1.0)
    offset = NumericProperty(0.0)
    _event: Any = None

    def hold(self) -> None:
        """Stops scrolling with the message's start in view (steady screenshots)."""
        if self._event is not None:
            self._event.cancel()
            self._event = None
        self.offset = 24 * self.scale

    def on_message(self, _w: Widget, value: str) -> None:
        self.offset = 24 * self.scale
        if value and self._event is None:
            self._event = Clock.schedule_interval(self._step, 1 / 30)
        elif not value and self._event is not None:
            self._event.cancel()
            self._event = None

    def _step(self, dt: float) -> None:
        label: Label = self.ids.label
        width = label.texture_size[0]
        self.offset -= TICKER_SPEED * self.scale * min(dt, 0.1)
        if self.offset < -width:
            self.offset = self.width


class BoardScreen(Screen):
    portrait = BooleanProperty(False)
    message = StringProperty("")
    site_name = StringProperty("")
    clock = StringProperty("")
    date = StringProperty("")
    logo = StringProperty("")
    sync_colour = ListProperty([0.5, 0.5, 0.5, 1])
    buttons_colour = ListProperty([0, 0, 0, 0])
    virtual_help = StringProperty("")
    virtual_counter = StringProperty("")
    view = ObjectProperty(None, allownone=True)

    def show(self, view: BoardView, history_size: int) -> None:
        self.view = view
        self.site_name = view.site_name
        langs = view.languages
        call: BoardCallPanel = self.ids.call
        call.heading, call.heading_2 = pair("now_calling", langs)
        call.idle_title = " · ".join(x for x in pair("welcome", langs) if x)
        call.idle_text, call.idle_text_2 = pair("take_ticket", langs)
        call.recall_text = " · ".join(x for x in pair("recall", langs) if x)
        latest = view.latest
        call.ticket = latest.ticket if latest else ""
        call.counter = latest.counter_label if latest else ""
        call.service = latest.service_name if latest else ""
        call.recall = bool(latest and latest.recall)
        history: BoardHistoryPanel = self.ids.history
        history.heading, history.heading_2 = pair("last_calls", langs)
        history.show(view.history, history_size)
        services: BoardServicesBand = self.ids.services
        services.heading = " · ".join(x for x in pair("waiting", langs) if x)
        services.show(view.services, langs)

    def tick(self, now: datetime, lang: str) -> None:
        self.clock = now.strftime("%H:%M")
        self.date = long_date(now, lang)


class BoardStandbyScreen(Screen):
    title = StringProperty("Guichet")
    line_1 = StringProperty("")
    line_2 = StringProperty("")
