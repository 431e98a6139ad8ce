"""What a counter action does: the events an agent's press makes, decided from a queue state.

One rule for every decider: the server (an agent's web console, or a board's press forwarded
to it) and a board deciding alone while the server does not answer both call :func:`plan`, so
the same state and the same press give the same events wherever they are decided.

- NEXT opens the counter if it is closed, finishes its current ticket (served) and calls the
  next ticket for it (``QueueState.next_for``), if anyone waits;
- RECALL, DONE, NO_SHOW and TRANSFER act on the counter's current ticket, and make nothing
  when it has none;
- TRANSFER goes only to a service open now (its hours) that an open counter serves
  (:func:`transfer_targets`): a ticket sent to a closed service would wait for nobody;
- OPEN and CLOSE make an event only when they change the counter's state (a second OPEN is
  not a new fact: the log would grow with every repeated press otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from tickets.events import EventKind
from tickets.model import Service
from tickets.queue import QueueState, Ticket


class CounterAction(StrEnum):
    """What an agent asks for at a counter. The value is the server's action path."""

    NEXT = "next"
    RECALL = "recall"
    DONE = "done"
    NO_SHOW = "no-show"
    TRANSFER = "transfer"
    OPEN = "open"
    CLOSE = "close"


class Refusal(StrEnum):
    """Why a press made no call or finished nothing."""

    EMPTY = "empty"
    """NEXT with nobody waiting for the counter's services (today)."""
    NO_TICKET = "no_ticket"
    """RECALL, DONE, NO_SHOW or TRANSFER while the counter has no ticket."""
    CLOSED_SERVICE = "closed_service"
    """TRANSFER to a service closed now, or that no open counter serves."""


Planned = list[tuple[EventKind, dict[str, Any]]]

_ON_CURRENT = {
    CounterAction.RECALL: EventKind.TICKET_RECALLED,
    CounterAction.DONE: EventKind.TICKET_SERVED,
    CounterAction.NO_SHOW: EventKind.TICKET_NO_SHOW,
    CounterAction.TRANSFER: EventKind.TICKET_TRANSFERRED,
}


@dataclass(frozen=True, slots=True)
class Plan:
    events: Planned = field(default_factory=list)
    """Kinds and payloads of the events to make, in order (without the press id)."""
    ticket: Ticket | None = None
    """The ticket the action concerns: the one called by NEXT, the current one otherwise."""
    refusal: Refusal | None = None


def transfer_targets(
    state: QueueState, local_now: datetime, exclude: str | None = None
) -> list[Service]:
    """The services a ticket may be transferred to at ``local_now`` (site-local time): open
    by their hours and served by at least one open counter; ``exclude`` is left out (the
    ticket's own service, in a list offered to an agent)."""
    return [
        s
        for s in state.site.services
        if s.id != exclude and s.is_open(local_now) and state.counters_serving(s.id)
    ]


def plan(
    state: QueueState,
    counter: str,
    action: CounterAction,
    day: str,
    service: str | None = None,
    now: float | None = None,
) -> Plan:
    """The events ``action`` at ``counter`` makes in ``state``; ``day`` is today's service day
    (NEXT calls only today's tickets), ``service`` the target of a TRANSFER, ``now`` the time
    of the press (checked-in appointments are called by their time; default: the newest
    event's; required for a TRANSFER, whose target must be open then)."""
    current = state.counter_ticket(counter)
    out: Planned = []
    if action is CounterAction.NEXT:
        nxt = state.next_for(counter, day=day, now=now)
        if counter not in state.open_counters:
            out.append((EventKind.COUNTER_OPENED, {"counter": counter}))
        if current is not None:
            out.append((EventKind.TICKET_SERVED, {"ticket": current.id, "counter": counter}))
        if nxt is None:
            return Plan(out, None, Refusal.EMPTY)
        out.append((EventKind.TICKET_CALLED, {"ticket": nxt.id, "counter": counter}))
        return Plan(out, nxt)
    if action is CounterAction.OPEN:
        if counter not in state.open_counters:
            out.append((EventKind.COUNTER_OPENED, {"counter": counter}))
        return Plan(out, current)
    if action is CounterAction.CLOSE:
        if counter in state.open_counters:
            out.append((EventKind.COUNTER_CLOSED, {"counter": counter}))
        return Plan(out, current)
    if current is None:
        return Plan(out, None, Refusal.NO_TICKET)
    data: dict[str, Any] = {"ticket": current.id, "counter": counter}
    if action is CounterAction.TRANSFER:
        if now is None:
            raise ValueError("a TRANSFER is planned at a given time")
        if service not in {s.id for s in transfer_targets(state, state.site.local(now))}:
            return Plan(out, current, Refusal.CLOSED_SERVICE)
        data["service"] = service
    out.append((_ON_CURRENT[action], data))
    return Plan(out, current)
