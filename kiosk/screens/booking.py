"""Booking a time at the kiosk: the next free slots of a service; a touch on one asks to
confirm it ("Book Tuesday 8 December at 9:40, Civil status?"), "Confirm" books it and prints
an appointment slip. Offered when a service's wait is long, or it is full or closed.

``state``: "loading" (asking the server), "slots", "confirm" (one time chosen, not booked
yet: "Back" returns to the times), "offline" (booking needs the network: no slot list),
"none" (no free slot), "booking", "booked" (the slip is printing or printed).
"""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.properties import StringProperty

from kiosk import theme as T
from kiosk.booking import Booked, Slot, SlotTaken, shown_code
from kiosk.screens.base import KioskScreen
from kiosk.widgets import KioskButton, place
from printer import CAN_PRINT, PrinterStatus


class BookingScreen(KioskScreen):
    service_id = StringProperty("")
    state = StringProperty("loading")
    headline = StringProperty("")
    message = StringProperty("")
    code = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.slot_buttons: list[KioskButton] = []
        self._slots: list[Slot] = []
        self._chosen: float | None = None
        self._offered: list[Slot] = []
        """The times shown before one was chosen ("Back" shows them again)."""
        """The time chosen, waiting for "Confirm" (epoch seconds)."""
        self._reason = ""
        self.confirm_button: KioskButton | None = None
        self._trigger_layout = Clock.create_trigger(lambda _dt: self._layout(), -1)
        Clock.schedule_once(lambda _dt: self.ids.slots.bind(size=self._trigger_layout))

    def open(self, service_id: str, reason: str) -> None:
        """Shows ``reason`` (why a time is offered) and asks the server for slots."""
        app = self.kiosk
        self.service_id = service_id
        self.headline = self._reason = reason
        self.code = ""
        self._chosen = None
        self._show_slots([])
        self._set("loading")
        app.in_worker(
            app.runtime.booking.next_slots,
            self._slots_arrived,
            service_id,
            failed=self._failed,
        )

    def _set(self, state: str) -> None:
        texts = self.kiosk.tr.texts
        self.state = state
        self.message = {
            "loading": texts._("Looking for free times…"),
            "slots": texts._("Touch a time to book it. A slip with your code will be printed."),
            "confirm": texts._("A slip with your code will be printed."),
            "offline": texts._(
                "Booking needs the network, which is not available now. Please ask at the "
                "reception desk."
            ),
            "none": texts._(
                "No free time in the next two weeks. Please ask at the reception desk."
            ),
            "booking": texts._("Booking…"),
        }.get(state, self.message)
        if self.confirm_button is None:
            self.confirm_button = self.ids.confirm.__self__  # ids hold weak proxies
        place(self.confirm_button, self.ids.buttons, state == "confirm", 0)

    def _slots_arrived(self, slots: list[Slot]) -> None:
        self._show_slots(slots)
        self._set("slots" if slots else "none")

    def _failed(self, exc: BaseException) -> None:
        self._show_slots([])
        self._set("offline")

    def _show_slots(self, slots: list[Slot]) -> None:
        self._slots = slots
        self._layout()

    def _layout(self) -> None:
        """As many of the free times as the screen holds on touch-sized buttons (up to
        ``SLOTS_SHOWN``): three a row in landscape, one in portrait."""
        app = self.kiosk
        texts = app.tr.texts
        grid = self.ids.slots
        cols = 1 if app.portrait else 3
        key, gap = T.TOUCH * app.scale, grid.spacing[1]
        rows = max(1, int((grid.height + gap) // (key + gap)))
        shown = self._slots[: cols * rows]
        grid.clear_widgets()
        grid.cols = cols
        self.slot_buttons = []
        now = app.core.now_local()
        for slot in shown:
            at = app.core.site.local(slot.start)
            soon = (at.date() - now.date()).days < 2
            button = KioskButton(
                text=texts.when(at, now) if soon else texts.date(at) + "\n" + texts.clock(at),
                bg=T.SURFACE,
                fg=T.INK,
                font_size=T.FONT_BODY,
                size_hint_y=None,
                height=key,
            )
            button.bind(on_release=lambda _b, start=slot.start: self.choose(start))
            grid.add_widget(button)
            self.slot_buttons.append(button)

    def choose(self, start: float) -> None:
        """A time touched: asks to confirm it, nothing booked yet."""
        if self.state != "slots":
            return
        app = self.kiosk
        texts = app.tr.texts
        self._chosen = start
        at, now = app.core.site.local(start), app.core.now_local()
        service = app.core.site.service(self.service_id)
        name = service.name(app.lang) if service is not None else self.service_id
        self.headline = texts._("Book {when}, {service}?").format(
            when=texts._("{weekday} at {time}").format(weekday=texts.date(at), time=texts.clock(at))
            if (at.date() - now.date()).days >= 2
            else texts.when(at, now),
            service=name,
        )
        self._offered = self._slots
        self._show_slots([])
        self._set("confirm")

    def confirm(self) -> None:
        if self.state == "confirm" and self._chosen is not None:
            self.book(self._chosen)

    def book(self, start: float) -> None:
        """Books ``start`` (the confirmed time) on the worker, then prints its slip."""
        if self.state != "confirm":
            return
        app = self.kiosk
        self.headline = self._reason
        self._set("booking")
        app.in_worker(
            app.runtime.book_and_print,
            self._booked,
            self.service_id,
            start,
            app.lang,
            failed=self._book_failed,
        )

    def _booked(self, done: tuple[Booked, PrinterStatus]) -> None:
        booked, printed = done
        app = self.kiosk
        texts = app.tr.texts
        self._show_slots([])
        self.code = shown_code(booked.code)
        when = texts.when(app.core.site.local(booked.start), app.core.now_local())
        self.headline = texts._("Your appointment is booked: {when}.").format(when=when)
        if printed.state in CAN_PRINT:
            self.message = texts._("Take your slip: it has your code, to type here when you come.")
        else:
            self.message = texts._(
                "The slip could not be printed: please note your code, or ask at the reception "
                "desk."
            )
        self.state = "booked"

    def _book_failed(self, exc: BaseException) -> None:
        if isinstance(exc, SlotTaken):
            self.open(
                self.service_id, self.kiosk.tr.texts._("That time was just taken. Choose another.")
            )
            return
        self._show_slots([])
        self._set("offline")

    def back(self) -> None:
        if self.state == "booked":
            self.kiosk.end_visit()
        elif self.state == "confirm":  # back to the times, as they were
            self._chosen = None
            self.headline = self._reason
            self._show_slots(self._offered)
            self._set("slots")
        else:
            self.kiosk.go("services")

    def spoken(self) -> str:
        parts = [self.headline, self.message]
        if self.code:
            parts.append(self.code)
        parts += [b.text.replace("\n", " ") + "." for b in self.slot_buttons]
        if self.state == "confirm":
            parts.append(self.kiosk.tr.texts._("Confirm") + "?")
        return " ".join(p for p in parts if p)
