"""What the board knows and decides, without a screen: presses, calls, the view model.

A press at a counter goes to the server's atomic counter action when the server answers within
a short timeout; the board then shows what the server decided. When the server does not answer,
the board decides from its own view of the queue (its journal's fold), journals the events
(uploaded later; the server flags any conflict) and shows the call at once. After a failed
attempt, presses skip the server for a while (``offline_retry``) so agents never wait on a dead
link press after press; a successful sync ends that early. Before the server decides again, the
board uploads its outbox: the decisions it took alone, and the events it learnt from its LAN
peers (a ticket printed by a kiosk that cannot reach the server): the server never decides
without them, so it never calls a later ticket before one the board knows is waiting.

Each press has an id, sent to the server with a time budget (half the board's timeout) and
carried by the events of the board's own decision: the server makes nothing for a press once
the budget has run out (it answers 409 ``press_expired``, and the board decides), and one press
never has two decisions (the fold keeps the first). The server's answer carries the called
ticket's ``TicketIssued`` too, so a ticket the board has not pulled yet is shown and announced.

Calls made anywhere else (the agents' web console, another board) arrive as events; each call
or recall the board has not seen is handed to ``on_calls`` once, to be shown and announced.
Calls older than ``max_age`` compared with the newest event known (a backlog after an outage)
only go to the history.

Every method is thread-safe: presses come from button reader threads, events from sync threads,
views are read by the UI thread.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from display.protocol import Action, Press, Reason, error_line, show_line
from display.ratelog import RateLimitedLog
from tickets.events import Event, EventError, EventKind
from tickets.model import Site
from tickets.press import Refusal, plan
from tickets.queue import Call, QueueState, TicketStatus, fold
from tickets.sync import ProtocolError, RequestRejected, SyncResult

log = logging.getLogger(__name__)


class JournalLike(Protocol):
    """The part of ``tickets.journal.Journal`` the board uses."""

    def record(self, kind: EventKind, **data: Any) -> Event: ...
    def store_remote(self, events: list[Event]) -> list[Event]: ...
    def state(self, site: Site) -> QueueState: ...
    def outbox(self, limit: int = 500) -> list[Event]: ...
    def acknowledge(self, ids: Iterable[str]) -> None: ...
    def quarantine(self, event_id: str, reason: str) -> None: ...
    @property
    def cursor(self) -> int: ...
    def config_version(self) -> str: ...
    def wall(self) -> float: ...
    def measured_clock_offset(self) -> float | None: ...


class CounterActions(Protocol):
    """The part of ``tickets.sync.SyncClient`` the board uses (with a short timeout)."""

    timeout: float
    """How long a call waits for the server's answer (seconds)."""

    def counter_action(
        self,
        site: str,
        counter: str,
        action: str,
        service: str | None = None,
        *,
        press: str | None = None,
        budget: float | None = None,
    ) -> dict[str, Any]: ...

    def sync(
        self,
        cursor: int,
        events: list[Event],
        lease_requests: list[dict[str, str]],
        config_version: str,
        health: dict[str, Any] | None = None,
        limit: int = 1000,
        *,
        device_time: float | None = None,
    ) -> SyncResult: ...


class ServerRefused(Exception):
    """The server answered and said no (a 4xx other than authentication): the board does
    not decide instead of it."""


class ServerTooSlow(Exception):
    """The server could not act on the press within its budget and made nothing: the board
    decides."""


@dataclass(frozen=True, slots=True)
class CallView:
    key: str
    """Id of the event that made the call (unique per call and recall)."""
    ticket: str
    counter_id: str
    counter_label: str
    service_name: str
    at: float
    recall: bool


@dataclass(frozen=True, slots=True)
class ServiceView:
    id: str
    name: str
    prefix: str
    waiting: int
    wait_minutes: int | None
    """Estimated wait for someone taking a ticket now (minutes), None when nobody waits."""
    open_now: bool


@dataclass(frozen=True, slots=True)
class PressOutcome:
    counter: str
    ticket: str | None
    """The counter's ticket after the press (what its small display shows)."""
    decided_by: str
    """"server", "board" (server unreachable or not configured) or "" (refused)."""
    error: Reason | None = None

    def reply_lines(self) -> list[str]:
        """What the counter's box gets back."""
        lines = [error_line(self.counter, self.error)] if self.error else []
        if self.error is not Reason.UNKNOWN_COUNTER:
            lines.append(show_line(self.counter, self.ticket))
        return lines


@dataclass(frozen=True, slots=True)
class BoardView:
    site_name: str
    languages: tuple[str, ...]
    latest: CallView | None
    history: tuple[CallView, ...]
    services: tuple[ServiceView, ...]


_REASONS: dict[Refusal | None, Reason] = {
    Refusal.EMPTY: Reason.EMPTY,
    Refusal.NO_TICKET: Reason.NO_TICKET,
    Refusal.CLOSED_SERVICE: Reason.CLOSED_SERVICE,
}


def _calling(state: QueueState, call: Call) -> bool:
    """Whether ``call`` is still going on: its ticket is called, at that counter."""
    t = state.tickets.get(call.ticket)
    return t is not None and t.status is TicketStatus.CALLED and t.counter == call.counter


def round_minutes(seconds: float) -> int:
    """Wait estimates shown to the public: to the next 5 minutes, at least 5."""
    minutes = seconds / 60.0
    return max(5, int(-(-minutes // 5)) * 5)


class BoardCore:
    def __init__(
        self,
        site: Site,
        journal: JournalLike,
        *,
        client: CounterActions | None = None,
        history: int = 6,
        max_age: float = 120.0,
        offline_retry: float = 15.0,
        budget: float | None = None,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.site = site
        self.journal = journal
        self.client = client
        self.budget = budget if budget is not None or client is None else client.timeout / 2
        """How long the server may take to act on a press (seconds): well within the client's
        timeout, so that the server never acts on a press after the board stopped waiting."""
        self.history = history
        self.max_age = max_age
        self.offline_retry = offline_retry
        self._wall = wall
        self._monotonic = monotonic
        self._lock = threading.RLock()
        self._skip_server_until = 0.0
        self._unknown_counter = RateLimitedLog(log, clock=monotonic)
        self.on_calls: Callable[[list[CallView]], None] | None = None
        """Called (on the thread that learnt them) with calls to show and announce."""
        self.on_change: Callable[[], None] | None = None
        """Called after any change of the queue state (refresh the screen)."""
        self.on_boxes: Callable[[dict[str, str | None]], None] | None = None
        """Called with the counters whose ticket changed other than by a press at their own
        box (counter -> its ticket now, None for none): a call made elsewhere, a ticket served
        or transferred elsewhere, a call overruled as a conflict. Their boxes are told."""
        self._boxes: dict[str, str | None] = {}
        """Counter -> the ticket its box was last told (or showed when the board started)."""
        self._answering: Counter[str] = Counter()
        """Counters with a press in progress: the press's answer tells their box."""
        self.decided_locally = 0
        """Presses the board decided alone since start."""
        self._state: QueueState = fold(site, [])
        self._seen: set[str] = set()
        self._primed = False
        self.resync()

    # ---- state ------------------------------------------------------------------------
    def resync(self) -> None:
        """Rebuilds the queue state from the journal (start-up, periodic full resync)."""
        with self._lock:  # a press journaled meanwhile must not be lost from the view
            self._state = self.journal.state(self.site)
            fresh = self._new_calls(announce=self._primed)
            if not self._primed:
                self._box_changes()  # what the boxes show at start: nothing to correct
            self._primed = True
        self._emit(fresh)

    def replace_site(self, site: Site) -> None:
        """A new site configuration (from the server): re-fold under the new rules."""
        with self._lock:
            self.site = site
        self.resync()

    def receive(self, events: list[Event]) -> None:
        """Events learnt from the server (sync or push), already in the journal."""
        if not events:
            return
        with self._lock:
            added = self._state.extend(events)
            fresh = self._new_calls() if added else []
        if added:
            self._emit(fresh)

    def server_answers(self) -> None:
        """Sync reached the server: presses go to it again."""
        self._skip_server_until = 0.0

    def _new_calls(self, announce: bool = True) -> list[CallView]:
        calls = list(self._state.calls)
        newest = self._state.last_hlc.seconds if self._state.last_hlc else self._wall()
        fresh = [
            self._call_view(c)
            for c in calls
            if c.event not in self._seen and announce and newest - c.at <= self.max_age
        ]
        self._seen = {c.event for c in calls}
        return fresh

    def _box_changes(self) -> dict[str, str | None]:
        """Counters whose ticket is not what their box was last told (and no press of theirs
        is being answered); their boxes count as told from now on. Under the lock."""
        out: dict[str, str | None] = {}
        for counter in self.site.counters:
            if self._answering[counter.id]:
                continue
            t = self._state.counter_ticket(counter.id)
            now = t.label if t else None
            if self._boxes.setdefault(counter.id, now) != now:
                out[counter.id] = now
                self._boxes[counter.id] = now
        return out

    def _emit(self, fresh: list[CallView]) -> None:
        with self._lock:
            boxes = self._box_changes()
        if fresh and self.on_calls is not None:
            self.on_calls(fresh)
        if boxes and self.on_boxes is not None:
            self.on_boxes(boxes)
        if self.on_change is not None:
            self.on_change()

    # ---- presses ------------------------------------------------------------------------
    def today(self) -> str:
        return self.site.day(self._wall()).isoformat()

    def press(self, press: Press) -> PressOutcome:
        """Acts on a press; never raises for what a box or the network does."""
        with self._lock:
            self._answering[press.counter] += 1
        try:
            return self._press(press)
        finally:
            with self._lock:
                self._answering[press.counter] -= 1

    def _press(self, press: Press) -> PressOutcome:
        counter = self.site.counter(press.counter)
        if counter is None:
            self._unknown_counter.warning(
                "press at unknown counter %r ignored (check the box's counter ids against the "
                "site's counters)",
                press.counter,
            )
            return PressOutcome(press.counter, None, "", Reason.UNKNOWN_COUNTER)
        if press.action is Action.TRANSFER and self.site.service(press.service or "") is None:
            return self._outcome(press.counter, "", Reason.UNKNOWN_SERVICE)
        press_id = str(uuid.uuid4())
        if self.client is not None and self._monotonic() >= self._skip_server_until:
            try:
                self._upload_own_decisions()
                return self._ask_server(press, press_id)
            except ServerRefused as exc:
                log.info("server refused %s: %s", press.line(), exc)
                return self._outcome(press.counter, "", Reason.REFUSED)
            except Exception as exc:
                log.warning("server did not answer %s (%s): deciding here", press.line(), exc)
                self._skip_server_until = self._monotonic() + self.offline_retry
        return self._decide_locally(press, press_id)

    UPLOAD_BATCH = 500
    UPLOAD_ROUNDS = 10
    """A board's outbox is a few events per press decided alone and what it learnt from peers
    that the server has not acknowledged: ten batches are hours of a busy site cut from the
    server. Each batch is one sync within the press's timeout; past it the board decides alone
    and its sync worker drains the rest."""

    def _upload_own_decisions(self) -> None:
        """Uploads the outbox (presses decided here, events learnt from peers) before the
        server decides again: a server deciding without them could call again a ticket this
        board called, or call a later ticket before one a kiosk cut from the server printed.
        Raises when the outbox cannot be emptied (the press is then decided here too)."""
        assert self.client is not None
        for _ in range(self.UPLOAD_ROUNDS):
            batch = self.journal.outbox(self.UPLOAD_BATCH)
            if not batch:
                return
            try:
                # What is new at the server is left to the sync worker (limit=1): this call
                # only has to get the board's own events stored.
                # The machine's clock goes with them: the server corrects their times by it.
                result = self.client.sync(
                    self.journal.cursor,
                    batch,
                    [],
                    self.journal.config_version(),
                    None,
                    1,
                    device_time=self.journal.wall(),
                )
            except RequestRejected as exc:
                if exc.event is None or exc.event not in {e.id for e in batch}:
                    raise
                log.error("server refused event %s for good (%s): quarantined", exc.event, exc)
                self.journal.quarantine(exc.event, exc.message)
                continue
            self.journal.acknowledge(result.acks)
            if not set(result.acks) >= {e.id for e in batch}:
                raise ProtocolError("the server did not acknowledge the whole upload")
        if self.journal.outbox(1):
            raise RuntimeError("decisions taken alone still wait for upload")

    def _ask_server(self, press: Press, press_id: str) -> PressOutcome:
        """The server decides. Raises ServerRefused, or any other exception when the board
        must decide alone (no answer, too late, authentication refused, server failure)."""
        assert self.client is not None
        try:
            answer = self.client.counter_action(
                self.site.id,
                press.counter,
                press.action.value,
                press.service,
                press=press_id,
                budget=self.budget,
            )
        except RequestRejected as exc:
            if exc.code == "press_expired":
                raise ServerTooSlow(str(exc)) from exc
            raise ServerRefused(str(exc)) from exc
        except ProtocolError as exc:
            # The server may well have acted: deciding here too could call twice. What it
            # did arrives by push or sync.
            log.error("unreadable answer to %s: %s", press.line(), exc)
            return self._outcome(press.counter, "server", None)
        issued = answer.get("issued")
        try:
            # The called ticket's TicketIssued first: the board may not have pulled it yet.
            raws = [issued, *answer.get("events", [])] if issued else answer.get("events", [])
            events = [Event.from_dict(raw) for raw in raws]
        except (EventError, AttributeError, TypeError) as exc:
            log.error("unreadable events in the answer to %s: %s", press.line(), exc)
            events = []
        if events:
            self.journal.store_remote(events)
            self.receive(events)
        error = None
        if not answer.get("ticket"):
            if press.action is Action.NEXT:
                error = Reason.EMPTY
            elif press.action not in (Action.OPEN, Action.CLOSE):
                error = Reason.NO_TICKET
        return self._outcome(press.counter, "server", error)

    def _decide_locally(self, press: Press, press_id: str) -> PressOutcome:
        c = press.counter
        with self._lock:
            planned = plan(self._state, c, press.action, self.today(), press.service, self._wall())
            for kind, payload in planned.events:
                self._state.add(self.journal.record(kind, press=press_id, **payload))
            fresh = self._new_calls() if planned.events else []
            self.decided_locally += 1
        if planned.events:
            self._emit(fresh)
        return self._outcome(c, "board", _REASONS.get(planned.refusal))

    def _outcome(self, counter: str, by: str, error: Reason | None) -> PressOutcome:
        with self._lock:
            ticket = self._state.counter_ticket(counter)
            label = ticket.label if ticket else None
            self._boxes[counter] = label  # the answer tells the box
        return PressOutcome(counter, label, by, error)

    # ---- what the screen shows ----------------------------------------------------------
    def _call_view(self, c: Call) -> CallView:
        counter = self.site.counter(c.counter)
        service = self.site.service(c.service)
        lang = self.site.languages[0] if self.site.languages else "fr"
        return CallView(
            key=c.event,
            ticket=c.label,
            counter_id=c.counter,
            counter_label=counter.label if counter else c.counter,
            service_name=service.name(lang) if service else c.service,
            at=c.at,
            recall=c.recall,
        )

    def waiting_count(self, service: str) -> int:
        """People waiting today for ``service``, as the board knows it."""
        with self._lock:
            return len(self._state.waiting(service, self.today()))

    def next_ticket(self, counter: str) -> str | None:
        """The ticket this board would call at ``counter`` now, from what it knows."""
        with self._lock:
            t = self._state.next_for(counter, self.today())
        return t.label if t else None

    def counter_ticket(self, counter: str) -> str | None:
        with self._lock:
            t = self._state.counter_ticket(counter)
        return t.label if t else None

    def view(self) -> BoardView:
        now = self._wall()
        local = self.site.local(now)
        today = local.date()
        with self._lock:
            state = self._state
            todays = [c for c in state.calls if self.site.day(c.at) == today]
            # "Now calling" is the newest call still going on: not a ticket served, absent or
            # transferred since, nor a call the fold overruled (it is not among the calls).
            live = [c for c in todays if _calling(state, c)]
            now_calling = live[-1] if live else None
            latest = self._call_view(now_calling) if now_calling else None
            history: list[CallView] = []
            seen = {now_calling.ticket} if now_calling else set()
            for c in reversed(todays):
                if c.ticket in seen:
                    continue
                seen.add(c.ticket)
                history.append(self._call_view(c))
                if len(history) >= self.history:
                    break
            services = []
            lang = self.site.languages[0] if self.site.languages else "fr"
            day = today.isoformat()
            counts = Counter(  # one pass: the journal may hold many days of tickets
                t.service
                for t in state.tickets.values()
                if t.status is TicketStatus.WAITING and t.day == day
            )
            for s in self.site.services:
                waiting = counts.get(s.id, 0)
                open_now = s.is_open(local)
                if not open_now and not waiting:
                    continue
                minutes = round_minutes(state.estimate_wait(s.id, waiting)) if waiting else None
                services.append(
                    ServiceView(s.id, s.name(lang), s.prefix, waiting, minutes, open_now)
                )
        return BoardView(
            self.site.name, self.site.languages, latest, tuple(history), tuple(services)
        )
