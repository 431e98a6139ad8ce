"""Clock epochs: which reading of a device's clock times which of its events.

A Raspberry Pi has no real-time clock. It boots on the time fake-hwclock saved, or in 1970,
and NTP may then step its clock by hours. The server times a device's uploaded events with
the clock error it measures at the upload (``server.sync``: its time minus the request's
``device_time``), which is right only for events made on the clock the device has at the
upload. An event made before a step and uploaded after it would be timed, and placed, by the
wrong error: the wrong day, the wrong order, the wrong wait.

So a device keeps its clock's epochs. An epoch begins at every step of its wall clock:

- in a run, a step is the wall clock moving away from the monotonic clock by more than
  ``STEP_SECONDS`` (plus ``DRIFT_RATE`` of the time elapsed, what NTP's slewing may do): its
  size is measured, and the earlier epoch's error is the later one's plus the step;
- at a start, the same comparison with the last reading kept on disk when the machine has not
  rebooted since (same boot id): a restarted process continues its epoch, or a measured step
  begins one; after a reboot (a new boot id, or none known) the step is unknown.

An epoch's error is known when a sync measured it during the epoch, or through known steps
from one that was. Each of the device's events belongs to the epoch it was made in (by its
position in the outbox), and the device uploads one epoch's events at a time, sending as
``device_time`` what that epoch's clock would read now (``reading``): the server, old or new,
then measures that epoch's error and times the events with it. An epoch whose error cannot be
known is uploaded without a ``device_time``: the events' stamps stand for their times. The
rule is here, used by the journal (``tickets.journal``) and the sync worker (``tickets.sync``)
of every kiosk and board; docs/architecture.md, "Time", states it with the rest of the model.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

STEP_SECONDS = 2.0
"""A jump of the wall clock against the monotonic clock larger than this (plus
``DRIFT_RATE`` of the time between the two readings) is a step (seconds)."""
DRIFT_RATE = 0.001
"""How far a wall clock may drift from the monotonic one without a step (seconds per second:
NTP slews at most 0.0005)."""
BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")


def machine_monotonic() -> float:
    """This machine's monotonic clock (seconds), counting while it is suspended (Linux's
    boot time) where there is one: the wall clock runs on during a suspension too."""
    return time.clock_gettime(_BOOTTIME)


_BOOTTIME = getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC)


def machine_boot_id(path: Path = BOOT_ID_PATH) -> str | None:
    """This machine's boot id (Linux: a new one at each boot); None when not known."""
    try:
        return path.read_text(encoding="ascii").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


@dataclass
class Epoch:
    id: int
    first: int | None
    """The device's own events in the outbox after this position belong to this epoch (until
    the next epoch's ``first``); None until the journal writes the epoch down (no event of
    its own was made in it before)."""
    offset: float | None = None
    """The server's time minus the wall clock, as a sync measured it during this epoch
    (seconds); None until one did."""
    step: float | None = None
    """How far the wall clock jumped when this epoch began (seconds, forward positive); None
    when not known (a reboot)."""


@dataclass(frozen=True)
class Reading:
    """How to upload one epoch's events (``ClockEpochs.reading``)."""

    difference: float | None
    """That epoch's clock error minus the current one's (seconds): its clock reads now the
    current wall clock minus this. None: not known, upload without a ``device_time``."""
    measure_first: bool = False
    """The difference needs the current epoch's error, which no sync has measured yet: sync
    once without events first."""


@dataclass
class ClockEpochs:
    """A device's clock epochs (the current one last) and the last reading of its clocks."""

    epochs: list[Epoch] = field(default_factory=list)
    boot: str | None = None
    """The boot id of the machine the last reading was taken on."""
    ref: float | None = None
    """Wall minus monotonic clock at the last reading (seconds)."""
    mono: float | None = None
    """The monotonic clock at the last reading (seconds)."""

    @classmethod
    def load(cls, text: str | None) -> ClockEpochs:
        if not text:
            return cls()
        raw = json.loads(text)
        return cls(
            [Epoch(**e) for e in raw.get("epochs", [])],
            raw.get("boot"),
            raw.get("ref"),
            raw.get("mono"),
        )

    def dump(self) -> str:
        epochs = [asdict(e) for e in self.epochs]
        body = {"epochs": epochs, "boot": self.boot, "ref": self.ref, "mono": self.mono}
        return json.dumps(body, separators=(",", ":"))

    @property
    def current(self) -> Epoch:
        return self.epochs[-1]

    def opened(
        self,
        boot: str | None,
        wall: float,
        mono: float,
        position: int,
        offset: float | None,
    ) -> float | None:
        """At a start: continues the epoch of the last reading when the clocks agree with it on
        the same boot, else begins one (after ``position``, the outbox's last). ``offset``: the
        error in force (its last measure), the legacy epoch's when none is kept yet. Returns
        the step found (seconds; 0.0 for none, None for an unknown one)."""
        if not self.epochs:
            self.epochs.append(Epoch(0, 0, offset))
        same_boot = boot is not None and boot == self.boot
        step: float | None = None
        if same_boot and self.ref is not None and self.mono is not None:
            step = self._jump(wall, mono)
            if step == 0.0:
                self._read(wall, mono)
                return 0.0
        self._begin(position, step)
        self.boot = boot
        self._read(wall, mono)
        return step

    def check(self, wall: float, mono: float) -> float | None:
        """In a run: the step since the last reading (seconds), beginning an epoch (its
        ``first`` left for the journal to set: ``place``); None when the clock did not step."""
        step = self._jump(wall, mono)
        self._read(wall, mono)
        if not step:
            return None
        self._begin(None, step)
        return step

    def place(self, position: int) -> bool:
        """Sets the ``first`` of epochs begun in a run: the outbox's last position when the
        journal writes them down; True when one was set."""
        placed = False
        for e in self.epochs:
            if e.first is None:
                e.first, placed = position, True
        return placed

    def known(self, index: int = -1) -> bool:
        """Whether the error of an epoch (by index: the current one by default) is known."""
        return self._offsets()[index] is not None

    def measured(self, offset: float) -> bool:
        """A sync measured the current epoch's error; True when that is news."""
        changed = self.current.offset != offset
        self.current.offset = offset
        return changed

    def epoch_of(self, position: int) -> int:
        """The epoch the own event at this outbox position was made in."""
        found = self.epochs[0].id
        for e in self.epochs:
            if e.first is not None and e.first < position:
                found = e.id
        return found

    def reading(self, epoch: int) -> Reading:
        """How to upload the events of ``epoch`` now."""
        ids = [e.id for e in self.epochs]
        if epoch not in ids or epoch == self.current.id:
            return Reading(0.0)
        i = ids.index(epoch)
        later = self.epochs[i + 1 :]
        if all(e.step is not None for e in later):
            # error_k = error_(k+1) + step_(k+1): the steps since add up.
            return Reading(sum(e.step for e in later if e.step is not None))
        offsets = self._offsets()
        mine, now = offsets[i], offsets[-1]
        if mine is None:
            return Reading(None)
        if now is None:
            return Reading(None, measure_first=True)
        return Reading(mine - now)

    def forget_before(self, position: int) -> None:
        """Drops the epochs no own event after ``position`` belongs to (keeping what the
        others' errors are known by)."""
        keep = self.epoch_of(position + 1)
        offsets = self._offsets()
        kept = [(e, o) for e, o in zip(self.epochs, offsets, strict=True) if e.id >= keep]
        for e, o in kept:
            e.offset = o
        self.epochs = [e for e, _ in kept]

    # ---- inside ----------------------------------------------------------------------------
    def _jump(self, wall: float, mono: float) -> float:
        if self.ref is None or self.mono is None:
            return 0.0
        jump = (wall - mono) - self.ref
        allowed = STEP_SECONDS + DRIFT_RATE * abs(mono - self.mono)
        return jump if abs(jump) > allowed else 0.0

    def _read(self, wall: float, mono: float) -> None:
        self.ref, self.mono = wall - mono, mono

    def _begin(self, position: int | None, step: float | None) -> None:
        self.epochs.append(Epoch(self.current.id + 1, position, None, step))

    def _offsets(self) -> list[float | None]:
        """Each epoch's error: measured, or carried through known steps from one measured."""
        out = [e.offset for e in self.epochs]
        for _ in range(2):  # forwards, then backwards, then once more each way
            for i in range(1, len(out)):
                step = self.epochs[i].step
                if out[i] is None and out[i - 1] is not None and step is not None:
                    out[i] = out[i - 1] - step  # type: ignore[operator]
            for i in range(len(out) - 1, 0, -1):
                step = self.epochs[i].step
                if out[i - 1] is None and out[i] is not None and step is not None:
                    out[i - 1] = out[i] + step  # type: ignore[operator]
        return out
