"""Where a received event stands in the queue when its author's stamp cannot be a time.

The rules of the time model (docs/architecture.md, "Time") that decide, at receipt, whether an
event keeps its author's hybrid-clock stamp or is re-stamped (``Event.restamped``: the author's
stamp is kept beside the new one). The server applies ``place_uploaded`` to every upload, a
device ``place_received`` to every event a LAN peer gives it; the server's copy is final, and
every device ends with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from tickets.events import Event, EventKind
from tickets.hlc import HybridClock, Timestamp


def place_uploaded(
    events: Iterable[Event],
    clock: HybridClock,
    *,
    now: float,
    bound: float,
    clock_error: float | None,
    issued: dict[str, Timestamp],
    author_errors: Mapping[str, float] | None = None,
) -> list[Event]:
    """The uploaded events as the server stores them, in upload order.

    An event is re-stamped when its stamp is more than ``bound`` seconds ahead of ``now`` (the
    server's clock), or more than ``bound`` away from the time it happened on the server's
    clock (its wall time corrected by the device's measured ``clock_error``, when measured: a
    device that stamped with a clock hours behind, after a night without network). The new
    stamp is that corrected time when known (the event keeps its place among the others),
    else the server's clock now. An event about a ticket stamped at or before that ticket's
    TicketIssued (``issued``: the stored ones; the batch's are added) is re-stamped after it:
    nothing can happen to a ticket before it exists, and the fold would drop it.

    Events a device relays (made by others) come with ``author_errors`` instead: each author's
    clock error as last measured at a sync of its own (its health report carries it back). A
    relayed event whose stamp is more than ``bound`` away from its wall time corrected by that
    error was made after its author's clock moved (it booted on a saved time, or in 1970, with
    nobody it trusts in reach): neither its stamp nor its wall time is a time, and it is
    re-stamped at receipt (the server's clock now), not kept where its author's guess put it.
    Its author's own upload times it later.

    ``clock`` follows every stamp kept or given, so later re-stamps come after them.
    """
    out: list[Event] = []
    for e in events:
        error = clock_error if author_errors is None else author_errors.get(e.device)
        corrected = None if error is None else min(e.wall_time + error, now)
        stamp = e.hlc
        if stamp.seconds > now + bound or (
            corrected is not None and abs(stamp.seconds - corrected) > bound
        ):
            at = (
                None
                if corrected is None or author_errors is not None
                else Timestamp(int(corrected * 1000), 0, e.device)
            )
            stamp = clock.now() if at is None else at
        first = issued.get(e.ticket or "") if e.kind is not EventKind.TICKET_ISSUED else None
        if first is not None and stamp <= first:
            clock.receive(first, trusted=True)
            stamp = clock.now()
        if stamp != e.hlc:
            e = e.restamped(stamp)
        clock.receive(e.hlc, trusted=True)
        if e.kind is EventKind.TICKET_ISSUED and e.ticket is not None:
            issued.setdefault(e.ticket, e.hlc)
        out.append(e)
    return out


def place_received(event: Event, clock: HybridClock) -> Event:
    """An event the server or a LAN peer gave this device, as the device stores it.

    A copy the server stored (it has a ``seq``) is taken as it is and moves the clock: the
    server bounds its stamps by its own clock. Any other is followed by the clock when within
    its bound, else re-stamped at receipt (now, on this device's clock): one peer with a clock
    days ahead neither drags this device's clock nor goes to the end of its queue. The server's
    copy replaces it when it comes (``Journal.store_remote``)."""
    if event.seq is not None:
        clock.receive(event.hlc, trusted=True)
        return event
    if clock.receive(event.hlc):
        return event
    return event.restamped(clock.now())
