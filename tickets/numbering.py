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

    ``next_number`` holds the next unused number of each granted block (keyed by service, day
    and the block's start); ``offline_next`` the next offline number per (service, day). All of
    it is plain data so the journal can persist it. The blocks are indexed by (service, day),
    kept in order of their start: taking a number looks at that day's blocks only, however
    many days the pool has seen.
    """

    offline_range: tuple[int, int] | None = None
    next_number: dict[tuple[str, str, int], int] = field(default_factory=dict)
    offline_next: dict[tuple[str, str], int] = field(default_factory=dict)
    _blocks: dict[tuple[str, str], list[Lease]] = field(default_factory=dict, repr=False)

    @property
    def leases(self) -> list[Lease]:
        """Every granted block, by day, service and start."""
        return [lease for key in sorted(self._blocks) for lease in self._blocks[key]]

    def grant(self, lease: Lease) -> None:
        key = (lease.service, lease.day, lease.start)
        if key in self.next_number:
            return
        blocks = self._blocks.setdefault((lease.service, lease.day), [])
        blocks.append(lease)
        blocks.sort(key=lambda item: item.start)
        self.next_number[key] = lease.start

    def remaining(self, service: str, day: str) -> int:
        return sum(
            lease.end - self.next_number[(service, day, lease.start)] + 1
            for lease in self._blocks.get((service, day), ())
        )

    def held(self, service: str, day: str) -> int:
        return sum(lease.size for lease in self._blocks.get((service, day), ()))

    def needs_lease(self, service: str, day: str, block: int) -> bool:
        """True when less than half a block is left: time to ask the server for more."""
        return self.remaining(service, day) * 2 < block + (block % 2)

    def take(self, service: str, day: str) -> tuple[int, str]:
        """The next number to issue and where it came from ("lease" or "offline")."""
        for lease in self._blocks.get((service, day), ()):
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

    def counters(self, service: str, day: str) -> NumberCounters:
        """The next numbers of one service and day, as they are now (``restore`` puts them
        back after a failed issue; the journal persists them)."""
        blocks = {
            lease.start: self.next_number[(service, day, lease.start)]
            for lease in self._blocks.get((service, day), ())
        }
        return NumberCounters(service, day, blocks, self.offline_next.get((service, day)))

    def restore(self, counters: NumberCounters) -> None:
        s, d = counters.service, counters.day
        for start, n in counters.blocks.items():
            self.next_number[(s, d, start)] = n
        if counters.offline is None:
            self.offline_next.pop((s, d), None)
        else:
            self.offline_next[(s, d)] = counters.offline

    def forget_before(self, day: str) -> None:
        """Drops leases and offline counters of days before ``day`` (numbers restart daily)."""
        self._blocks = {k: v for k, v in self._blocks.items() if k[1] >= day}
        self.next_number = {k: v for k, v in self.next_number.items() if k[1] >= day}
        self.offline_next = {k: v for k, v in self.offline_next.items() if k[1] >= day}


@dataclass(frozen=True, slots=True)
class NumberCounters:
    """The next numbers of one service and day: per block (by its start) and offline."""

    service: str
    day: str
    blocks: dict[int, int]
    offline: int | None
