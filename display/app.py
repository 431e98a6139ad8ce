"""The board's Kivy application: screens, the flash of a new call, the clock, the watchdog.

Everything that is not drawing lives in :class:`display.runtime.Board`; its callbacks arrive on
worker threads and are posted here with ``Clock.schedule_once``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.config import Config
from kivy.core.window import Window
from kivy.graphics.opengl import glFinish
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.screenmanager import NoTransition, ScreenManager

from config.display import DisplaySettings
from display.core import CallView
from display.runtime import Board
from display.screens import BoardScreen, BoardStandbyScreen
from display.texts import FALLBACK_LANGUAGE, pair, text
from display.virtual import KEYS
from tickets import rtl
from tickets.i18n import direction
from tickets.sdnotify import Notifier

log = logging.getLogger(__name__)

KV_DIR = Path(__file__).resolve().parent / "kv"
KV_FILES = ("board.kv", "standby.kv")
FLASH_PERIOD = 0.5
"""Half-period of the blinking of a new call (seconds)."""
REFRESH_SECONDS = 20.0
"""Wait estimates and the day change are recomputed this often even without events (s)."""
DIGIT_WINDOW = 1.2
"""Digits typed within this many seconds of each other form one counter id (virtual box)."""


def rgba(hex_colour: str) -> list[float]:
    return [int(hex_colour[i : i + 2], 16) / 255.0 for i in (1, 3, 5)] + [1.0]


def load_kv() -> None:
    """Loads each screen's .kv once per process, from the package folder."""
    for name in KV_FILES:
        path = str(KV_DIR / name)
        if path not in Builder.files:
            Builder.load_file(path)


def _finish_frame(*_: Any) -> None:
    glFinish()


class BoardApp(App):
    s = NumericProperty(1.0)
    """Scale of the design (1.0 on a 1080p board)."""
    portrait = BooleanProperty(False)
    c_bg = ListProperty([0, 0, 0, 1])
    c_panel = ListProperty([0, 0, 0, 1])
    c_text = ListProperty([1, 1, 1, 1])
    c_muted = ListProperty([1, 1, 1, 1])
    c_accent = ListProperty([1, 1, 0, 1])
    c_accent_text = ListProperty([0, 0, 0, 1])
    hex_text = StringProperty("ffffff")
    rtl = BooleanProperty(False)
    """The site's first language is written right to left: the board's rows mirror."""

    def __init__(
        self, board: Board, settings: DisplaySettings, notifier: Notifier | None = None
    ) -> None:
        super().__init__()
        self.board = board
        self.settings = settings
        self.notifier = notifier or Notifier()
        self.title = f"Guichet board {settings.device_id}"  # the demo's windows told apart
        colours = settings.colours
        self.c_bg = rgba(colours.background)
        self.c_panel = rgba(colours.panel)
        self.c_text = rgba(colours.text)
        self.c_muted = rgba(colours.muted)
        self.c_accent = rgba(colours.accent)
        self.c_accent_text = rgba(colours.accent_text)
        self.hex_text = colours.text.lstrip("#")
        self.shown_calls: list[CallView] = []
        """Calls the screen flashed, in order (tests, the self-test and the simulator)."""
        self._flash_event: Any = None
        self._flash_end: Any = None
        self._digits = ""
        self._digit_at = 0.0
        self._events: list[Any] = []
        self._ready = False

    # ---- building -----------------------------------------------------------------------
    def build(self) -> ScreenManager:
        import kivy.uix.label

        rtl.install(kivy.uix.label)  # every label shapes Arabic (the one place: tickets/rtl.py)
        # No way out from a keyboard: Escape must not end the board (read at each key press).
        Config.set("kivy", "exit_on_escape", "0")
        load_kv()
        sm = ScreenManager(transition=NoTransition())
        self.board_screen = BoardScreen(name="board")
        self.standby_screen = BoardStandbyScreen(name="standby")
        sm.add_widget(self.board_screen)
        sm.add_widget(self.standby_screen)
        self.board_screen.message = self.settings.message
        if self.settings.logo is not None and self.settings.logo.exists():
            self.board_screen.logo = str(self.settings.logo)
        if self.board.virtual is not None:
            self.board_screen.virtual_help = text(
                "Virtual box: digit = counter, N next, R recall, D done, A absent, O open, C close",
                FALLBACK_LANGUAGE,
            )
        self.standby_screen.line_1 = text("Starting the display board…", FALLBACK_LANGUAGE)
        self.standby_screen.line_2 = text("Waiting for the site configuration", FALLBACK_LANGUAGE)
        if self.settings.rotation:
            Window.rotation = self.settings.rotation
        Window.bind(size=self._layout, on_key_down=self._key, on_request_close=self._close)
        # One frame in flight: the renderer finishes each frame before the next is built. A
        # software renderer (Mesa's llvmpipe) otherwise queues frames of the scrolling message
        # (30 a second) and holds memory for each: x1.8 a minimal Kivy app's, x1.2 with this
        # (docs/performance.md). A board draws little; waiting for it costs nothing visible.
        Window.bind(on_flip=_finish_frame)
        self._layout(Window, Window.size)
        return sm

    def on_start(self) -> None:
        b = self.board
        b.listener = self
        b.start()
        self._events = [
            Clock.schedule_interval(self._tick, 1.0),
            Clock.schedule_interval(lambda _dt: self.refresh(), REFRESH_SECONDS),
        ]
        interval = self.notifier.watchdog_interval()
        if interval is not None:
            self._events.append(Clock.schedule_interval(lambda _dt: self._watchdog(), interval))
        self.refresh()
        self._tick(0)
        Clock.schedule_once(self._first_frame, 0)

    def on_stop(self) -> None:
        for ev in self._events:
            ev.cancel()
        self._events.clear()
        self._stop_flash()
        self.board_screen.ids.ticker.message = ""  # ends its scrolling clock
        Window.unbind(size=self._layout, on_key_down=self._key, on_request_close=self._close)
        Window.unbind(on_flip=_finish_frame)
        if self.settings.rotation:
            Window.rotation = 0
        self.board.listener = None
        self.board.stop()
        self.notifier.stopping()

    def _first_frame(self, _dt: float) -> None:
        self._ready = True
        self.notifier.ready(status="board shown")

    def _watchdog(self) -> None:
        self.notifier.watchdog()

    def _close(self, *_args: Any, **_kw: Any) -> bool:
        # Full screen, nobody at the keyboard may close the board; windowed (demo) they may.
        return self.settings.fullscreen

    def _layout(self, _window: Any, size: tuple[int, int]) -> None:
        w, h = size
        want = self.settings.orientation
        self.portrait = want == "portrait" or (want == "auto" and h > w)
        if self.portrait:
            self.s = min(w / 1080.0, h / 1920.0)
        else:
            self.s = min(w / 1920.0, h / 1080.0)
        self.board_screen.portrait = self.portrait

    # ---- from the board (any thread) ----------------------------------------------------
    def board_changed(self) -> None:
        Clock.schedule_once(lambda _dt: self.refresh(), 0)

    def board_calls(self, calls: list[CallView]) -> None:
        Clock.schedule_once(lambda _dt: self._calls(calls), 0)

    def board_status(self) -> None:
        Clock.schedule_once(lambda _dt: self._status(), 0)

    # ---- on the UI thread ---------------------------------------------------------------
    def refresh(self) -> None:
        core = self.board.core
        if core is None:
            self.root.current = "standby"
            return
        self.root.current = "board"
        view = core.view()
        self.rtl = bool(view.languages) and direction(view.languages[0]) == "rtl"
        self.board_screen.show(view, self.settings.history)
        if not self.board_screen.ids.call.ticket:
            # The call ended (done, absent) while it blinked: the welcome is never shown on the
            # accent colour, where its light text would not be read.
            self._stop_flash()
        self._status()

    def _calls(self, calls: list[CallView]) -> None:
        self.refresh()
        self.shown_calls.extend(calls)
        self.flash()

    def _status(self) -> None:
        b = self.board
        colours = self.settings.colours
        sync = b.sync_colour()
        self.board_screen.sync_colour = rgba(getattr(colours, sync))
        buttons = b.buttons_colour()
        self.board_screen.buttons_colour = (
            [0, 0, 0, 0] if buttons is None else rgba(getattr(colours, buttons))
        )

    def _tick(self, _dt: float) -> None:
        core = self.board.core
        if core is None:
            return
        now = core.site.local(self.board.clock())
        self.board_screen.tick(now, core.site.languages[0] if core.site.languages else "fr")

    def flash(self) -> None:
        """Blinks the latest call in the accent colour for ``flash_seconds``."""
        self._stop_flash()
        call = self.board_screen.ids.call
        seconds = self.settings.flash_seconds
        if seconds <= 0:
            return
        call.flash = True

        def toggle(_dt: float) -> None:
            call.flash = not call.flash

        self._flash_event = Clock.schedule_interval(toggle, FLASH_PERIOD)
        self._flash_end = Clock.schedule_once(lambda _dt: self._stop_flash(), seconds)

    def _stop_flash(self) -> None:
        for ev in (self._flash_event, self._flash_end):
            if ev is not None:
                ev.cancel()
        self._flash_event = self._flash_end = None
        if self.root is not None:
            self.board_screen.ids.call.flash = False

    # ---- the virtual button box ---------------------------------------------------------
    def _key(self, _window: Any, key: int, _scancode: int, codepoint: str | None, *_: Any) -> bool:
        box = self.board.virtual
        if box is None or not codepoint:
            return False
        now = Clock.get_time()
        if codepoint.isdigit():
            self._digits = (self._digits if now - self._digit_at < DIGIT_WINDOW else "") + codepoint
            self._digit_at = now
            core = self.board.core
            langs = core.site.languages if core else ("fr",)
            counter = core.site.counter(self._digits) if core else None
            label = counter.label if counter else pair("Counter", langs)[0] + " " + self._digits
            self.board_screen.virtual_counter = f"[ {label} ]"
            return True
        action = KEYS.get(codepoint.lower())
        if action is None or not self._digits:
            return False
        box.press(self._digits, action)
        return True
