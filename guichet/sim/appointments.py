"""Appointments of the simulated day, mixed with the walk-ins.

Which of the day's slots are booked is drawn first (``booked`` share of each service's
places). Most are booked the evening before through the server's public JSON API, as the
town's website books them; ``at_reception`` of them are booked during the day through the
staff API, as the reception page does, at least the service's notice before the slot. Each
person then comes early, on time, late beyond the tolerance, or never, and checks in at a
kiosk by its short code through the kiosk's own check-in (``KioskRuntime.check_in``, the path
of the keypad and the scanner); the kiosk prints the ticket, and the counters call it by the
queue's rule like any other.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from datetime import time as dtime
from typing import TYPE_CHECKING, Any

import requests

from config.kiosk import KioskSettings
from guichet.sim.agents import Kiosk, People, service_seconds
from guichet.sim.config import Appointments as Plan
from guichet.sim.process import DeviceDown, DeviceProcess
from guichet.sim.record import Visit
from guichet.sim.world import MANAGER
from tickets.appointments import day_starts

if TYPE_CHECKING:
    from guichet.sim.world import World

log = logging.getLogger(__name__)

EVE = dtime(18, 0)
"""Appointments booked ahead are booked the evening before the day, at this site-local time."""
REFRESH_SECONDS = float(KioskSettings.model_fields["appointments_refresh_seconds"].default)
"""A kiosk fetches the day's appointments this often on site (simulated seconds): the
simulator has each kiosk fetch them at that pace of the day, whatever its speed-up (a kiosk's
own timer counts real seconds)."""
UNKNOWN_RETRY_SECONDS = 120.0
"""A person whose code the kiosk does not know yet (booked at the desk moments ago) tries
again this much later (simulated seconds), a few times."""


@dataclass
class Booking:
    service: str
    start: float
    """The slot's start (seconds since the epoch)."""
    channel: str
    """``api`` (booked the evening before on the public API) or ``reception``."""
    arrival: str
    """early, on_time, late or no_show."""
    comes_at: float | None
    """When the person comes to a kiosk (None: never)."""
    book_at: float
    """When it is booked (simulated time)."""
    duration: float
    """How long the person's business takes at the counter (simulated seconds)."""
    code: str | None = None
    refused: str | None = None
    """Why the booking or the check-in was refused, if it was."""
    checked_in: str | None = None
    """The kiosk's check-in outcome (printed, print_failed, late, ...)."""


class Day:
    """The appointments of one simulated day: planned, booked, and their people."""

    def __init__(self, world: World, plan: Plan, start: float, end: float) -> None:
        self.world = world
        self.plan = plan
        self.start, self.end = start, end
        self.rng = random.Random(f"appointments {world.cfg.simulation.seed}")
        self.site = world.site
        self.bookings: list[Booking] = []
        self._http = requests.Session()
        self._lock = threading.Lock()

    # ---- planning ---------------------------------------------------------------------------
    def draw(self) -> list[Booking]:
        """Which places are booked, how, and when their people come."""
        p, rng, sim = self.plan, self.rng, self.world.cfg.simulation
        # A desk booking is made this much earlier than it must be: a busy machine runs a
        # step a few real seconds late (the latency the report tolerates).
        margin = sim.tolerance
        for service_id, share in sorted(p.booked.items()):
            svc = self.site.service(service_id)
            assert svc is not None and svc.appointments is not None
            rules = svc.appointments
            starts = [
                s for s in day_starts(rules, sim.date, self.site.tz) if self.start <= s < self.end
            ]
            places = [s for s in starts for _ in range(rules.parallel)]
            for start in sorted(rng.sample(places, round(share * len(places)))):
                u = rng.random()
                if u < p.no_show:
                    arrival, window = "no_show", None
                elif u < p.no_show + p.late:
                    arrival, window = "late", p.late_minutes
                elif u < p.no_show + p.late + p.early:
                    arrival, window = "early", p.early_minutes
                else:
                    arrival, window = "on_time", p.on_time_minutes
                comes = None if window is None else start + 60 * rng.uniform(*window)
                if comes is not None:
                    comes = max(self.start, comes)
                # At the desk: at least the notice before the slot, and early enough for the
                # kiosks to have fetched the day's list again before the person checks in.
                desk = start - rules.min_notice_minutes * 60 - margin
                if comes is not None:
                    desk = min(desk, comes - REFRESH_SECONDS - margin)
                at_desk = rng.random() < p.at_reception and desk >= self.start
                self.bookings.append(
                    Booking(
                        service_id,
                        start,
                        "reception" if at_desk else "api",
                        arrival,
                        comes,
                        desk if at_desk else self._eve(),
                        service_seconds(self.world.cfg, self.site, rng, service_id),
                    )
                )
        return self.bookings

    def _eve(self) -> float:
        day = self.world.cfg.simulation.date - timedelta(days=1)
        return datetime.combine(day, EVE, tzinfo=self.site.tz).timestamp()

    # ---- booking ----------------------------------------------------------------------------
    def book_ahead(self) -> None:
        """Books the ``api`` appointments through the public JSON API, the server's clock
        reading the evening before (runs before the devices start)."""
        server = self.world.server
        assert server is not None
        wall = server.ctx.wall
        eve = self._eve()
        server.ctx.wall = lambda: eve
        try:
            for b in self.bookings:
                if b.channel == "api":
                    self._book(b, public=True)
        finally:
            server.ctx.wall = wall

    def _book(self, b: Booking, *, public: bool) -> bool:
        """One booking through the API; False when the server could not be reached."""
        server = self.world.server
        if server is None:
            return False
        site = self.site.id
        if public:
            url, auth = f"{server.url}/api/v1/public/sites/{site}/appointments", None
        else:
            url, auth = f"{server.url}/api/v1/sites/{site}/appointments", MANAGER
        for _ in range(30):
            body = {"service": b.service, "start": int(b.start), "lang": "fr"}
            try:
                answer = self._http.post(url, json=body, auth=auth, timeout=10)
            except requests.RequestException:
                return False
            if answer.status_code == 429:
                # One address books everyone: it waits as a person would not have to.
                time.sleep(float(answer.headers.get("Retry-After", "1")))
                continue
            if not public and answer.status_code in (409, 422) and self._later_slot(b):
                # At the desk the slot has gone (full, or too soon now: a busy machine ran
                # the step late): the person takes the next free one, and comes that much later.
                continue
            break
        at = self.world.clock.true_time() if not public else self._eve()
        if answer.status_code == 200:
            b.code = answer.json()["code"]
        else:
            b.refused = f"{answer.status_code} {answer.text[:200]}"
        self._log("booked" if b.code else "booking_refused", b, at)
        return True

    def _later_slot(self, b: Booking) -> bool:
        """Moves ``b`` to the next free slot of its service this day, if there is one."""
        server = self.world.server
        if server is None:
            return False
        day = self.world.cfg.simulation.date.isoformat()
        try:
            answer = self._http.get(
                f"{server.url}/api/v1/public/sites/{self.site.id}/services/{b.service}/slots",
                params={"from": day, "days": "1"},
                timeout=10,
            )
        except requests.RequestException:
            return False
        if answer.status_code != 200:
            return False
        starts = [s["start"] for s in answer.json()["slots"] if b.start < s["start"] < self.end]
        if not starts:
            return False
        delta = min(starts) - b.start
        b.start += delta
        if b.comes_at is not None:
            b.comes_at += delta
        return True

    def _log(self, what: str, b: Booking, at: float) -> None:
        record = self.world.record
        assert record is not None
        record.log(what, at, **asdict(b))

    # ---- the day ----------------------------------------------------------------------------
    def schedule(self, people: People) -> int:
        """Schedules the desk bookings and every person's arrival; returns how many come."""
        comes = 0
        for b in self.bookings:
            if b.channel == "reception":
                people.sched.at(b.book_at, self._desk(b, people))
            if b.comes_at is not None and (b.channel == "reception" or b.code is not None):
                people.sched.at(b.comes_at, self._arrival(b, people, 0))
                comes += 1
        people.expect(comes)
        people.sched.at(self.start, self._refresh(people))
        return comes

    def _refresh(self, people: People) -> Callable[[], None]:
        def fetch(dev: DeviceProcess) -> None:
            # A kiosk that starts again fetches them first thing.
            with contextlib.suppress(DeviceDown, TimeoutError):
                dev.call("appointments", timeout=30)

        def step() -> None:
            for kiosk in people.kiosks:
                kiosk.worker.submit(fetch)
            if not people.finished():
                people.sched.after(REFRESH_SECONDS, self._refresh(people))

        return step

    def _desk(self, b: Booking, people: People) -> Callable[[], None]:
        def step() -> None:
            def book() -> None:
                if not self._book(b, public=False):
                    people.sched.after(people.RETRY_SECONDS, self._desk(b, people))

            threading.Thread(target=book, daemon=True).start()

        return step

    def _arrival(self, b: Booking, people: People, tries: int) -> Callable[[], None]:
        def step() -> None:
            if b.comes_at is not None and b.comes_at > self.world.clock.true_time() + 1:
                # Their slot was moved at the desk: they come that much later.
                people.sched.at(b.comes_at, self._arrival(b, people, tries))
                return
            if b.code is None:
                if b.refused is None and tries < 20:
                    # Still at the desk (the server was away): a little later.
                    people.sched.after(people.RETRY_SECONDS, self._arrival(b, people, tries + 1))
                    return
                b.checked_in = "never_booked"
                people.arrived()
                return
            kiosk = self.rng.choice(people.kiosks)
            kiosk.worker.submit(lambda dev: self._check_in(dev, kiosk, b, people, tries))

        return step

    def _check_in(
        self, dev: DeviceProcess, kiosk: Kiosk, b: Booking, people: People, tries: int
    ) -> None:
        assert b.code is not None
        record = people.record
        # Stamped when the person types the code, not when the kiosk has printed and answered
        # (as a walk-in's ticket is).
        touched = self.world.clock.true_time()
        try:
            answer = dev.call("checkin", code=b.code)
        except (DeviceDown, TimeoutError):
            answer = {"outcome": "device_down"}
        now = self.world.clock.true_time()
        outcome = str(answer.get("outcome") or answer.get("error"))
        if outcome in ("unknown", "device_down") and tries < 8:
            people.sched.after(UNKNOWN_RETRY_SECONDS, self._arrival(b, people, tries + 1))
            return
        if outcome == "already":
            # Checked in by a kiosk that died before it answered: the slip is out.
            label = kiosk.unclaimed_label()
            outcome = "printed" if label is not None else outcome
            answer = {"label": label, "day": people.day, "outcome": outcome}
        b.checked_in = outcome
        people.arrived()
        if answer.get("label") is None:
            b.refused = b.refused or outcome
            record.refuse(b.service, f"check-in {outcome}", now)
            self._log("check_in_refused", b, now)
            return
        kiosk.claimed.add(answer["label"])
        record.issued(
            Visit(
                answer["label"],
                b.service,
                answer["day"],
                dev.name,
                touched,
                ticket=answer.get("ticket"),
                printed=answer["outcome"] == "printed",
                duration=b.duration,
                appointment_at=b.start,
                arrival=b.arrival,
                issued_by=now,
            )
        )
        self._log("checked_in", b, now)

    def close(self) -> None:
        self._http.close()


def planned(bookings: list[Booking]) -> dict[str, Any]:
    """What the simulator meant to happen, for the report."""
    out: dict[str, Any] = {"booked": sum(1 for b in bookings if b.code is not None)}
    for channel in ("api", "reception"):
        out[f"booked_{channel}"] = sum(
            1 for b in bookings if b.code is not None and b.channel == channel
        )
    out["booking_refused"] = sum(1 for b in bookings if b.code is None)
    for arrival in ("early", "on_time", "late", "no_show"):
        out[arrival] = sum(1 for b in bookings if b.code is not None and b.arrival == arrival)
    return out
