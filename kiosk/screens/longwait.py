"""The long-wait warning: said before printing, with the site's alternatives and, when the
server knows them, the other sites offering the same service (their wait now and their next
free appointment).

``elsewhere``: "none" (no server, or the server knows no other site), "loading" (asked, not
answered yet), "shown", "offline" (the server did not answer: the section stays away, as
booking stays away from a kiosk without its server).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from kivy.clock import Clock
from kivy.factory import Factory
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk import theme as T
from kiosk.core import ServiceStatus
from kiosk.elsewhere import OtherSite
from kiosk.screens.base import KioskScreen
from kiosk.widgets import KioskRow, measure_text, place

ROW_GAP = 6
"""Space between two other sites in the list (design pixels, as the kv's spacing)."""


def by_use(site: OtherSite) -> tuple[int, float, float, str]:
    """Most useful first: open now with the shortest wait, then the earliest free slot."""
    open_ = site.open_now and site.wait_seconds is not None
    return (
        0 if open_ else 1,
        site.wait_seconds or 0.0 if open_ else 0.0,
        site.next_slot if site.next_slot is not None else math.inf,
        site.name.lower(),
    )


class LongWaitScreen(KioskScreen):
    service_id = StringProperty("")
    headline = StringProperty("")
    quieter_text = StringProperty("")
    has_quieter = BooleanProperty(False)
    appointment_url = StringProperty("")
    can_book = BooleanProperty(False)
    """The service takes appointments: a time can be booked here, on this kiosk."""
    book_button: Any = None
    elsewhere = StringProperty("none")
    others = ListProperty()
    """The other sites offering the service (OtherSite), most useful first."""
    has_elsewhere = BooleanProperty(False)
    side = BooleanProperty(False)
    """Set by the kv: the other sites sit beside this site's alternatives (landscape)."""
    compact = BooleanProperty(False)
    """Set by the kv: this site's alternatives drop their pictogram and explanations."""
    button_font = NumericProperty(T.FONT_BUTTON)
    """Set by the kv: the action buttons' type size (design pixels)."""
    elsewhere_height = NumericProperty(0)
    """Height the other sites' card asks for under this site's alternatives (portrait): its
    title and every row, at most half the room."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.site_rows: list[tuple[OtherSite, BoxLayout]] = []
        """The other sites on screen, with their row (as many as the card holds)."""
        self._trigger_rows = Clock.create_trigger(lambda _dt: self._rows(), -1)
        self._filler: Any = None
        Clock.schedule_once(lambda _dt: self._watch())

    def _watch(self) -> None:
        self._filler = self.ids.filler.__self__  # ids hold weak proxies
        self.ids.elsewhere_list.bind(size=self._trigger_rows)
        self.ids.body.bind(height=self._trigger_rows)
        self.bind(side=lambda *_: place(self._filler, self.ids.here, not self.side))

    def show(self, status: ServiceStatus, quieter: datetime | None) -> None:
        app = self.kiosk
        texts = app.tr.texts
        self.service_id = status.service.id
        self.headline = texts._("{service}: the wait is long, {wait}.").format(
            service=status.service.name(app.lang), wait=texts.wait(status.wait.seconds)
        )
        self.has_quieter = quieter is not None
        self.quieter_text = (
            texts._("Come back {when}").format(when=texts.when(quieter, app.core.now_local()))
            if quieter is not None
            else ""
        )
        self.appointment_url = app.runtime.settings.appointment_url
        self.can_book = app.books(status.service.id)
        if self.book_button is None:
            self.book_button = self.ids.book.__self__  # ids hold weak proxies
        place(self.book_button, self.ids.actions, self.can_book, 1)
        self._ask_elsewhere(status.service.id)

    # ---- the same service elsewhere ------------------------------------------------------
    def _ask_elsewhere(self, service: str) -> None:
        """Shows the other sites kept from a recent answer at once, else asks the server on
        the elsewhere thread; the section appears when (and if) it answers."""
        runtime = self.kiosk.runtime
        self._set_others([])
        if not runtime.elsewhere.configured:
            self.elsewhere = "none"
            return
        kept = runtime.elsewhere.cached(service)
        if kept is not None:
            self._arrived(service, kept)
            return
        self.elsewhere = "loading"

        def done(future: Any) -> None:
            exc = future.exception()
            if exc is not None:
                Clock.schedule_once(lambda _dt: self._unreachable(service, exc))
            else:
                sites = future.result()
                Clock.schedule_once(lambda _dt: self._arrived(service, sites))

        runtime.look_elsewhere(service).add_done_callback(done)

    def _arrived(self, service: str, sites: list[OtherSite]) -> None:
        if service != self.service_id:
            return  # an answer for a visit already gone
        self._set_others(sorted(sites, key=by_use))
        self.elsewhere = "shown" if sites else "none"

    def _unreachable(self, service: str, exc: BaseException) -> None:
        if service != self.service_id:
            return
        self._set_others([])
        self.elsewhere = "offline"

    def _set_others(self, sites: list[OtherSite]) -> None:
        self.others = sites
        self.has_elsewhere = bool(sites)
        self._trigger_rows()

    def wait_text(self, site: OtherSite) -> str:
        texts = self.kiosk.tr.texts
        if not site.open_now or site.wait_seconds is None:
            return texts._("Closed")
        return texts.short_wait(math.ceil(site.wait_seconds / 60))

    def slot_text(self, site: OtherSite) -> str:
        """ "Appointment: tomorrow at 9:40"; "" for a site that takes no appointments."""
        app = self.kiosk
        texts = app.tr.texts
        if site.next_slot is None:
            return texts._("No free appointment") if site.books else ""
        at, now = app.core.site.local(site.next_slot), app.core.now_local()
        if (at.date() - now.date()).days < 2:
            when = texts.when(at, now)
        else:
            when = texts._("{weekday} at {time}").format(
                weekday=texts.date(at), time=texts.clock(at)
            )
        return texts._("Appointment: {when}").format(when=when)

    def _rows(self) -> None:
        """As many of the other sites as the card holds (up to three), each: its name, its
        wait now on the same line, its next free appointment under them. Under this site's
        alternatives (portrait) the card first asks for the height of all of them."""
        box = self.ids.elsewhere_list
        box.clear_widgets()
        self.site_rows = []
        if not self.others:
            return
        scale = self.kiosk.scale
        font = T.FONT_SMALL * scale
        gap = ROW_GAP * scale
        planned = []
        for site in self.others:
            wait = self.wait_text(site)
            wait_w = _line_width(wait, font) + 2
            name_w = max(1.0, box.width - wait_w - gap)
            name_h = max(measure_text(site.name, font, name_w, True)[1], font * 1.25)
            slot = self.slot_text(site)
            slot_h = max(measure_text(slot, font, box.width, False)[1], font * 1.25) if slot else 0
            planned.append((site, wait, wait_w, name_h, slot, slot_h))
        if not self.side:
            card = self.ids.elsewhere
            title = self.ids.elsewhere_title
            rows = sum(p[3] + p[5] for p in planned) + gap * (len(planned) - 1)
            wanted = (
                rows + title.height + card.spacing + card.padding[1] + card.padding[3] + gap + 1
            )
            self.elsewhere_height = min(wanted, self.ids.body.height / 2)
        used = 0.0
        for site, wait, wait_w, name_h, slot, slot_h in planned:
            height = name_h + slot_h
            # (the list also keeps a gap before the spacer that holds the rows at its top)
            if used + (gap if self.site_rows else 0) + height + gap > box.height + 0.5:
                break
            used += (gap if self.site_rows else 0) + height
            row = BoxLayout(orientation="vertical", size_hint_y=None, height=height)
            top = KioskRow(size_hint_y=None, height=name_h, spacing=gap)
            top.add_widget(Factory.KioskElsewhereText(text=site.name, bold=True, color=T.INK))
            top.add_widget(
                Label(  # one line, never wrapped
                    text=wait,
                    bold=True,
                    font_size=font,
                    color=T.PRIMARY,
                    size_hint=(None, None),
                    size=(wait_w, font * 1.25),
                    pos_hint={"top": 1},
                )
            )
            row.add_widget(top)
            if slot:
                row.add_widget(Factory.KioskElsewhereText(text=slot, color=T.INK_MUTED))
            box.add_widget(row)
            self.site_rows.append((site, row))
        box.add_widget(Widget())

    def spoken(self) -> str:
        texts = self.kiosk.tr.texts
        parts = [self.headline]
        if self.has_quieter:
            parts.append(texts._("A quieter time") + ": " + self.quieter_text + ".")
        if self.appointment_url:
            parts.append(texts._("Book an appointment") + ".")
            parts.append(texts._("No smartphone? The reception desk can book it for you."))
        if self.site_rows:
            parts.append(texts._("The same service elsewhere") + ":")
            for site, _row in self.site_rows:
                slot = self.slot_text(site)
                parts.append(
                    f"{site.name}, {self.wait_text(site)}" + (f", {slot}." if slot else ".")
                )
        parts.append(texts._("Take a ticket anyway") + "?")
        return " ".join(parts)

    def take_anyway(self) -> None:
        self.kiosk.issue(self.service_id)

    def book_here(self) -> None:
        self.kiosk.open_booking(self.service_id, self.headline)

    def back(self) -> None:
        self.kiosk.go("services")


def _line_width(text: str, font_size: float) -> float:
    """Width of ``text`` on one line, bold (window pixels; Arabic shaped as drawn)."""
    label = Label(text=text, font_size=font_size, bold=True)
    label.texture_update()
    return float(label.texture_size[0])
