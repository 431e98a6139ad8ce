"""Simulated time, shared by the simulator's processes: a day runs in minutes.

Every process computes the same simulated instant from the machine's wall clock, so the
server, the kiosks and the boards agree without talking; ``skew`` makes one device's clock
wrong on purpose (a board without a real-time clock after a power cut).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class SimClock:
    origin: float
    """The simulated instant (seconds since the epoch) at ``real_origin``."""
    real_origin: float
    """The machine's wall time when the simulation started (seconds since the epoch)."""
    speedup: float = 1.0
    """Simulated seconds per real second."""
    skew: float = 0.0
    """Added to what this clock reads (seconds): a device whose clock is wrong."""
    boot: str = "boot-0"
    """The boot id of the device's simulated machine: a new one at each power cut."""

    def __call__(self) -> float:
        return self.origin + (time.time() - self.real_origin) * self.speedup + self.skew

    def true_time(self) -> float:
        """The simulated instant without this device's skew."""
        return self() - self.skew

    def monotonic(self) -> float:
        """The simulated machine's monotonic clock (simulated seconds): its wall clock's
        steps are its jumps against this one."""
        return time.monotonic() * self.speedup

    def real_delay(self, sim_seconds: float) -> float:
        """How many real seconds ``sim_seconds`` of simulated time take."""
        return sim_seconds / self.speedup

    def skewed(self, skew: float) -> SimClock:
        return replace(self, skew=skew)

    def rebooted(self, skew: float, boot: str) -> SimClock:
        """The clock of the device's machine booted again (``boot``), ``skew`` off."""
        return replace(self, skew=skew, boot=boot)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SimClock:
        values = {k: float(v) for k, v in data.items() if k != "boot"}
        return cls(**values, boot=str(data.get("boot", "boot-0")))

    @classmethod
    def starting(cls, origin: float, speedup: float) -> SimClock:
        return cls(origin=origin, real_origin=time.time(), speedup=speedup)
