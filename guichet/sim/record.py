"""The simulator's own record of the day: every person, the ticket they got, when they were
called and by which counter, when they were served or found gone. Written as JSON lines as it
happens, and compared with the server's figures at the end."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any


@dataclass
class Visit:
    label: str
    service: str
    day: str
    kiosk: str
    issued_at: float
    """Simulated time the person touched the kiosk for their number (or typed their code)."""
    ticket: str | None = None
    """The ticket id the kiosk reported (None when it died before answering)."""
    printed: bool = True
    leaves: bool = False
    """The person has gone when called (decided on arrival)."""
    orphan: bool = False
    """A number nobody holds: journaled by a kiosk that died before it printed or showed it."""
    counter: str | None = None
    called_at: float | None = None
    finished_at: float | None = None
    outcome: str = "waiting"
    """waiting, called, served or no_show."""
    duration: float | None = None
    """How long this person's business takes at the counter (simulated seconds), drawn when
    the day is planned (None: drawn when called)."""
    appointment_at: float | None = None
    """The appointment's time, for a person checked in for one."""
    arrival: str = "walk_in"
    """walk_in, or how the person with an appointment came: early, on_time or late."""
    issued_by: float | None = None
    """Simulated time the kiosk answered (or the person found the slip of a kiosk that died):
    the kiosk stamped the ticket between ``issued_at`` and this (None: at ``issued_at``)."""
    called_by: float | None = None
    """Simulated time the counter's display showed the call: the call was made between
    ``called_at`` (the agent's press) and this (None: at ``called_at``)."""


class Record:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.visits: dict[str, Visit] = {}
        self.refused: list[dict[str, Any]] = []
        self.faults: list[dict[str, Any]] = []
        self.double_calls: list[dict[str, Any]] = []
        self.presses: list[dict[str, Any]] = []
        self.lost_presses: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        self._out: IO[str] = path.open("w", encoding="utf-8")

    def log(self, what: str, at: float, **fields: Any) -> None:
        with self._lock:
            self._out.write(json.dumps({"t": round(at, 3), "what": what, **fields}) + "\n")
            self._out.flush()

    def issued(self, visit: Visit) -> None:
        with self._lock:
            known = self.visits.get(visit.label)
            if known is not None:
                # Called before its kiosk answered and taken for a number nobody holds: it
                # is the same ticket, what the counter did with it stands.
                known.orphan, known.kiosk, known.ticket = False, visit.kiosk, visit.ticket
                known.appointment_at, known.arrival = visit.appointment_at, visit.arrival
                known.issued_at = min(visit.issued_at, known.called_at or visit.issued_at)
                known.issued_by = visit.issued_by
                self.log("issued_late", visit.issued_at, label=visit.label)
                return
            self.visits[visit.label] = visit
            self.log("issued", visit.issued_at, **asdict(visit))

    def refuse(self, service: str, why: str, at: float) -> None:
        with self._lock:
            self.refused.append({"service": service, "why": why, "at": at})
            self.log("refused", at, service=service, why=why)

    def fault(self, what: str, at: float, **fields: Any) -> None:
        with self._lock:
            self.faults.append({"what": what, "at": at, **fields})
            self.log(what, at, **fields)

    def get(self, label: str) -> Visit | None:
        with self._lock:
            return self.visits.get(label)

    def orphan(self, label: str, service: str, day: str, at: float) -> Visit:
        """A called number nobody holds: recorded when a counter calls it."""
        with self._lock:
            v = Visit(label, service, day, "?", at, printed=False, leaves=True, orphan=True)
            self.visits[label] = v
            self.log("orphan", at, label=label)
            return v

    def called(self, visit: Visit, counter: str, at: float, by: float | None = None) -> None:
        """``visit`` called at ``counter`` by a press made at ``at`` and answered at ``by``."""
        with self._lock:
            visit.counter, visit.called_at, visit.outcome = counter, at, "called"
            visit.called_by = by
            self.log("called", at, label=visit.label, counter=counter, by=by)

    def press(
        self,
        counter: str,
        action: str,
        start: float,
        end: float,
        by: str,
        ticket: str | None = None,
        expected: str | None = None,
    ) -> None:
        """A press, from the agent's finger to the counter's display, and who decided it;
        for a NEXT, the ticket it called and the one the board expected (what it knew came
        next when the agent pressed)."""
        with self._lock:
            fields = {"counter": counter, "action": action, "start": start, "end": end, "by": by}
            fields |= {"ticket": ticket, "expected": expected}
            self.presses.append(fields)
            self.log("press", end, **fields)

    def lost_press(self, counter: str, action: str, device: str, start: float, at: float) -> None:
        """A press made at ``start`` on ``device``'s button box that never got its answer (the
        device died or did not answer by ``at``): whatever it did, the record did not see."""
        with self._lock:
            fields = {"counter": counter, "action": action, "device": device, "start": start}
            self.lost_presses.append({**fields, "at": at})
            self.log("press_lost", at, **fields)

    def double_call(self, label: str, counter: str, at: float) -> None:
        with self._lock:
            self.double_calls.append({"label": label, "counter": counter, "at": at})
            self.log("double_call", at, label=label, counter=counter)

    def finished(self, visit: Visit, outcome: str, at: float) -> None:
        with self._lock:
            visit.finished_at, visit.outcome = at, outcome
            self.log(outcome, at, label=visit.label, counter=visit.counter)

    def close(self) -> None:
        with self._lock:
            self._out.close()
