"""The kiosk's building blocks: translated text, tappable cards, the QR code, the staff dot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import qrcode
from kivy.app import App
from kivy.clock import Clock
from kivy.event import Observable
from kivy.graphics.texture import Texture
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.modalview import ModalView
from kivy.uix.widget import Widget

from kiosk import theme as T
from kiosk.i18n import Texts, language_name
from tickets import rtl


class Translator(Observable):
    """``tr._("Your ticket")`` in a kv rule is re-evaluated when the language changes.

    Kivy binds a kv rule to every ``name.attr`` it reads; binding to the ``_`` attribute of
    this object registers the rule here, and ``switch`` re-runs them all.
    """

    def __init__(self, lang: str) -> None:
        super().__init__()
        self.texts = Texts(lang)
        self._observers: dict[int, tuple[Callable[..., Any], tuple[Any, ...]]] = {}
        self._next_uid = 1

    @property
    def lang(self) -> str:
        return self.texts.lang

    def _(self, message: str) -> str:
        return self.texts._(message)

    def fbind(self, name: str, func: Callable[..., Any], *largs: Any, **kwargs: Any) -> int:
        if name != "_":
            return int(super().fbind(name, func, *largs, **kwargs))
        uid = self._next_uid
        self._next_uid += 1
        self._observers[uid] = (func, largs)
        return uid

    def funbind(self, name: str, func: Callable[..., Any], *largs: Any, **kwargs: Any) -> None:
        if name != "_":
            super().funbind(name, func, *largs, **kwargs)
            return
        for uid, (f, a) in list(self._observers.items()):
            if f == func and a == largs:
                del self._observers[uid]

    def unbind_uid(self, name: str, uid: int) -> None:
        if name != "_":
            super().unbind_uid(name, uid)
            return
        self._observers.pop(uid, None)

    def switch(self, lang: str) -> None:
        if lang == self.texts.lang:
            return
        self.texts = Texts(lang)
        for func, largs in list(self._observers.values()):
            func(*largs, None, None)


def place(widget: Widget, parent: Widget, shown: bool, index: int = 0) -> None:
    """Puts ``widget`` in ``parent`` at ``index`` (Kivy's: 0 is last on screen) when ``shown``,
    takes it out otherwise: a hidden button keeps no room (a touch target's minimum size would
    still take it)."""
    if shown and widget.parent is None:
        parent.add_widget(widget, index=index)
    elif not shown and widget.parent is not None:
        widget.parent.remove_widget(widget)


class KioskRow(rtl.MirroredRow, BoxLayout):
    """A box laid out from the right when the visit's language is written right to left
    (``app.rtl``): a horizontal row's first child is on the right (icons before text, a
    reader's start). Vertical boxes are left alone."""

    running_app = staticmethod(App.get_running_app)


class KioskPanel(KioskRow):
    """A box with a rounded background colour and an optional border."""

    bg = ColorProperty((0, 0, 0, 0))
    border_color = ColorProperty((0, 0, 0, 0))
    radius = NumericProperty(0)


class KioskTappable(ButtonBehavior, KioskPanel):
    """Anything a finger presses: a card or a button with content laid out in kv; it darkens
    while the finger is down."""


class KioskText(Label):
    """A label that wraps to its width and takes the height of its text."""

    min_lines = NumericProperty(1)
    align = StringProperty("start")
    """"start" (the reading side: right in a right-to-left visit), "center" or "right"."""


_MEASURED: dict[tuple[str, float, float, bool], tuple[float, float]] = {}


def measure_text(
    text: str, font_size: float, width: float, bold: bool = True
) -> tuple[float, float]:
    """(widest word, height) of ``text`` wrapped to ``width`` at ``font_size``, as a Label with
    ``text_size = (width, None)`` draws it (window pixels)."""
    from kivy.uix.label import CoreLabel  # shapes Arabic once the app has installed it

    key = (text, round(font_size, 1), round(width, 1), bold)
    if key not in _MEASURED:
        if not text:
            _MEASURED[key] = (0.0, 0.0)
        else:
            core = CoreLabel(text=text, font_size=font_size, bold=bold, text_size=(width, None))
            core.refresh()
            height = float(core.texture.size[1]) if core.texture is not None else 0.0
            words = core.text.split()  # as drawn: Arabic shaped
            word = max(core.get_extents(w)[0] for w in words) if words else 0
            _MEASURED[key] = (float(word), height)
    return _MEASURED[key]


class KioskFitText(Label):
    """A label that wraps to its width and shrinks, from ``max_font`` down to ``min_font``
    (window pixels), until its text fits its box with no word cut in two."""

    max_font = NumericProperty(30)
    min_font = NumericProperty(24)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._trigger_fit = Clock.create_trigger(self._fit, -1)
        self.bind(
            size=self._trigger_fit,
            text=self._trigger_fit,
            max_font=self._trigger_fit,
            min_font=self._trigger_fit,
            bold=self._trigger_fit,
        )

    def _fit(self, *_: object) -> None:
        size = self.max_font
        step = max(1.0, self.min_font / 24)
        while size > self.min_font:
            word, height = measure_text(self.text, size, self.width, self.bold)
            if word <= self.width and height <= self.height:
                break
            size = max(self.min_font, size - step)
        self.font_size = size


class KioskServiceCard(KioskTappable):
    service_id = StringProperty("")
    name = StringProperty("")
    detail = StringProperty("")
    badge = StringProperty("")
    icon = StringProperty("document")
    available = BooleanProperty(True)


class KioskButton(KioskTappable):
    """A labelled button, optionally with a pictogram."""

    text = StringProperty("")
    icon = StringProperty("")
    fg = ColorProperty((1, 1, 1, 1))
    font_size = NumericProperty(30)
    icon_size = NumericProperty(48)
    """Width of the pictogram beside the text (design pixels)."""


class KioskQRCode(Widget):
    """A QR code drawn from the ``qrcode`` package's module matrix as a nearest-filtered
    texture (white quiet zone included)."""

    data = StringProperty("")
    texture = ObjectProperty(None, allownone=True)
    modules = NumericProperty(0)

    def on_data(self, _instance: object, value: str) -> None:
        if not value:
            self.texture = None
            self.modules = 0
            return
        qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
        qr.add_data(value)
        qr.make(fit=True)
        matrix: list[list[bool]] = qr.get_matrix()
        n = len(matrix)
        buf = bytearray()
        for row in reversed(matrix):  # textures start at the bottom row
            for dark in row:
                buf += b"\x00\x00\x00\xff" if dark else b"\xff\xff\xff\xff"
        tex = Texture.create(size=(n, n), colorfmt="rgba")
        tex.blit_buffer(bytes(buf), colorfmt="rgba", bufferfmt="ubyte")
        tex.mag_filter = "nearest"
        tex.min_filter = "nearest"
        self.modules = n
        self.texture = tex


class KioskStaffDot(Widget):
    """A small dot for staff in a corner: sync state (fill) and printer trouble (ring)."""

    fill = ColorProperty((0.5, 0.5, 0.5, 1))
    ring = ColorProperty((0, 0, 0, 0))


class KioskLanguageBar(KioskRow):
    """One button per language of the site, each named in its own language. With
    ``exclude_current`` the language in use has no button (a switch to the others). When more
    languages than ``max_buttons`` (0: no limit) would be shown, the last button names the
    others and opens a chooser with every language (:class:`KioskLanguageChooser`).
    Dispatches ``on_choose(lang)``."""

    languages = ListProperty()
    current = StringProperty("")
    exclude_current = BooleanProperty(False)
    icons = BooleanProperty(True)
    """Show the language pictogram on the buttons (when ``exclude_current``)."""
    max_buttons = NumericProperty(0)
    button_bg = ColorProperty((1, 1, 1, 1))
    button_fg = ColorProperty((0, 0, 0, 1))
    current_bg = ColorProperty((1, 1, 1, 1))
    current_fg = ColorProperty((0, 0, 0, 1))

    __events__ = ("on_choose",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._trigger_rebuild = Clock.create_trigger(self._rebuild, -1)
        self.bind(
            languages=self._trigger_rebuild,
            current=self._trigger_rebuild,
            exclude_current=self._trigger_rebuild,
            icons=self._trigger_rebuild,
            max_buttons=self._trigger_rebuild,
            button_bg=self._trigger_rebuild,
            button_fg=self._trigger_rebuild,
            current_bg=self._trigger_rebuild,
            current_fg=self._trigger_rebuild,
        )

    def _button(self, text: str, mine: bool) -> KioskButton:
        return KioskButton(
            text=text,
            icon="language" if self.exclude_current and self.icons else "",
            bg=self.current_bg if mine else self.button_bg,
            fg=self.current_fg if mine else self.button_fg,
            font_size=T.FONT_BUTTON,
        )

    def _rebuild(self, *_: object) -> None:
        self.clear_widgets()
        shown = [
            lang for lang in self.languages if not (self.exclude_current and lang == self.current)
        ]
        limit = int(self.max_buttons)
        hidden: list[str] = []
        if limit and len(shown) > limit:
            # The language in use keeps its button; the last ones go behind "more".
            keep = [lang for lang in shown if lang == self.current][: limit - 1]
            keep += [lang for lang in shown if lang not in keep][: limit - 1 - len(keep)]
            hidden = [lang for lang in shown if lang not in keep]
            shown = [lang for lang in shown if lang in keep]
        for lang in shown:
            button = self._button(language_name(lang), lang == self.current)
            button.bind(on_release=lambda _b, lang=lang: self.dispatch("on_choose", lang))
            self.add_widget(button)
        if hidden:
            more = self._button(" · ".join(language_name(lang) for lang in hidden), False)
            more.font_size = T.FONT_SMALL
            more.bind(on_release=lambda _b: self.open_chooser())
            self.add_widget(more)

    def open_chooser(self) -> KioskLanguageChooser:
        chooser = KioskLanguageChooser(languages=self.languages, current=self.current)
        chooser.bind(on_choose=lambda _c, lang: self.dispatch("on_choose", lang))
        chooser.open()
        return chooser

    def on_choose(self, lang: str) -> None:
        pass


class KioskLanguageChooser(ModalView):
    """Every language of the site, one large button each, over the screen."""

    languages = ListProperty()
    current = StringProperty("")

    __events__ = ("on_choose",)

    def on_kv_post(self, _base: object) -> None:
        grid = self.ids.grid
        for lang in self.languages:
            mine = lang == self.current
            button = KioskButton(
                text=language_name(lang),
                bg=T.SURFACE if mine else T.PRIMARY,
                fg=T.INK if mine else T.ON_PRIMARY,
                font_size=T.FONT_BUTTON,
            )
            button.bind(on_release=lambda _b, lang=lang: self._chosen(lang))
            grid.add_widget(button)

    def _chosen(self, lang: str) -> None:
        self.dismiss()
        self.dispatch("on_choose", lang)

    def on_choose(self, lang: str) -> None:
        pass
