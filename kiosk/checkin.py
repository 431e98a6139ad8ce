"""Check-in at the kiosk, online or not: a short code (typed on the keypad, or read by a 2D
barcode scanner) becomes a ticket for the appointment, journaled then printed like any ticket.

The code is looked up in the day's appointments held on the device (``tickets.daybook``), so
check-in needs no server. The ticket's TicketIssued carries the appointment's id and time: the
queue fold calls it at its time (``tickets.appointments``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kiosk.core import IssueResult, KioskCore, Outcome
from tickets.appointments import refused_as_late
from tickets.daybook import CHECKED_IN, DayBook, normalise


class CheckIn(StrEnum):
    PRINTED = "printed"
    PRINT_FAILED = "print_failed"
    UNKNOWN = "unknown"
    """No appointment of today has this code (on this device's list)."""
    NOT_TODAY = "not_today"
    ALREADY = "already"
    LATE = "late"
    """Past the late tolerance under the ``rebook`` rule: book again or take a ticket."""
    REFUSED = "refused"
    """The kiosk gives no ticket for the service now (closed, no number left)."""


@dataclass(frozen=True, slots=True)
class CheckInResult:
    outcome: CheckIn
    issued: IssueResult | None = None


def check_in(core: KioskCore, book: DayBook, code: str) -> CheckInResult:
    found = book.find(code)
    if found is None or not normalise(code):
        return CheckInResult(CheckIn.UNKNOWN)
    if found.day != core.today():
        return CheckInResult(CheckIn.NOT_TODAY)
    if found.status == CHECKED_IN or core.appointment_ticket(found.id) is not None:
        # Checked in here, or elsewhere (reception, another device) as the synced queue
        # shows: one ticket per appointment.
        return CheckInResult(CheckIn.ALREADY)
    if refused_as_late(core.site.calling, found.starts_at, core.clock()):
        return CheckInResult(CheckIn.LATE)
    extra: dict[str, object] = {"appointment": found.id, "appointment_at": found.starts_at}
    if found.note:
        extra["note"] = found.note
    result, issued = core.take_number(found.service, None, found.lang, extra)
    if issued is None:
        return CheckInResult(CheckIn.REFUSED, result)
    book.mark_checked_in(found.code)
    printed = core.print_ticket(issued)
    outcome = CheckIn.PRINTED if printed.outcome is Outcome.PRINTED else CheckIn.PRINT_FAILED
    return CheckInResult(outcome, printed)
