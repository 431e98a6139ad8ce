"""Appointment check-in: the short code typed on an on-screen keypad (or typed by a scanner in
keyboard mode, anywhere: ``KioskApp.key_typed``), then a ticket for the appointment.

The keypad holds the letters and digits of appointment codes (``CODE_ALPHABET``: no 0/O, 1/I/L
look-alikes) on keys at least a touch target wide and high: as many as the window holds, on
pages when they do not all fit, with "back", "erase", "other keys" and "check in" on every page.
"""

from __future__ import annotations

from dataclasses import dataclass

from kivy.clock import Clock
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.widget import Widget

from kiosk import theme as T
from kiosk.checkin import CheckIn
from kiosk.screens.base import KioskScreen
from kiosk.widgets import KioskButton

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
"""The characters of appointment codes (server.appointments.booking), in keypad order."""
CODE_LENGTH = 8
CONTROL_KEYS = 4
"""Back, erase, other keys, check in: on every page."""

OUTCOME_MESSAGES = {
    CheckIn.UNKNOWN: "No appointment today has this code. Check it, or go to the reception desk.",
    CheckIn.NOT_TODAY: "This appointment is not today. Please come back on its day.",
    CheckIn.ALREADY: "This appointment is already checked in: its ticket was printed.",
    CheckIn.LATE: "Too late for this appointment: take a ticket, or book again at the desk.",
    CheckIn.REFUSED: "This service gives no ticket now. Please go to the reception desk.",
}
"""What the screen says when a code gives no ticket (message ids, translated when shown)."""


@dataclass(frozen=True, slots=True)
class KeypadPlan:
    cols: int
    rows: int
    pages: tuple[str, ...]
    """The characters of each page."""


def plan_keypad(width: float, height: float, key: float, gap: float) -> KeypadPlan:
    """Columns and rows of keys at least ``key`` wide and high in ``width`` x ``height``, and
    the alphabet cut into pages of what is left once the control keys have their place."""
    cols = max(2, int((width + gap) // (key + gap)))
    rows = max(2, int((height + gap) // (key + gap)))
    per_page = max(1, cols * rows - CONTROL_KEYS)
    pages = tuple(CODE_ALPHABET[i : i + per_page] for i in range(0, len(CODE_ALPHABET), per_page))
    return KeypadPlan(cols, rows, pages)


def span(chars: str) -> str:
    """``"UVWXYZ23"`` -> ``"U–Z 2–3"``: what the "other keys" key leads to."""
    parts = []
    for group in (
        "".join(c for c in chars if c.isalpha()),
        "".join(c for c in chars if c.isdigit()),
    ):
        if group:
            parts.append(group[0] if len(group) == 1 else f"{group[0]}–{group[-1]}")
    return " ".join(parts)


def shown_code(code: str) -> str:
    """The code as printed on confirmations, dashes and blanks for what is still to type."""
    padded = (code + "·" * CODE_LENGTH)[:CODE_LENGTH]
    return f"{padded[:4]}-{padded[4:]}"


class CheckInScreen(KioskScreen):
    code = StringProperty("")
    message = StringProperty("")
    """Why the last code gave no ticket ("" while typing)."""
    state = StringProperty("typing")
    """"typing" or "checking" (the code is being looked up and its ticket printed)."""
    page = NumericProperty(0)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._plan: KeypadPlan | None = None
        self.key_widgets: dict[str, KioskButton] = {}
        self._trigger_layout = Clock.create_trigger(lambda _dt: self._layout(), -1)
        Clock.schedule_once(lambda _dt: self.ids.keypad.bind(size=self._trigger_layout))
        Clock.schedule_once(lambda _dt: self.kiosk.bind(lang=self._trigger_layout))

    def open(self) -> None:
        """A fresh code: the button on the idle and services screens."""
        self.code = ""
        self.message = ""
        self.state = "typing"
        self.page = 0
        self._layout()

    def show_outcome(self, outcome: CheckIn) -> None:
        """A code that gave no ticket: say why; the person may correct it."""
        self.state = "typing"
        self.message = self.kiosk.tr.texts._(OUTCOME_MESSAGES[outcome])

    def checking(self, code: str) -> None:
        self.code = code[:CODE_LENGTH]
        self.message = ""
        self.state = "checking"

    # ---- the keypad -------------------------------------------------------------------------
    def _layout(self) -> None:
        grid = self.ids.keypad
        scale = self.kiosk.scale
        plan = plan_keypad(
            grid.width - grid.padding[0] - grid.padding[2],
            grid.height - grid.padding[1] - grid.padding[3],
            T.TOUCH * scale,
            grid.spacing[0],
        )
        self._plan = plan
        page = min(int(self.page), len(plan.pages) - 1)
        texts = self.kiosk.tr.texts
        grid.clear_widgets()
        grid.rows = None
        grid.cols = plan.cols
        chars = plan.pages[page]
        for ch in chars:
            key = KioskButton(text=ch, bg=T.SURFACE, fg=T.INK, font_size=T.FONT_TITLE)
            key.bind(on_release=lambda _k, ch=ch: self.press(ch))
            grid.add_widget(key)
        for _ in range(plan.cols * plan.rows - len(chars) - CONTROL_KEYS):
            grid.add_widget(Widget())
        back = KioskButton(
            text=texts._("Back"), bg=T.SECONDARY, fg=T.ON_SECONDARY, font_size=T.FONT_SMALL
        )
        back.bind(on_release=lambda _k: self.back())
        erase = KioskButton(
            text=texts._("Erase"), bg=T.SECONDARY, fg=T.ON_SECONDARY, font_size=T.FONT_SMALL
        )
        erase.bind(on_release=lambda _k: self.erase())
        nxt = plan.pages[(page + 1) % len(plan.pages)]
        more = KioskButton(
            text=span(nxt) if len(plan.pages) > 1 else "",
            bg=T.SECONDARY,
            fg=T.ON_SECONDARY,
            font_size=T.FONT_SMALL,
            disabled=len(plan.pages) == 1,
            opacity=1 if len(plan.pages) > 1 else 0,
        )
        more.bind(on_release=lambda _k: self.other_keys())
        ok = KioskButton(
            text=texts._("Check in"), bg=T.PRIMARY, fg=T.ON_PRIMARY, font_size=T.FONT_SMALL
        )
        ok.bind(on_release=lambda _k: self.submit())
        for widget in (back, erase, more, ok):
            grid.add_widget(widget)
        self.key_widgets = {"back": back, "erase": erase, "more": more, "ok": ok}

    def key(self, name: str) -> KioskButton:
        """A key on screen now: a character, or "back", "erase", "more", "ok"."""
        if name in self.key_widgets:
            return self.key_widgets[name]
        for child in self.ids.keypad.children:
            if isinstance(child, KioskButton) and child.text == name:
                return child
        raise KeyError(name)

    def page_of(self, ch: str) -> int:
        assert self._plan is not None
        return next(i for i, page in enumerate(self._plan.pages) if ch in page)

    def press(self, ch: str) -> None:
        if self.state != "typing" or len(self.code) >= CODE_LENGTH:
            return
        self.message = ""
        self.code += ch

    def erase(self) -> None:
        if self.state == "typing":
            self.message = ""
            self.code = self.code[:-1]

    def other_keys(self) -> None:
        pages = len(self._plan.pages) if self._plan is not None else 1
        self.page = (int(self.page) + 1) % pages
        self._layout()

    def submit(self) -> None:
        if self.state == "typing" and self.code:
            self.kiosk.check_in(self.code)

    def back(self) -> None:
        self.kiosk.end_visit()

    @staticmethod
    def shown(code: str) -> str:
        return shown_code(code)

    def spoken(self) -> str:
        texts = self.kiosk.tr.texts
        return self.message or texts._("Type the code of your appointment, or scan its QR code.")
