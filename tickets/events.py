"""The events that make up a site's queue.

Every change to a queue is an event with a UUID chosen by the device that made it. The server
gives each stored event a per-site sequence number (``seq``), which is the sync cursor, and
records when it received it (``received_at``) and, for its statistics, when it happened on
its own clock (``occurred_at``: the device's wall time corrected by its clock error). The queue
state is a fold over these events (``tickets.queue``): ordered by their hybrid logical clock,
timed by ``Event.at``.

Event payloads (``data``), by kind:

=====================  =========================================================================
TicketIssued           ticket, service, number (int), day (ISO date, site time zone),
                       priority (reason or null), token (follow-page secret), lang;
                       for a checked-in appointment also appointment (its id),
                       appointment_at (its time, epoch seconds) and note (for the counter)
TicketCalled           ticket, counter
TicketRecalled         ticket, counter
TicketServed           ticket, counter
TicketNoShow           ticket, counter
TicketReactivated      ticket
TicketTransferred      ticket, service (the new one), counter (who transferred, may be null)
TicketCancelled        ticket
CounterOpened          counter
CounterClosed          counter
=====================  =========================================================================

Events made for a counter's button press (every kind above but TicketIssued, TicketReactivated
and TicketCancelled) may also carry ``press``: the id the board gave the press (a UUID). One
press has one decision: whether the server or the board that stopped waiting for it took it,
the fold keeps the first decision by clock and flags the other (``tickets.queue``).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from tickets.hlc import Timestamp


class EventKind(StrEnum):
    TICKET_ISSUED = "TicketIssued"
    TICKET_CALLED = "TicketCalled"
    TICKET_RECALLED = "TicketRecalled"
    TICKET_SERVED = "TicketServed"
    TICKET_NO_SHOW = "TicketNoShow"
    TICKET_REACTIVATED = "TicketReactivated"
    TICKET_TRANSFERRED = "TicketTransferred"
    TICKET_CANCELLED = "TicketCancelled"
    COUNTER_OPENED = "CounterOpened"
    COUNTER_CLOSED = "CounterClosed"


# Payload fields each kind requires, with their types.
REQUIRED_FIELDS: dict[EventKind, dict[str, type | tuple[type, ...]]] = {
    EventKind.TICKET_ISSUED: {"ticket": str, "service": str, "number": int, "day": str},
    EventKind.TICKET_CALLED: {"ticket": str, "counter": str},
    EventKind.TICKET_RECALLED: {"ticket": str, "counter": str},
    EventKind.TICKET_SERVED: {"ticket": str, "counter": str},
    EventKind.TICKET_NO_SHOW: {"ticket": str, "counter": str},
    EventKind.TICKET_REACTIVATED: {"ticket": str},
    EventKind.TICKET_TRANSFERRED: {"ticket": str, "service": str},
    EventKind.TICKET_CANCELLED: {"ticket": str},
    EventKind.COUNTER_OPENED: {"counter": str},
    EventKind.COUNTER_CLOSED: {"counter": str},
}
OPTIONAL_FIELDS: dict[EventKind, dict[str, type | tuple[type, ...]]] = {
    EventKind.TICKET_ISSUED: {
        "priority": (str, type(None)),
        "token": str,
        "lang": str,
        "label": str,
        "appointment": str,
        "appointment_at": (int, float),
        "note": str,
    },
    EventKind.TICKET_TRANSFERRED: {"counter": (str, type(None)), "press": str},
    **{
        kind: {"press": str}
        for kind in (
            EventKind.TICKET_CALLED,
            EventKind.TICKET_RECALLED,
            EventKind.TICKET_SERVED,
            EventKind.TICKET_NO_SHOW,
            EventKind.COUNTER_OPENED,
            EventKind.COUNTER_CLOSED,
        )
    },
}


_SIG = re.compile(r"^[0-9a-f]{64}$")


class EventError(ValueError):
    """An event that is malformed: names the event and the field."""


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    site: str
    device: str
    kind: EventKind
    hlc: Timestamp
    wall_time: float
    """The device's wall clock when it made the event (seconds since the epoch; may be wrong)."""
    data: dict[str, Any] = field(default_factory=dict)
    seq: int | None = None
    """Per-site sequence number given by the server; None until stored there."""
    received_at: float | None = None
    """Server time when the server first stored the event (seconds since the epoch)."""
    original_hlc: Timestamp | None = None
    """The clock its author stamped it with, when a receiver re-stamped it (the author's stamp
    was beyond the receiver's bound: docs/architecture.md, "Time"); None when ``hlc`` is the
    author's. The server's copy is the one every device ends with."""
    occurred_at: float | None = field(default=None, compare=False)
    """When the event happened, on the server's clock: its wall time corrected by the error of
    the device's clock the server measured at the sync that brought it (seconds since the
    epoch). Kept by the server for its statistics, never sent; None when not known."""
    sig: str | None = field(default=None, compare=False)
    """Its author's signature (hex HMAC-SHA256, ``tickets.signing``); None when unsigned."""

    @property
    def ticket(self) -> str | None:
        value = self.data.get("ticket")
        return value if isinstance(value, str) else None

    @property
    def at(self) -> float:
        """When the event happened, as well as it is known (seconds since the epoch): the
        server's corrected time when it has one, else the hybrid clock's physical part. A
        time to measure waits with; the order of events is their clock's."""
        return self.occurred_at if self.occurred_at is not None else self.hlc.seconds

    def sort_key(self) -> tuple[Timestamp, str]:
        """Total order of the fold: clock, then id."""
        return (self.hlc, self.id)

    @property
    def authored(self) -> Event:
        """The event as its author made it (its own stamp back, when re-stamped)."""
        if self.original_hlc is None:
            return self
        return replace(self, hlc=self.original_hlc, original_hlc=None)

    def restamped(self, hlc: Timestamp) -> Event:
        """The event placed at ``hlc`` by a receiver, its author's stamp kept."""
        return replace(self, hlc=hlc, original_hlc=self.original_hlc or self.hlc)

    def stored(self, seq: int, received_at: float) -> Event:
        return replace(self, seq=seq, received_at=received_at)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "site": self.site,
            "device": self.device,
            "kind": self.kind.value,
            "hlc": self.hlc.encode(),
            "wall_time": self.wall_time,
            "data": self.data,
        }
        if self.original_hlc is not None:
            out["original_hlc"] = self.original_hlc.encode()
        if self.seq is not None:
            out["seq"] = self.seq
        if self.received_at is not None:
            out["received_at"] = self.received_at
        if self.sig is not None:
            out["sig"] = self.sig
        return out

    @classmethod
    def from_dict(cls, raw: Any) -> Event:
        """Parses and validates an event received from another device or the server."""
        if not isinstance(raw, dict):
            raise EventError("an event must be a JSON object")
        for key, typ in (
            ("id", str),
            ("site", str),
            ("device", str),
            ("kind", str),
            ("hlc", str),
            ("data", dict),
        ):
            if not isinstance(raw.get(key), typ):
                raise EventError(f"event field {key!r} is missing or not a {typ.__name__}")
        try:
            event_id = str(uuid.UUID(raw["id"]))
        except ValueError:
            raise EventError(f"event field 'id': {raw['id']!r} is not a UUID") from None
        try:
            kind = EventKind(raw["kind"])
        except ValueError:
            raise EventError(f"event field 'kind': unknown event kind {raw['kind']!r}") from None
        try:
            hlc = Timestamp.decode(raw["hlc"])
        except ValueError as exc:
            raise EventError(f"event field 'hlc': {exc}") from None
        original = raw.get("original_hlc")
        if original is not None:
            if not isinstance(original, str):
                raise EventError("event field 'original_hlc' must be a clock value")
            try:
                original = Timestamp.decode(original)
            except ValueError as exc:
                raise EventError(f"event field 'original_hlc': {exc}") from None
        wall = raw.get("wall_time", hlc.seconds)
        if not isinstance(wall, int | float) or isinstance(wall, bool):
            raise EventError("event field 'wall_time' must be a number of seconds")
        data = dict(raw["data"])
        validate_payload(kind, data, event_id)
        seq = raw.get("seq")
        received = raw.get("received_at")
        if seq is not None and (not isinstance(seq, int) or isinstance(seq, bool) or seq < 0):
            raise EventError("event field 'seq' must be a non-negative integer")
        if received is not None and (
            not isinstance(received, int | float) or isinstance(received, bool)
        ):
            raise EventError("event field 'received_at' must be a number of seconds")
        sig = raw.get("sig")
        if sig is not None and not (isinstance(sig, str) and _SIG.match(sig)):
            raise EventError("event field 'sig' must be 64 lower-case hexadecimal digits")
        return cls(
            id=event_id,
            site=raw["site"],
            device=raw["device"],
            kind=kind,
            hlc=hlc,
            wall_time=float(wall),
            data=data,
            seq=seq,
            received_at=None if received is None else float(received),
            original_hlc=original,
            sig=sig,
        )


def validate_payload(kind: EventKind, data: dict[str, Any], event_id: str = "?") -> None:
    required = REQUIRED_FIELDS[kind]
    optional = OPTIONAL_FIELDS.get(kind, {})
    for key, typ in required.items():
        value = data.get(key)
        if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
            raise EventError(
                f"event {event_id} ({kind}): field {key!r} is missing or of the wrong type"
            )
    for key, value in data.items():
        if key in required:
            continue
        if key not in optional:
            raise EventError(f"event {event_id} ({kind}): unknown field {key!r}")
        if not isinstance(value, optional[key]):
            raise EventError(f"event {event_id} ({kind}): field {key!r} is of the wrong type")


def new_event(
    kind: EventKind,
    *,
    site: str,
    device: str,
    hlc: Timestamp,
    wall_time: float,
    **data: Any,
) -> Event:
    """A new event made on this device, with a fresh UUID."""
    payload = {k: v for k, v in data.items() if v is not None or k in ("priority", "counter")}
    validate_payload(kind, payload)
    return Event(
        id=str(uuid.uuid4()),
        site=site,
        device=device,
        kind=kind,
        hlc=hlc,
        wall_time=wall_time,
        data=payload,
    )
