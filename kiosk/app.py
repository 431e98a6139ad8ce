"""The kiosk's Kivy application: screens, navigation, language, and the bridge to the worker.

Work that touches a disk, a socket or the printer runs on the runtime's single I/O worker
thread; its results come back to the UI thread with ``Clock.schedule_once``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder, global_idmap
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.screenmanager import FadeTransition, ScreenManager

from config.site import SiteConfig
from kiosk import theme as T
from kiosk.checkin import CheckInResult
from kiosk.core import Availability, IssueResult, Outcome, ServiceStatus
from kiosk.i18n import catalog_languages
from kiosk.icons import KioskIcon
from kiosk.runtime import KioskRuntime
from kiosk.scanner import MAX_LINE, code_of
from kiosk.screens import KV_FILES, SCREENS
from kiosk.speech import Speaker, Utterance
from kiosk.widgets import KioskStaffDot, Translator
from printer import FAULTS, STAFF_WARNINGS, PrinterState
from tickets import rtl
from tickets.sdnotify import Notifier

log = logging.getLogger(__name__)

WIDGETS_KV = Path(__file__).resolve().parent / "widgets.kv"
PRINTER_CHECK_SECONDS = 30.0
"""How often the printer's status is asked when no ticket is being printed (seconds)."""
INACTIVE_SCREENS = ("services", "priority", "longwait", "checkin", "booking")
SCAN_GAP_SECONDS = 1.0
"""Typed characters further apart than this start a new scanned line (a scanner in keyboard
mode types a whole code within milliseconds)."""


def load_kv() -> None:
    """Loads the kiosk's kv files once per process (paths anchored at the package). The kv
    rules name classes Kivy's factory knows once their modules are imported (KioskIcon, widgets)."""
    assert KioskIcon is not None
    for path in (WIDGETS_KV, *KV_FILES):
        if str(path) not in Builder.files:
            Builder.load_file(str(path))


class KioskApp(App):
    lang = StringProperty("fr")
    scale = NumericProperty(1.0)
    portrait = BooleanProperty(False)
    clock_text = StringProperty("")
    date_text = StringProperty("")
    site_name = StringProperty("")
    languages = ListProperty()
    rtl = BooleanProperty(False)
    """The visit's language is written right to left: rows and text alignment mirror."""
    sync_state = StringProperty("never")
    """The sync worker's state (tickets.sync.SyncState value)."""
    printer_state = StringProperty(PrinterState.UNKNOWN.value)
    priority = ObjectProperty(None, allownone=True)
    """The priority reason chosen during this visit, or None."""
    busy = BooleanProperty(False)
    """A ticket is being issued: further taps on services are ignored."""
    listening = BooleanProperty(False)
    """The visitor pressed "Listen": each screen is read aloud as it appears."""
    takes_appointments = BooleanProperty(False)
    """A service of the site takes appointments: the kiosk offers check-in."""

    def __init__(
        self, runtime: KioskRuntime, notifier: Notifier | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.runtime = runtime
        self.core = runtime.core
        self.notifier = notifier or Notifier()
        # Named after the device: the demo's (and a test bench's) windows are told apart.
        self.title = f"Guichet kiosk {runtime.settings.device_id}"
        self._printer_known = False
        """Whether the printer has answered at least once (its "unknown" is then real)."""
        self.default_language = self._site_language()
        """The language each visit starts in: the site's first."""
        self.tr = Translator(self.default_language)
        self.lang = self.tr.lang
        self.rtl = self.tr.texts.rtl
        self.sm: ScreenManager | None = None
        self.dot: KioskStaffDot | None = None
        self.last_result: IssueResult | None = None
        self._events: list[Any] = []
        self.speaker = Speaker()
        self._sound: Any = None
        self._inactive_since = 0.0
        self._typed = ""
        self._typed_at = 0.0

    # ---- building -----------------------------------------------------------------------
    def _site_language(self) -> str:
        langs = self.core.site.languages
        return langs[0] if langs else "fr"

    def build(self) -> FloatLayout:
        import kivy.uix.label

        rtl.install(kivy.uix.label)  # every label shapes Arabic (the one place: tickets/rtl.py)
        global_idmap["tr"] = self.tr
        load_kv()
        Window.clearcolor = T.BACKGROUND
        self._apply_site(self.core.site_config)
        self._resized(Window, Window.size)  # the screens are built for the right orientation
        self.sm = ScreenManager(transition=FadeTransition(duration=0.12))
        for cls in SCREENS:
            self.sm.add_widget(cls())
        root = FloatLayout()
        root.add_widget(self.sm)
        self.dot = KioskStaffDot(pos_hint={"right": 0.995, "top": 0.993})
        root.add_widget(self.dot)
        Window.bind(size=self._resized, on_touch_down=self._touched)
        Window.bind(on_textinput=self.key_typed, on_key_down=self._key_down)
        self._resized(Window, Window.size)
        self._tick(0)
        self._update_dot()
        return root

    def _apply_site(self, site: SiteConfig) -> None:
        self.site_name = site.site.name
        self.takes_appointments = any(s.appointments is not None for s in site.services)
        known = set(catalog_languages())
        langs = [lang for lang in site.site.languages if lang in known or lang == "en"]
        self.languages = langs or [self._site_language()]

    def _resized(self, _window: object, size: tuple[int, int]) -> None:
        w, h = size
        self.scale = T.scale_for(w, h)
        self.portrait = h > w

    def on_start(self) -> None:
        Clock.schedule_interval(self._tick, 1.0)
        Clock.schedule_interval(self._check_inactivity, 1.0)
        Clock.schedule_interval(lambda _dt: self.check_printer(), PRINTER_CHECK_SECONDS)
        self.check_printer()
        self.runtime.start_sync(
            on_events=lambda ev: Clock.schedule_once(lambda _dt: self.refresh()),
            on_state=lambda st: Clock.schedule_once(lambda _dt: self._set_sync(st)),
            on_config=lambda site: Clock.schedule_once(lambda _dt: self._site_changed(site)),
        )
        # Check-in: the day's appointments kept for offline use, and a serial scanner's codes
        # printed as tickets, shown like the keypad's.
        self.runtime.start_appointments(
            lambda result: Clock.schedule_once(lambda _dt: self._scanned(result))
        )
        interval = self.notifier.watchdog_interval()
        if interval is not None:
            Clock.schedule_interval(lambda _dt: self.notifier.watchdog(), interval)
        Clock.schedule_once(lambda _dt: self.notifier.ready("kiosk showing its idle screen"))

    def on_stop(self) -> None:
        Window.unbind(on_textinput=self.key_typed, on_key_down=self._key_down)
        self.notifier.stopping()
        self._stop_sound()
        self.speaker.close()

    # ---- navigation ---------------------------------------------------------------------
    def screen(self, name: str) -> Any:
        assert self.sm is not None
        return self.sm.get_screen(name)

    @property
    def current(self) -> str:
        return self.sm.current if self.sm is not None else ""

    def go(self, name: str) -> None:
        assert self.sm is not None
        self._inactive_since = Clock.get_time()
        if name in ("services", "priority"):
            self.refresh()
        self.sm.current = name
        if self.listening:
            Clock.schedule_once(self._speak_when_shown)

    def set_language(self, lang: str) -> None:
        self.tr.switch(lang)
        self.rtl = self.tr.texts.rtl
        self.lang = lang
        self._tick(0)

    def end_visit(self) -> None:
        """Back to the idle screen, in the site's first language, without priority."""
        self.priority = None
        self.busy = False
        self.listening = False
        self._stop_sound()
        if self.sm is not None:
            self.screen("services").page = 0
            self.screen("services").category = ""
        self.set_language(self.default_language)
        self.go("idle")

    def _touched(self, *_: object) -> None:
        self._inactive_since = Clock.get_time()

    def _check_inactivity(self, _dt: float) -> None:
        if self.current not in INACTIVE_SCREENS:
            return
        limit = self.runtime.settings.idle_after_seconds
        if Clock.get_time() - self._inactive_since > limit:
            self.end_visit()

    def _tick(self, _dt: float) -> None:
        now = self.core.now_local()
        texts = self.tr.texts
        self.clock_text = texts.clock(now)
        self.date_text = texts.date(now)

    def refresh(self) -> None:
        """Re-reads the services' state (after events, a language switch, a config change)."""
        if self.sm is None:
            return
        self.screen("services").refresh()

    def _site_changed(self, site: SiteConfig) -> None:
        self._apply_site(site)
        self.default_language = self._site_language()
        if self.lang not in self.languages:
            self.set_language(self.default_language)
        self.refresh()

    # ---- reading aloud ------------------------------------------------------------------
    def listen(self) -> None:
        """The "Listen" button: reads this screen now, and the next ones as they appear."""
        self.listening = True
        self.speak()

    def _speak_when_shown(self, _dt: float) -> None:
        """Reads the screen once its transition has ended and it is laid out at its size."""
        if self.sm is not None and self.sm.transition.is_active:
            Clock.schedule_once(self._speak_when_shown, 0.05)
            return
        Clock.schedule_once(lambda _dt: self.speak(), 0.05)

    def speak(self) -> None:
        """Reads the current screen aloud (espeak-ng on the I/O worker, played here)."""
        if self.sm is None:
            return
        text = self.screen(self.current).spoken()
        if text:
            self.in_worker(self.speaker.synthesise, self._play, text, self.lang)

    def _play(self, said: Utterance) -> None:
        from kivy.core.audio import SoundLoader

        self._stop_sound()
        if said.wav is None or not self.listening:
            return
        self._sound = SoundLoader.load(str(said.wav))
        if self._sound is not None:
            self._sound.play()

    def _stop_sound(self) -> None:
        if self._sound is not None:
            self._sound.stop()
            self._sound = None

    # ---- staff indicators ---------------------------------------------------------------
    def _set_sync(self, state: str) -> None:
        if str(state) != self.sync_state:
            log.info("sync state: %s", state)
        self.sync_state = str(state)
        self._update_dot()

    def _set_printer(self, state: PrinterState) -> None:
        self._printer_known = True
        self.printer_state = state.value
        self._update_dot()
        if self.sm is not None:
            self.screen("services").update_banner()

    def printer_fault(self) -> bool:
        """Whether the printer cannot print: every fault, an unreadable status answer too (a
        serial speed mismatch), but not the "unknown" of a printer not yet asked."""
        state = PrinterState(self.printer_state)
        return state in FAULTS and (state is not PrinterState.UNKNOWN or self._printer_known)

    def _update_dot(self) -> None:
        if self.dot is None:
            return
        fill = self.sync_state if self.sync_state in ("online", "offline", "never") else "error"
        self.dot.fill = T.DOT[fill]
        state = PrinterState(self.printer_state)
        if self.printer_fault():
            self.dot.ring = T.DOT["error"]
        elif state in STAFF_WARNINGS:
            self.dot.ring = T.DOT["offline"]
        else:
            self.dot.ring = (0, 0, 0, 0)

    def check_printer(self) -> None:
        if self.busy:
            return
        self.in_worker(self.core.check_printer, lambda status: self._set_printer(status.state))

    # ---- the worker bridge --------------------------------------------------------------
    def in_worker(
        self,
        fn: Callable[..., Any],
        then: Callable[[Any], None] | None = None,
        *args: Any,
        failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Runs ``fn(*args)`` on the I/O worker; ``then(result)`` on the UI thread after."""

        def done(fut: Any) -> None:
            exc = fut.exception()
            if exc is not None:
                log.error("kiosk worker task failed", exc_info=exc)
                if failed is not None:
                    Clock.schedule_once(lambda _dt: failed(exc))
                return
            if then is not None:
                result = fut.result()
                Clock.schedule_once(lambda _dt: then(result))

        self.runtime.submit(fn, *args).add_done_callback(done)

    # ---- booking at the kiosk ---------------------------------------------------------
    def books(self, service_id: str) -> bool:
        """Whether ``service_id`` takes appointments (the kiosk then offers to book)."""
        return any(
            s.id == service_id and s.appointments is not None
            for s in self.core.site_config.services
        )

    def open_booking(self, service_id: str, reason: str) -> None:
        self.screen("booking").open(service_id, reason)
        self.go("booking")

    # ---- appointment check-in ----------------------------------------------------------
    def open_check_in(self) -> None:
        """The "I have an appointment" button: the keypad."""
        if self.busy:
            return
        self.screen("checkin").open()
        self.go("checkin")

    def key_typed(self, _window: object, text: str) -> None:
        """Text typed on a keyboard: a 2D scanner in keyboard mode types a code (or the
        confirmation's link) then Enter, on whatever screen is shown."""
        now = Clock.get_time()
        if now - self._typed_at > SCAN_GAP_SECONDS:
            self._typed = ""
        self._typed = (self._typed + text)[-MAX_LINE:]
        self._typed_at = now

    def _key_down(self, _window: object, key: int, *_: object) -> bool:
        if key not in (13, 271):  # Enter, keypad Enter
            return False
        line, self._typed = self._typed, ""
        code = code_of(line) if line else None
        if code is None:
            if line:
                log.warning(
                    "typed line without an appointment code ignored (%d characters)", len(line)
                )
            return False
        log.info("appointment code typed (keyboard-mode scanner)")
        self.check_in(code)
        return True

    def check_in(self, code: str) -> None:
        """Checks ``code`` in on the I/O worker (the same path as a serial scanner's): its
        ticket, or why there is none, on screen."""
        if self.busy:
            return
        self.busy = True
        screen = self.screen("checkin")
        screen.checking(code)
        if self.current != "checkin":
            self.go("checkin")
        self.in_worker(self.runtime.check_in, self._checked_in, code, failed=self._issue_failed)

    def _scanned(self, result: CheckInResult) -> None:
        """A serial scanner's check-in (done on the worker already): shown unless a visitor
        is in the middle of taking a ticket."""
        if self.busy:
            return
        if result.issued is None or result.issued.ticket is None:
            self.screen("checkin").open()
        self._checked_in(result)
        if self.current != "ticket":
            self.go("checkin")

    def _checked_in(self, result: CheckInResult) -> None:
        self.busy = False
        issued = result.issued
        if issued is None or issued.ticket is None:
            self.screen("checkin").show_outcome(result.outcome)
            return
        self.runtime.wake_sync()
        self.last_result = issued
        ticket = self.screen("ticket")
        ticket.show_number(issued)
        ticket.show_printed(issued)
        if issued.printer is not None:
            self._set_printer(issued.printer.state)
        self.go("ticket")

    # ---- taking a ticket ----------------------------------------------------------------
    def choose_service(self, service_id: str) -> None:
        if self.busy:
            return
        status = self.core.status(service_id, self.priority)
        if not status.can_issue:
            if self.books(service_id):
                texts = self.tr.texts
                name = status.service.name(self.lang)
                reason = (
                    texts._("{service} is closed now.")
                    if status.availability is Availability.CLOSED
                    else texts._("{service}: no more tickets today.")
                ).format(service=name)
                self.open_booking(service_id, reason)
                return
            self.screen("services").explain_unavailable(status)
            return
        if status.long_wait:
            self.busy = True
            if self.runtime.elsewhere.configured:
                # Asked now, on its own thread, so the answer is often there with the screen.
                self.runtime.look_elsewhere(service_id)
            self.in_worker(
                self.core.quieter_time,
                lambda quiet: self._show_long_wait(status, quiet),
                service_id,
                failed=lambda _e: self._show_long_wait(status, None),
            )
            return
        self.issue(service_id)

    def _show_long_wait(self, status: ServiceStatus, quiet: Any) -> None:
        self.busy = False
        self.screen("longwait").show(status, quiet)
        self.go("longwait")

    def issue(self, service_id: str) -> None:
        """Journal, then print, on the worker; the number shows as soon as it is journaled."""
        if self.busy:
            return
        self.busy = True
        lang, priority, core = self.lang, self.priority, self.core

        def job() -> None:
            result, issued = core.take_number(service_id, priority, lang)
            Clock.schedule_once(lambda _dt: self._number_ready(result))
            if issued is not None:
                printed = core.print_ticket(issued)
                Clock.schedule_once(lambda _dt: self._printed(printed))
                self.runtime.wake_sync()

        self.in_worker(job, failed=self._issue_failed)

    def reprint(self) -> None:
        """Prints the ticket whose print just failed again (the fault screen's button): the
        same number, never a second ticket for the same person."""
        result = self.last_result
        if self.busy or result is None or result.ticket is None or result.printed:
            return
        self.busy = True
        issued, core = result.ticket, self.core
        self.screen("ticket").show_number(result)

        def job() -> None:
            printed = core.reprint(issued)
            Clock.schedule_once(lambda _dt: self._printed(printed))

        self.in_worker(job, failed=self._issue_failed)

    def _number_ready(self, result: IssueResult) -> None:
        self.last_result = result
        if result.outcome is Outcome.REFUSED:
            self.busy = False
            if result.status is not None:
                self.screen("services").explain_unavailable(result.status)
            self.go("services")
            return
        self.screen("ticket").show_number(result)
        self.go("ticket")

    def _printed(self, result: IssueResult) -> None:
        self.last_result = result
        if result.printer is not None:
            self._set_printer(result.printer.state)
        self.screen("ticket").show_printed(result)
        self.busy = False

    def _issue_failed(self, exc: BaseException) -> None:
        self.screen("ticket").show_error()
        self.go("ticket")
        self.busy = False
