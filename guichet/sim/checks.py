"""What must hold after a day of faults: the checks of the chaos run and of the tests.

``fold_dump`` is the comparable form of a queue state: two devices (or a device and the
server) that know the same events give the same dump, whatever order they learnt them in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tickets.events import Event, EventKind
from tickets.model import Site
from tickets.queue import QueueState, fold

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def fold_dump(state: QueueState) -> dict[str, Any]:
    """The queue state as plain, sorted data (the call history, a bounded window, is left out)."""
    return {
        "tickets": [
            {
                "id": t.id,
                "label": t.label,
                "day": t.day,
                "service": t.service,
                "status": t.status.value,
                "counter": t.counter,
                "priority": t.priority,
                "issued": t.issued_hlc.encode(),
                "called_at": t.called_at,
                "finished_at": t.finished_at,
                "recalls": t.recalls,
                "transfers": t.transfers,
                "conflict": t.conflict,
            }
            for t in sorted(state.tickets.values(), key=lambda t: t.id)
        ],
        "open_counters": sorted(state.open_counters),
        "current": dict(sorted(state.current.items())),
        "conflicts": sorted(
            [c.kind, c.ticket, c.kept_counter, c.other_counter, c.event] for c in state.conflicts
        ),
    }


def server_events(engine: Engine, site: str, *, corrected_time: bool = False) -> list[Event]:
    """Every event the server stored for ``site``, in sequence order; with
    ``corrected_time``, carrying the server's corrected times (as its statistics read them)."""
    from server import db, store

    out: list[Event] = []
    with db.read(engine) as conn:
        cursor = 0
        while True:
            rows = store.since(conn, site, cursor, 5000)
            out += [store.row_event(r, corrected_time) for r in rows]
            if len(rows) < 5000:
                return out
            cursor = rows[-1].seq


def server_dump(engine: Engine, site: Site) -> dict[str, Any]:
    return fold_dump(fold(site, server_events(engine, site.id)))


def calls_per_ticket(events: list[Event]) -> dict[str, int]:
    """How many TicketCalled events each ticket has (recalls are another kind)."""
    out: dict[str, int] = {}
    for e in events:
        if e.kind is EventKind.TICKET_CALLED and e.ticket is not None:
            out[e.ticket] = out.get(e.ticket, 0) + 1
    return out
