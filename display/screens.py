"""The board's screens and widgets (Kivy). Their look is in display/kv/, one file per screen.

Widgets only show what :class:`display.core.BoardView` says; they decide nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kivy.app import App
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
from display.texts import long_date, pair, people, text, wait_text
from tickets import rtl

TICKER_SPEED = 110.0
"""Scrolling message speed on a 1080p board (pixels per second)."""


def fit_font(label: str, width: float, largest: float, glyph_ratio: float = 0.62) -> float:
    """The largest font size up to ``largest`` at which ``label`` fits in ``width`` pixels."""
    if not label or width <= 0:
        return largest
    return max(8.0, min(largest, width / (glyph_ratio * len(label))))


class BoardRow(rtl.MirroredRow, BoxLayout):
    """A box laid out from the right when the board's first language is written right to left
    (``app.rtl``): a horizontal row's first child is on the right. Vertical boxes are left
    alone."""

    running_app = staticmethod(App.get_running_app)


class BoardArrow(Widget):
    """A solid arrow towards the counter, drawn on the canvas (the board's fonts lack a crisp
    one): pointing right, or left on a right-to-left board."""

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


class BoardHistoryRow(BoardRow):
    ticket = StringProperty("")
    counter = StringProperty("")
    index = NumericProperty(0)


class BoardHistoryPanel(BoxLayout):
    heading = StringProperty("")
    heading_2 = StringProperty("")
    rows = ListProperty([])
    row_count = NumericProperty(6)

    def show(self, calls: tuple[CallView, ...], size: int) -> None:
        self.row_count = size
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


class BoardFitLabel(Label):
    """A label that wraps to its width and shrinks from ``max_font`` to ``min_font`` until the
    text fits its box with no word cut; below that it is shortened."""

    max_font = NumericProperty(32)
    min_font = NumericProperty(24)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._trigger_fit = Clock.create_trigger(self._fit, -1)
        self.bind(size=self._trigger_fit, text=self._trigger_fit, max_font=self._trigger_fit)

    def _fit(self, *_: object) -> None:
        from kivy.uix.label import CoreLabel  # shapes Arabic once the board has installed it

        size = self.max_font
        while True:
            core = CoreLabel(
                text=self.text, font_size=size, bold=self.bold, text_size=(self.width, None)
            )
            widest = max((core.get_extents(w)[0] for w in core.text.split()), default=0)
            core.refresh()
            height = core.texture.size[1] if core.texture is not None else 0
            if (widest <= self.width and height <= self.height) or size <= self.min_font:
                break
            size = max(self.min_font, size - max(1.0, self.min_font / 24))
        self.font_size = size


class BoardServiceCard(BoardRow):
    prefix = StringProperty("")
    name = StringProperty("")
    waiting = StringProperty("")
    wait = StringProperty("")
    closed = BooleanProperty(False)


PAGE_SECONDS = 8.0
"""How long each page of service cards stays when they do not all fit (seconds)."""


class BoardServicesBand(BoardRow):
    """People waiting per service: one row of four cards in landscape, two rows of two in
    portrait, whatever the number of services, so the history keeps its size; more services
    take turns, a page every PAGE_SECONDS."""

    heading = StringProperty("")
    count = NumericProperty(0)
    """Cards on the page shown."""
    per_page = NumericProperty(4)
    page = NumericProperty(0)
    pages = NumericProperty(1)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._services: tuple[ServiceView, ...] = ()
        self._lang = "fr"
        self._turn = Clock.schedule_interval(lambda _dt: self.next_page(), PAGE_SECONDS)

    def next_page(self) -> None:
        if self.pages > 1:
            self.page = (int(self.page) + 1) % int(self.pages)
            self._render()

    def show(self, services: tuple[ServiceView, ...], languages: tuple[str, ...]) -> None:
        self._services = services
        self._lang = languages[0] if languages else "fr"
        self._render()

    def _render(self) -> None:
        per = max(1, int(self.per_page))
        self.pages = max(1, -(-len(self._services) // per))
        self.page = min(int(self.page), int(self.pages) - 1)
        start = int(self.page) * per
        services = self._services[start : start + per]
        box = self.ids.cards
        if len(box.children) != len(services):
            box.clear_widgets()
            for _ in services:
                box.add_widget(BoardServiceCard())
        self.count = len(services)
        lang = self._lang
        for card, s in zip(reversed(box.children), services, strict=True):
            card.prefix = s.prefix
            card.name = s.name
            card.closed = not s.open_now
            if s.waiting:
                card.waiting = people(s.waiting, lang)
                card.wait = wait_text(s.wait_minutes or 0, lang)
            else:
                card.waiting = text("No wait" if s.open_now else "Closed", lang)
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
        call.heading, call.heading_2 = pair("Now calling", langs)
        call.idle_title = " · ".join(x for x in pair("Welcome", langs) if x)
        call.idle_text, call.idle_text_2 = pair("Please take a ticket at the kiosk", langs)
        call.recall_text = " · ".join(x for x in pair("Recall", langs) if x)
        latest = view.latest
        call.ticket = latest.ticket if latest else ""
        call.counter = latest.counter_label if latest else ""
        call.service = latest.service_name if latest else ""
        call.recall = bool(latest and latest.recall)
        history: BoardHistoryPanel = self.ids.history
        history.heading, history.heading_2 = pair("Last calls", langs)
        history.show(view.history, history_size)
        services: BoardServicesBand = self.ids.services
        services.heading = " · ".join(x for x in pair("Waiting", langs) if x)
        services.show(view.services, langs)

    def tick(self, now: datetime, lang: str) -> None:
        self.clock = now.strftime("%H:%M")
        self.date = long_date(now, lang)


class BoardStandbyScreen(Screen):
    title = StringProperty("Guichet")
    line_1 = StringProperty("")
    line_2 = StringProperty("")
