"""Ticket numbers: per site, per service, per site-local day.

The server is the numbering authority and grants kiosks leases (blocks of consecutive numbers).
A kiosk never waits on the network to print: it takes numbers from its leases, asks for the next
block when half of what it holds is used, and when it has none left while offline takes numbers
from its own offline range (configured per device, reserved site-wide so no lease ever grants
them). Two devices can therefore never issue the same number the same day.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class NumbersExhausted(RuntimeError):
    """No lease and no offline number left for this service today."""


@dataclass(frozen=True, slots=True)
class Lease:
    service: str
    day: str
    start: int
    end: int
    """Inclusive."""

    @property
    def size(self) -> int:
        return self.end - self.start + 1


def allocate_block(
    next_free: int, size: int, reserved: list[tuple[int, int]]
) -> tuple[int, int, int]:
    """Server side: the next block of ``size`` numbers from ``next_free``, stepping over
    reserved (offline) ranges. Returns (start, end, new next_free).

    A block never straddles a reserved range: it stops just before it, so it may be shorter.
    """
    if size < 1:
        raise ValueError("a lease block holds at least one number")
    start = next_free
    for lo, hi in sorted(reserved):
        if lo <= start <= hi:
            start = hi + 1
    end = start + size - 1
    for lo, _hi in sorted(reserved):
        if start < lo <= end:
            end = lo - 1
            break
    return start, end, end + 1


@dataclass
class NumberPool:
    """Device side: the numbers this device may issue, per (service, day).

    ``leases`` holds granted blocks; ``next_number`` the next unused number of each block
    (keyed by the block's start); ``offline_next`` the next offline number per (service, day).
    All of it is plain data so the journal can persist it.
    """

    offline_range: tuple[int, int] | None = None
    leases: list[Lease] = field(default_factory=list)
    next_number: dict[tuple[str, str, int], int] = field(default_factory=dict)
    offline_next: dict[tuple[str, str], int] = field(default_factory=dict)

    def grant(self, lease: Lease) -> None:
        key = (lease.service, lease.day, lease.start)
        if key in self.next_number:
            return
        self.leases.append(lease)
        self.next_number[key] = lease.start

    def remaining(self, service: str, day: str) -> int:
        return sum(
            lease.end - self.next_number[(lease.service, lease.day, lease.start)] + 1
            for lease in self.leases
            if lease.service == service and lease.day == day
        )

    def held(self, service: str, day: str) -> int:
        return sum(
            lease.size for lease in self.leases if lease.service == service and lease.day == day
        )

    def needs_lease(self, service: str, day: str, block: int) -> bool:
        """True when less than half a block is left: time to ask the server for more."""
        return self.remaining(service, day) * 2 < block + (block % 2)

    def take(self, service: str, day: str) -> tuple[int, str]:
        """The next number to issue and where it came from ("lease" or "offline")."""
        for lease in sorted(self.leases, key=lambda item: item.start):
            if lease.service != service or lease.day != day:
                continue
            key = (service, day, lease.start)
            n = self.next_number[key]
            if n <= lease.end:
                self.next_number[key] = n + 1
                return n, "lease"
        if self.offline_range is not None:
            lo, hi = self.offline_range
            # max(): a counter left from an earlier, lower range must not issue below this one.
            n = max(self.offline_next.get((service, day), lo), lo)
            if n <= hi:
                self.offline_next[(service, day)] = n + 1
                return n, "offline"
        raise NumbersExhausted(f"no number left for service {service!r} on {day}")

    def forget_before(self, day: str) -> None:
        """Drops leases and offline counters of days before ``day`` (numbers restart daily)."""
        self.leases = [lease for lease in self.leases if lease.day >= day]
        self.next_number = {k: v for k, v in self.next_number.items() if k[1] >= day}
        self.offline_next = {k: v for k, v in self.offline_next.items() if k[1] >= day}
