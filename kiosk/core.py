"""What the kiosk does, without a screen: estimate, closing rule, long waits, issue and print.

``KioskCore`` is driven by the Kivy screens, by tests and by the site simulator alike. It never
touches Kivy. Its methods are thread-safe: the screens read estimates on the UI thread (memory
only), the kiosk's single I/O worker thread issues and prints, and the sync thread feeds it the
site's events.

Issuing a ticket, in order:

1. the rules: a closed service issues nothing; an open one stops issuing once its estimated call
   time (now + estimated wait) passes its closing time;
2. the journal takes a number from the leased block (or the offline range) and records the
   TicketIssued event in one transaction, print state "pending" (nothing on the network);
3. the printer gets the ticket; the journal marks it "printed" or "failed". A printer fault is
   a result (``IssueResult.printed`` False, ``printer`` says why), never an exception.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from config.kiosk import KioskSettings
from config.site import SiteConfig
from kiosk.booking import Booked, shown_code
from kiosk.i18n import Texts
from kiosk.quiet import arrival_window, quietest_slot, slots
from printer import CAN_PRINT, PrinterState, PrinterStatus, SlipContent, TicketContent
from tickets.events import Event
from tickets.journal import PrintState
from tickets.model import Service, Site
from tickets.numbering import NumbersExhausted
from tickets.queue import QueueState, TicketStatus

if TYPE_CHECKING:
    from printer import TicketPrinter
    from tickets.journal import Journal

log = logging.getLogger(__name__)


class Availability(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    """Outside the service's opening hours."""
    STOPPED = "stopped"
    """Open, but a new ticket would be called after closing time: no more tickets today."""


class Outcome(StrEnum):
    PRINTED = "printed"
    PRINT_FAILED = "print_failed"
    """Journaled and shown on screen, not printed (the printer's status says why)."""
    REFUSED = "refused"
    """The service is closed or stopped issuing: no ticket."""
    EXHAUSTED = "exhausted"
    """No number left (no lease and no offline range): no ticket."""


@dataclass(frozen=True, slots=True)
class WaitEstimate:
    ahead: int
    """People who will be called before a new ticket."""
    seconds: float

    @property
    def minutes(self) -> int:
        return math.ceil(self.seconds / 60)


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    service: Service
    availability: Availability
    wait: WaitEstimate
    closes_at: datetime | None
    next_opening: datetime | None
    long_wait: bool

    @property
    def can_issue(self) -> bool:
        return self.availability is Availability.OPEN


@dataclass(frozen=True, slots=True)
class IssuedTicket:
    ticket: str
    label: str
    number: int
    service: Service
    day: str
    priority: str | None
    lang: str
    issued_at: float
    token: str
    source: str
    """Where the number came from: "lease" or "offline"."""
    wait: WaitEstimate
    follow_url: str
    appointment_at: float | None = None
    """A checked-in appointment's time (epoch seconds), printed on its ticket."""


@dataclass(frozen=True, slots=True)
class IssueResult:
    outcome: Outcome
    ticket: IssuedTicket | None = None
    printer: PrinterStatus | None = None
    status: ServiceStatus | None = None

    @property
    def printed(self) -> bool:
        return self.outcome is Outcome.PRINTED


def _appointment_at(extra: Mapping[str, Any] | None) -> float | None:
    at = (extra or {}).get("appointment_at")
    return float(at) if isinstance(at, int | float) else None


class KioskCore:
    def __init__(
        self,
        settings: KioskSettings,
        journal: Journal,
        site: SiteConfig,
        printer: TicketPrinter,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.journal = journal
        self.printer = printer
        self.clock = clock
        self._lock = threading.RLock()
        self._site_config = site
        self._site = site.to_domain()
        self._state: QueueState = journal.state(self._site)
        self._day = self.today()
        self._printer_status = PrinterStatus(PrinterState.UNKNOWN)
        self._arrivals: dict[str, tuple[str, Counter[tuple[int, int]]]] = {}
        """Service -> (the day counted for, its arrivals per slot): counted once a day."""

    # ---- the site -----------------------------------------------------------------------
    @property
    def site(self) -> Site:
        return self._site

    @property
    def site_config(self) -> SiteConfig:
        return self._site_config

    def set_site(self, site: SiteConfig) -> None:
        """A new site configuration (from sync): re-folds the queue with its services."""
        domain = site.to_domain()
        with self._lock:
            self._site_config = site
            self._site = domain
            self._state = self.journal.state(domain)
            self._day = self.today()
            self._arrivals.clear()

    def _queue(self) -> QueueState:
        """The queue (caller holds ``_lock``): yesterday and today, like the journal's fold.
        On a new day it is taken again from the journal, so a kiosk that runs for months
        holds two days of tickets, not all of them."""
        day = self.today()
        if day != self._day:
            self._state = self.journal.state(self._site)
            self._day = day
        return self._state

    def apply_events(self, events: list[Event]) -> int:
        """Events from the server or another device (sync thread)."""
        with self._lock:
            return self._queue().extend(events)

    def now_local(self) -> datetime:
        return self._site.local(self.clock())

    def today(self) -> str:
        """The service day tickets are numbered for, from ``clock`` (the runtime gives the
        journal's ``now``: the machine's clock corrected by the server's)."""
        return self._site.day(self.clock()).isoformat()

    # ---- the rules ----------------------------------------------------------------------
    def estimate(self, service_id: str, priority: str | None = None) -> WaitEstimate:
        """Wait of a ticket issued now: the people it would be called after, times the rolling
        mean service time, over the open counters serving the service."""
        day = self.today()
        with self._lock:
            state = self._queue()
            waiting = state.waiting(service_id, day)
            ahead = sum(1 for t in waiting if priority is None or t.priority is not None)
            return WaitEstimate(ahead, state.estimate_wait(service_id, ahead))

    def status(self, service_id: str, priority: str | None = None) -> ServiceStatus:
        """The service as the person choosing sees it: with a priority reason, the state and
        wait of a priority ticket (a service that takes no priority gives a standard one)."""
        service = self._site.service(service_id)
        if service is None:
            raise KeyError(f"unknown service {service_id!r}")
        priority = self.effective_priority(service, priority)
        now = self.now_local()
        wait = self.estimate(service_id, priority)
        closes = service.closes_at(now)
        if closes is None:
            availability = Availability.CLOSED
        elif now.timestamp() + wait.seconds > closes.timestamp():
            availability = Availability.STOPPED
        else:
            availability = Availability.OPEN
        nxt = service.next_opening(now) if availability is not Availability.OPEN else None
        long_wait = wait.seconds > self.settings.long_wait_minutes * 60
        return ServiceStatus(service, availability, wait, closes, nxt, long_wait)

    def statuses(self, priority: str | None = None) -> list[ServiceStatus]:
        return [self.status(s.id, priority) for s in self._site.services]

    def effective_priority(self, service: Service, priority: str | None) -> str | None:
        """The priority a ticket of ``service`` gets: none where the service or the site does
        not take the reason."""
        if service.priority_allowed and priority in self._site.priority_reasons:
            return priority
        return None

    def priority_reasons(self) -> tuple[str, ...]:
        return self._site.priority_reasons

    def quieter_time(self, service_id: str) -> datetime | None:
        """Start of the quietest upcoming open hour (kiosk.quiet), from the arrivals of the
        weeks before today read in the journal (counted once a day per service)."""
        service = self._site.service(service_id)
        if service is None:
            return None
        now = self.now_local()
        day = now.date().isoformat()
        with self._lock:
            cached = self._arrivals.get(service_id)
        if cached is None or cached[0] != day:
            since, until = arrival_window(now)
            counts = slots(self.journal.issued_times(service_id, since, until), self._site.tz)
            cached = (day, counts)
            with self._lock:
                self._arrivals[service_id] = cached
        return quietest_slot(service, cached[1], now)

    def follow_url(self, token: str) -> str:
        base = self.settings.follow_base_url or (
            str(self.settings.server.url) if self.settings.server.url else ""
        )
        return f"{base.rstrip('/')}/t/{token}" if base and token else ""

    # ---- issuing and printing (the I/O worker thread) -----------------------------------
    def take_number(
        self,
        service_id: str,
        priority: str | None,
        lang: str,
        extra: Mapping[str, Any] | None = None,
    ) -> tuple[IssueResult, IssuedTicket | None]:
        """Rules, then the journal: the ticket exists (print state "pending") on return.
        ``extra``: payload fields of a checked-in appointment (``kiosk.checkin``). An
        appointment is called at its time, ahead of the walk-ins: a walk-in queue too long for
        the closing time (``STOPPED``) does not refuse it; a closed service does."""
        status = self.status(service_id, priority)
        booked = extra is not None and "appointment_at" in extra
        if not status.can_issue and not (booked and status.availability is Availability.STOPPED):
            return IssueResult(Outcome.REFUSED, status=status), None
        priority = self.effective_priority(status.service, priority)
        issued_at = self.clock()  # printed on the ticket: the device's corrected time
        try:
            event, source = self.journal.issue_ticket(
                service_id,
                self.today(),
                priority=priority,
                lang=lang,
                prefix=status.service.prefix,
                extra=extra,
            )
        except NumbersExhausted:
            log.error("no number left for %s: lease and offline range used up", service_id)
            return IssueResult(Outcome.EXHAUSTED, status=status), None
        with self._lock:
            state = self._queue()
            state.add(event)
            t = state.tickets[event.data["ticket"]]
        token = str(event.data.get("token", ""))
        issued = IssuedTicket(
            ticket=t.id,
            label=t.label,
            number=t.number,
            service=status.service,
            day=t.day,
            priority=t.priority,
            lang=lang,
            issued_at=issued_at,
            token=token,
            source=source,
            wait=status.wait,
            follow_url=self.follow_url(token),
            appointment_at=_appointment_at(extra),
        )
        return IssueResult(Outcome.PRINTED, issued, status=status), issued

    def print_ticket(self, issued: IssuedTicket, *, reprint: bool = False) -> IssueResult:
        """Prints a journaled ticket; marks it printed or failed in the journal. ``reprint``:
        the same ticket again, after its print failed (marked as a copy: part of the first
        may have come out)."""
        names = self._site.languages
        other = next((lang for lang in names if lang != issued.lang), None)
        second = issued.service.names.get(other) if other else None
        content = TicketContent(
            site_name=self._site.name,
            label=issued.label,
            service_name=issued.service.name(issued.lang),
            issued_at=self._site.local(issued.issued_at),
            people_ahead=issued.wait.ahead,
            wait_minutes=issued.wait.minutes,
            follow_url=issued.follow_url,
            footer=self._site_config.site.footer,
            service_name_2=second if second != issued.service.name(issued.lang) else None,
            priority=Texts(issued.lang)._("Priority ticket") if issued.priority else None,
            lang=issued.lang,
            reprint=reprint,
            appointment_at=(
                self._site.local(issued.appointment_at)
                if issued.appointment_at is not None
                else None
            ),
        )
        try:
            result = self.printer.print_ticket(content)
        except Exception as exc:  # the printer promises no exception; a screen never sees one
            log.exception("printer raised while printing %s", issued.label)
            result = PrinterStatus(PrinterState.ERROR, detail=str(exc), error_id="printer-crash")
        printed = result.state in CAN_PRINT
        self.journal.set_print_state(issued.ticket, "printed" if printed else "failed")
        with self._lock:
            self._printer_status = result
        if not printed:
            log.warning("ticket %s not printed: printer %s", issued.label, result.state)
        outcome = Outcome.PRINTED if printed else Outcome.PRINT_FAILED
        return IssueResult(outcome, issued, result)

    def manage_url(self, token: str) -> str:
        """The page that moves or cancels an appointment (``/a/{token}``)."""
        base = self.settings.follow_base_url or (
            str(self.settings.server.url) if self.settings.server.url else ""
        )
        return f"{base.rstrip('/')}/a/{token}" if base and token else ""

    def print_slip(self, booked: Booked, lang: str) -> PrinterStatus:
        """Prints the slip of an appointment booked here (I/O worker thread)."""
        service = self._site.service(booked.service)
        content = SlipContent(
            site_name=booked.site_name or self._site.name,
            service_name=service.name(lang) if service is not None else booked.service,
            starts_at=self._site.local(booked.start),
            code=shown_code(booked.code),
            manage_url=self.manage_url(booked.token),
            footer=self._site_config.site.footer,
            lang=lang,
        )
        try:
            result = self.printer.print_slip(content)
        except Exception as exc:  # the printer promises no exception; a screen never sees one
            log.exception("printer raised while printing an appointment slip")
            result = PrinterStatus(PrinterState.ERROR, detail=str(exc), error_id="printer-crash")
        with self._lock:
            self._printer_status = result
        return result

    def reprint(self, issued: IssuedTicket) -> IssueResult:
        """Prints again a ticket whose print failed, at the person's request: the same number,
        not a new ticket (a new one would queue them behind their own first ticket)."""
        if self.journal.print_state(issued.ticket) is not PrintState.FAILED:
            raise ValueError(f"ticket {issued.label} is not a failed print")
        log.info("ticket %s printed again at the visitor's request", issued.label)
        return self.print_ticket(issued, reprint=True)

    def issue(self, service_id: str, priority: str | None = None, lang: str = "fr") -> IssueResult:
        """The whole of it: rules, journal, printer."""
        result, issued = self.take_number(service_id, priority, lang)
        if issued is None:
            return result
        printed = self.print_ticket(issued)
        return IssueResult(printed.outcome, issued, printed.printer, result.status)

    def check_printer(self) -> PrinterStatus:
        """Asks the printer for its status (I/O worker thread)."""
        try:
            result = self.printer.status()
        except Exception as exc:
            log.exception("printer raised on a status query")
            result = PrinterStatus(PrinterState.ERROR, detail=str(exc), error_id="printer-crash")
        with self._lock:
            changed = result.state != self._printer_status.state
            self._printer_status = result
        if changed:
            log.info("printer is now %s", result.state)
        return result

    def fail_interrupted_prints(self) -> list[str]:
        """At start-up: tickets journaled but not marked printed (power cut or kill while
        printing) are marked failed, never printed late for someone who has gone. Their paper
        may be whole, cut off or missing: the next ticket starts with a feed and a cut."""
        pending = self.journal.pending_prints()
        for ticket in pending:
            self.journal.set_print_state(ticket, "failed")
        if pending:
            self.printer.partial = True
            with self._lock:
                known = self._queue().tickets
                labels = [known[t].label if t in known else t for t in pending]
            log.warning(
                "%d ticket(s) interrupted while printing (%s) marked failed: the paper may be "
                "incomplete",
                len(pending),
                ", ".join(labels),
            )
        return pending

    @property
    def printer_status(self) -> PrinterStatus:
        with self._lock:
            return self._printer_status

    def appointment_ticket(self, appointment: str) -> str | None:
        """The label of a ticket of today already issued for ``appointment`` anywhere the
        kiosk has heard of (its own, or synced from the server and the other devices)."""
        day = self.today()
        with self._lock:
            for t in self._queue().tickets.values():
                if t.appointment == appointment and t.day == day:
                    return t.label
        return None

    def tickets_today(self) -> int:
        day = self.today()
        with self._lock:
            return sum(
                1
                for t in self._queue().tickets.values()
                if t.day == day and t.device == self.settings.device_id
            )

    def waiting_count(self, service_id: str) -> int:
        with self._lock:
            return sum(
                1
                for t in self._queue().waiting(service_id, self.today())
                if t.status is TicketStatus.WAITING
            )

    def health(self, last_sync: float | None, version: str) -> dict[str, Any]:
        """The kiosk's part of the heartbeat the sync worker sends."""
        status = self.printer_status
        return {
            "role": "kiosk",
            "version": version,
            "printer": status.state.value,
            "printer_detail": status.detail,
            "printer_error_id": status.error_id,
            "journal_backlog": self.journal.backlog(),
            "last_sync": last_sync,
            "tickets_today": self.tickets_today(),
        }
