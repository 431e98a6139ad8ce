"""The service choice: one large card per service with its wait, or why it issues nothing."""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.properties import NumericProperty, StringProperty

from kiosk import theme as T
from kiosk.core import Availability, ServiceStatus
from kiosk.layout import CardMetrics, CardTexts, GridPlan, plan_grid
from kiosk.screens.base import KioskScreen
from kiosk.widgets import KioskServiceCard, measure_text, place

NOTICE_SECONDS = 8.0
"""How long an explanation (service closed, no more tickets) stays on the banner (seconds)."""


class ServicesScreen(KioskScreen):
    page = NumericProperty(0)
    """The page of services shown, when they need more than one (0 is the first)."""
    category = StringProperty("")
    """The category whose services are shown (a site with ``categories``); "": the first
    level, the categories and the services in none."""
    banner_text = StringProperty("")
    banner_kind = StringProperty("")
    """"", "priority", "printer" or "notice": decides the banner's colours."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._cards: dict[str, KioskServiceCard] = {}
        self._groups: dict[str, KioskServiceCard] = {}
        self._entries: list[KioskServiceCard] = []
        """The cards of this level, in order: what the grid plans and pages."""
        self._more = KioskServiceCard(service_id="", icon="next")
        self._more.bind(on_release=lambda _c: self.next_page())
        self._up = KioskServiceCard(service_id="", icon="back")
        self._up.bind(on_release=lambda _c: self.open_category(""))
        self._plan: GridPlan | None = None
        self._notice = ""
        self._notice_event: object = None
        self.checkin_button: Any = None
        """"I have an appointment" (landscape), put in and out of the sidebar."""
        self._trigger_layout = Clock.create_trigger(lambda _dt: self._layout(), -1)
        Clock.schedule_once(lambda _dt: self.ids.grid.bind(size=self._trigger_layout))
        Clock.schedule_once(lambda _dt: self._watch())

    def _watch(self) -> None:
        self.checkin_button = self.ids.checkin.__self__  # ids hold weak proxies
        self.kiosk.bind(takes_appointments=self._place, portrait=self._place)
        self._place()

    def _place(self, *_: object) -> None:
        app = self.kiosk
        shown = app.takes_appointments and not app.portrait
        place(self.checkin_button, self.ids.sidebar, shown, 2)

    def on_enter(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        app = self.kiosk
        statuses = app.core.statuses(app.priority)
        ids = [s.service.id for s in statuses]
        if list(self._cards) != ids:
            self._cards = {}
            for sid in ids:
                card = KioskServiceCard(service_id=sid)
                card.bind(on_release=lambda c: self.kiosk.choose_service(c.service_id))
                self._cards[sid] = card
        for status in statuses:
            self._fill(self._cards[status.service.id], status)
        self._entries = self._level(statuses)
        self._layout()
        self.update_banner()

    def _level(self, statuses: list[ServiceStatus]) -> list[KioskServiceCard]:
        """The cards of the level shown: without categories, every service; at the first
        level, a card per category then the services in none; in a category, its services
        and a card back to the first level."""
        app = self.kiosk
        texts = app.tr.texts
        config = app.core.site_config
        placed = {s.id: s.category for s in config.services}
        if not config.categories:
            return list(self._cards.values())
        if self.category:
            self._up.name = texts._("All requests")
            self._up.badge, self._up.detail, self._up.available = "", "", True
            inside = [
                self._cards[s.service.id]
                for s in statuses
                if placed.get(s.service.id) == self.category
            ]
            return [*inside, self._up]
        entries: list[KioskServiceCard] = []
        for cat in config.categories:
            members = [s for s in statuses if placed.get(s.service.id) == cat.id]
            if not members:
                continue
            card = self._groups.get(cat.id)
            if card is None:
                card = KioskServiceCard(service_id="")
                card.bind(on_release=lambda _c, cid=cat.id: self.open_category(cid))
                self._groups[cat.id] = card
            card.name = cat.name(app.lang)
            card.icon = cat.icon or "document"
            waits = [s.wait.minutes for s in members if s.can_issue]
            card.available = bool(waits)
            card.badge = texts.short_wait(min(waits)) if waits else texts._("Closed")
            card.detail = texts.n_("{n} request", "{n} requests", len(members)).format(
                n=len(members)
            )
            entries.append(card)
        return entries + [
            self._cards[s.service.id] for s in statuses if placed.get(s.service.id) is None
        ]

    def open_category(self, category: str) -> None:
        """Shows the services of ``category`` ("" goes back to the first level)."""
        self.category = category
        self.page = 0
        self.refresh()
        if self.kiosk.listening:
            self.kiosk.speak()

    def _layout(self) -> None:
        """Plans the grid for the grid's size and shows the current page's cards."""
        app = self.kiosk
        grid = self.ids.grid
        scale = app.scale
        cards = self._entries
        more_texts = CardTexts(self._more.name, "9 / 9")
        plan = plan_grid(
            [CardTexts(c.name, c.badge, c.detail) for c in cards],
            grid.width,
            grid.height,
            T.CARD_GAP * scale,
            CardMetrics(
                padding=T.CARD_PADDING * scale,
                spacing=T.CARD_SPACING * scale,
                top_row=T.CARD_TOP_ROW * scale,
                min_font=T.MIN_FONT * scale,
                detail_font=T.FONT_SMALL * scale,
                min_height=T.TOUCH * scale,
                min_width=T.CARD_MIN_WIDTH * scale,
            ),
            measure_text,
            more=more_texts,
        )
        self._plan = plan
        page = min(int(self.page), len(plan.pages) - 1)
        shown = [cards[i] for i in plan.pages[page]]
        if plan.paged:
            self._more.name = app.tr.texts._("Other services")
            self._more.badge = f"{page + 1} / {len(plan.pages)}"
            shown.append(self._more)
        if list(reversed(grid.children)) != shown or (grid.cols, grid.rows) != (
            plan.cols,
            plan.rows,
        ):
            grid.clear_widgets()
            grid.rows = None
            grid.cols, grid.rows = plan.cols, plan.rows
            for card in shown:
                grid.add_widget(card)

    def spoken(self) -> str:
        """The title, the banner, then each card on screen: its name, wait and detail."""
        texts = self.kiosk.tr.texts
        self._layout()  # the cards of the page at the screen's size now
        parts = [texts._("Choose your service") + "."]
        if self.banner_text:
            parts.append(self.banner_text)
        for card in self.visible_cards():
            detail = card.detail.replace("\n", ". ")
            parts.append(f"{card.name}: {card.badge}." + (f" {detail}." if detail else ""))
        return " ".join(parts)

    def next_page(self) -> None:
        pages = len(self._plan.pages) if self._plan is not None else 1
        self.page = (int(self.page) + 1) % pages
        self._layout()

    def reveal(self, service_id: str) -> KioskServiceCard:
        """Turns to the page that shows ``service_id``'s card and returns the card."""
        card = self._cards[service_id]
        if card not in self._entries:  # in another category
            placed = {s.id: s.category for s in self.kiosk.core.site_config.services}
            self.open_category(placed.get(service_id) or "")
        if self._plan is not None:
            index = self._entries.index(card)
            for number, page in enumerate(self._plan.pages):
                if index in page and number != self.page:
                    self.page = number
                    self._layout()
        return card

    def visible_cards(self) -> list[KioskServiceCard]:
        """The cards on screen now, in reading order (the "other services" card last)."""
        return list(reversed(self.ids.grid.children))

    def _fill(self, card: KioskServiceCard, st: ServiceStatus) -> None:
        app = self.kiosk
        texts = app.tr.texts
        now = app.core.now_local()
        card.name = st.service.name(app.lang)
        card.icon = st.service.icon or "document"
        card.available = st.can_issue
        if st.availability is Availability.OPEN:
            card.badge = texts.short_wait(st.wait.minutes)
            if app.priority is None:
                card.detail = texts.people(st.wait.ahead)
            elif app.core.effective_priority(st.service, app.priority) is not None:
                card.detail = texts.ahead(st.wait.ahead)  # the priority tickets before yours
            else:
                card.detail = texts.people(st.wait.ahead) + "\n"
                card.detail += texts._("No priority ticket for this service")
        else:
            card.badge = (
                texts._("Closed") if st.availability is Availability.CLOSED else (texts._("Full"))
            )
            lines = []
            if st.availability is Availability.STOPPED:
                lines.append(texts._("No more tickets today"))
            if st.next_opening is not None:
                lines.append(texts._("Opens {when}").format(when=texts.when(st.next_opening, now)))
            card.detail = "\n".join(lines)

    def explain_unavailable(self, st: ServiceStatus) -> None:
        """A tap on a greyed service: say why, and when it opens next."""
        app = self.kiosk
        texts = app.tr.texts
        name = st.service.name(app.lang)
        if st.availability is Availability.STOPPED:
            text = texts._(
                "{service}: no more tickets today, the counters close before your turn."
            ).format(service=name)
        else:
            text = texts._("{service} is closed now.").format(service=name)
        if st.next_opening is not None:
            text += " " + texts._("Next opening: {when}.").format(
                when=texts.when(st.next_opening, app.core.now_local())
            )
        self._notice = text
        if self._notice_event is not None:
            self._notice_event.cancel()  # type: ignore[attr-defined]
        self._notice_event = Clock.schedule_once(self._clear_notice, NOTICE_SECONDS)
        self.update_banner()

    def _clear_notice(self, _dt: float) -> None:
        self._notice = ""
        self._notice_event = None
        self.update_banner()

    def update_banner(self) -> None:
        app = self.kiosk
        texts = app.tr.texts
        if self._notice:
            self.banner_kind, self.banner_text = "notice", self._notice
        elif app.printer_fault():
            self.banner_kind = "printer"
            self.banner_text = texts._(
                "The ticket printer is not working: your number will be shown on the screen."
            )
        elif app.priority is not None:
            # The reason stays off the screen: the people behind can read it.
            self.banner_kind = "priority"
            self.banner_text = texts._("Priority ticket. Choose your service.")
        else:
            self.banner_kind, self.banner_text = "", ""

    def leave(self) -> None:
        self.kiosk.end_visit()

    def cancel_priority(self) -> None:
        self.kiosk.priority = None
        self.refresh()
