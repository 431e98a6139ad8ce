"""The people of the simulated day: citizens arriving at the kiosks, agents at the counters.

Everything happens at a simulated instant (``Scheduler.at``). A step that talks to a device
runs on that device's own worker thread (one at a time per device, as a person at a kiosk or a
counter's button box would), so a dead or slow device never holds up the others. A step that
finds its device down tries again a little later; an agent whose press was lost with a killed
board asks the board what the counter holds once it is back, and goes on from there.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from guichet.sim.clock import SimClock
from guichet.sim.config import SimConfig
from guichet.sim.process import DeviceDown, DeviceProcess
from guichet.sim.record import Record, Visit
from printer.virtual import VirtualPrinter
from tickets.model import Site

log = logging.getLogger(__name__)


class Scheduler:
    """Runs steps at simulated instants, in order, on the caller's thread."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._n = itertools.count()
        self._lock = threading.Lock()
        self._added = threading.Event()

    def at(self, when: float, step: Callable[[], None]) -> None:
        with self._lock:
            heapq.heappush(self._heap, (when, next(self._n), step))
        self._added.set()

    def after(self, seconds: float, step: Callable[[], None]) -> None:
        self.at(self.clock.true_time() + seconds, step)

    def run_until(self, end: float, done: Callable[[], bool] = lambda: False) -> None:
        """Runs the steps due until the simulated ``end`` or until ``done()``."""
        while not done():
            now = self.clock.true_time()
            if now >= end:
                return
            with self._lock:
                due = self._heap[0][0] if self._heap else end
                step = heapq.heappop(self._heap)[2] if due <= now else None
            if step is not None:
                try:
                    step()
                except Exception:
                    log.exception("simulation step failed")
                continue
            self._added.clear()
            self._added.wait(min(0.2, max(0.001, self.clock.real_delay(min(due, end) - now))))


class Worker:
    """One device's queue of steps, run one after the other on its own thread."""

    def __init__(self, device: DeviceProcess) -> None:
        self.device = device
        self._jobs: queue.Queue[Callable[[DeviceProcess], None] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=f"worker-{device.name}", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[DeviceProcess], None]) -> None:
        self._jobs.put(job)

    def idle(self) -> bool:
        return self._jobs.unfinished_tasks == 0

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join(30)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                job(self.device)
            except Exception:
                log.exception("job on %s failed", self.device.name)
            finally:
                self._jobs.task_done()


@dataclass
class Kiosk:
    worker: Worker
    printer: VirtualPrinter
    claimed: set[str]
    seen_slips: int = 0

    def unclaimed_label(self) -> str | None:
        """A number that came out of the printer with nobody's answer (the kiosk died after
        printing it): the person at the kiosk takes it."""
        slips = self.printer.printed[self.seen_slips :]
        self.seen_slips += len(slips)
        for slip in slips:
            for line in slip.text_lines():
                text = line.strip()
                if text and text not in self.claimed and _is_label(text):
                    self.claimed.add(text)
                    return text
        return None


def _is_label(text: str) -> bool:
    letters = text.rstrip("0123456789")
    return 1 <= len(letters) <= 2 and letters.isupper() and len(text) - len(letters) >= 3


def service_seconds(cfg: SimConfig, site: Site, rng: random.Random, service: str) -> float:
    """How long one person's business at ``service`` takes (simulated seconds), drawn."""
    s = cfg.service
    svc = site.service(service)
    default = svc.mean_service_seconds / 60 if svc else 5.0
    mean = s.mean_minutes.get(service, default) * 60
    if s.distribution == "fixed":
        return mean
    if s.distribution == "lognormal":
        mu = math.log(mean) - s.sigma**2 / 2
        return rng.lognormvariate(mu, s.sigma)
    return rng.expovariate(1 / mean)


class People:
    """Arrivals and counters of one simulated day."""

    RETRY_SECONDS = 30.0

    def __init__(
        self,
        cfg: SimConfig,
        site: Site,
        clock: SimClock,
        sched: Scheduler,
        record: Record,
        kiosks: list[Kiosk],
        boards: list[Worker],
        day_end: float,
    ) -> None:
        self.cfg = cfg
        self.site = site
        self.clock = clock
        self.sched = sched
        self.record = record
        self.kiosks = kiosks
        self.boards = boards
        self.day_end = day_end
        self.close_at = day_end + cfg.simulation.drain_minutes * 60
        self.rng = random.Random(cfg.simulation.seed)
        self.day = cfg.simulation.date.isoformat()
        self.poll = max(60.0, 0.5 * cfg.simulation.speedup)
        """How often an idle counter presses NEXT again (simulated seconds)."""
        self.settle = 3.0 * cfg.simulation.speedup
        """Three real seconds: time for a kiosk to answer with a ticket already called."""
        self.agents = [
            Agent(self, c.id, boards[i % len(boards)]) for i, c in enumerate(site.counters)
        ]
        self.pending_arrivals = 0
        self._lock = threading.Lock()

    # ---- arrivals ---------------------------------------------------------------------------
    def plan_arrivals(self, start: float) -> int:
        """Poisson arrivals per service during its opening hours between start and end."""
        n = 0
        for service in self.site.services:
            rate = self.cfg.arrivals.get(service.id, 0.0)
            if rate <= 0:
                continue
            t = start
            while True:
                t += self.rng.expovariate(rate / 3600.0)
                if t >= self.day_end:
                    break
                if service.is_open(self.site.local(t)):
                    leaves = self.rng.random() < self.cfg.service.no_show
                    # Drawn now, so the same seed gives each person the same business
                    # whatever else the day holds (appointments or not).
                    duration = self.service_seconds(service.id)
                    self.sched.at(t, self._arrival(service.id, leaves, duration, 0))
                    n += 1
        self.expect(n)
        return n

    def expect(self, arrivals: int) -> None:
        """``arrivals`` more people will come (the day is not over before them)."""
        with self._lock:
            self.pending_arrivals += arrivals

    def _arrival(
        self, service: str, leaves: bool, duration: float, tries: int
    ) -> Callable[[], None]:
        def step() -> None:
            kiosk = self.rng.choice(self.kiosks)
            kiosk.worker.submit(
                lambda dev: self._issue(dev, kiosk, service, leaves, duration, tries)
            )

        return step

    def _issue(
        self,
        dev: DeviceProcess,
        kiosk: Kiosk,
        service: str,
        leaves: bool,
        duration: float,
        tries: int,
    ) -> None:
        # The person's ticket is stamped when they touch the screen, not when the kiosk has
        # printed and answered (seconds later on a busy machine).
        touched = self.clock.true_time()
        try:
            answer = dev.call("issue", service=service)
        except (DeviceDown, TimeoutError):
            label = kiosk.unclaimed_label()
            now = self.clock.true_time()
            if label is not None:
                self.record.issued(
                    Visit(
                        label,
                        service,
                        self.day,
                        dev.name,
                        touched,
                        leaves=leaves,
                        duration=duration,
                        issued_by=now,
                    )
                )
                self.arrived()
            elif tries < 8:
                self.sched.after(
                    self.RETRY_SECONDS, self._arrival(service, leaves, duration, tries + 1)
                )
            else:
                self.record.refuse(service, "no kiosk answered", now)
                self.arrived()
            return
        now = self.clock.true_time()
        self.arrived()
        if answer.get("label") is None:
            self.record.refuse(service, str(answer.get("outcome") or answer.get("error")), now)
            return
        kiosk.claimed.add(answer["label"])
        self.record.issued(
            Visit(
                answer["label"],
                service,
                answer["day"],
                dev.name,
                touched,
                ticket=answer["ticket"],
                printed=answer["outcome"] == "printed",
                leaves=leaves,
                duration=duration,
                issued_by=now,
            )
        )

    def arrived(self) -> None:
        with self._lock:
            self.pending_arrivals -= 1

    def arrivals_done(self) -> bool:
        with self._lock:
            return self.pending_arrivals <= 0

    def service_seconds(self, service: str) -> float:
        return service_seconds(self.cfg, self.site, self.rng, service)

    def finished(self) -> bool:
        """Nobody left to arrive and every counter has stopped."""
        return self.arrivals_done() and all(a.stopped for a in self.agents)


class Agent:
    """One counter's agent: NEXT, serve, DONE, NEXT...; recalls then marks absent anyone
    who does not come."""

    def __init__(self, people: People, counter: str, board: Worker) -> None:
        self.p = people
        self.counter = counter
        self.board = board
        self.visit: Visit | None = None
        self.stopped = False
        self.retries = 0

    def start(self, at: float) -> None:
        self.p.sched.at(at, self._next)

    def _press(self, action: str, then: Callable[[dict[str, Any]], None]) -> None:
        def job(dev: DeviceProcess) -> None:
            start = self.p.clock.true_time()
            try:
                answer = dev.call("press", counter=self.counter, action=action, timeout=60)
                end = self.p.clock.true_time()
                self.p.record.press(
                    self.counter,
                    action,
                    start,
                    end,
                    str(answer.get("decided_by")),
                    answer.get("ticket"),
                    answer.get("expected"),
                )
            except (DeviceDown, TimeoutError):
                self._lost(action, start)
                return
            if answer.get("error") == "TIMEOUT":
                self._lost(action, start)
                return
            # When the agent pressed and when the display answered: what the press did, it
            # did in between.
            then({**answer, "pressed_at": start, "answered_at": end})

        self.board.submit(job)

    def _lost(self, action: str, pressed: float) -> None:
        p = self.p
        p.record.lost_press(
            self.counter, action, self.board.device.name, pressed, p.clock.true_time()
        )
        p.sched.after(p.RETRY_SECONDS, lambda: self._recover(action, pressed))

    def _recover(self, action: str, pressed: float) -> None:
        """The board died with the press made at ``pressed``: what does the counter hold
        now?"""

        def job(dev: DeviceProcess) -> None:
            try:
                if not dev.alive:
                    raise DeviceDown(dev.name)
                held = dev.call("counter", counter=self.counter).get("ticket")
            except (DeviceDown, TimeoutError):
                self.p.sched.after(self.p.RETRY_SECONDS, lambda: self._recover(action, pressed))
                return
            self._reconcile(action, held, pressed)

        self.board.submit(job)

    def _reconcile(self, action: str, held: str | None, pressed: float) -> None:
        v = self.visit
        if v is not None and held == v.label:
            # The press did not happen: do it again.
            retry = {"done": self._done, "no-show": self._absent, "recall": self._recall}
            self.p.sched.after(0, retry.get(action, self._done))
            return
        if v is not None:
            # The board finished the ticket before it died.
            outcome = "no_show" if action == "no-show" else "served"
            self.p.record.finished(v, outcome, self.p.clock.true_time())
            self.visit = None
        if held is not None:
            # Called by the lost press, or by one before it whose answer was lost.
            self._called(held, (pressed, self.p.clock.true_time()))
        else:
            self.p.sched.after(0, self._next)

    # ---- the steps --------------------------------------------------------------------------
    def _next(self) -> None:
        now = self.p.clock.true_time()
        if now >= self.p.close_at:
            self.stopped = True
            return
        self._press("next", self._after_next)

    def _after_next(self, answer: dict[str, Any]) -> None:
        label = answer.get("ticket")
        if label is None:
            now = self.p.clock.true_time()
            if now >= self.p.day_end and self.p.arrivals_done():
                self.stopped = True
                return
            self.p.sched.after(self.p.poll, self._next)
            return
        self._called(label, (answer["pressed_at"], answer["answered_at"]))

    def _called(self, label: str, press: tuple[float, float], settled: bool = False) -> None:
        """``label`` called at this counter by a press made and answered at ``press``."""
        p = self.p
        v = p.record.get(label)
        if v is None and not settled:
            # Called while its kiosk is still printing it (the server had it first): look
            # again once the kiosk has had time to answer.
            p.sched.after(p.settle, lambda: self._called(label, press, settled=True))
            return
        now, by = press
        if v is None:
            svc = next((s.id for s in p.site.services if label.startswith(s.prefix)), "?")
            v = p.record.orphan(label, svc, p.day, now)
        elif v.counter is not None and v.counter != self.counter:
            # Two counters called the same number during a partition: the person is
            # already at the other one.
            p.record.double_call(label, self.counter, now)
            self.visit = None
            p.sched.after(p.cfg.service.recall_after_seconds, self._absent_other)
            return
        p.record.called(v, self.counter, now, by)
        self.visit = v
        if v.leaves:
            p.sched.after(p.cfg.service.recall_after_seconds, self._recall)
        else:
            duration = v.duration if v.duration is not None else p.service_seconds(v.service)
            p.sched.after(duration, self._done)

    def _recall(self) -> None:
        self._press(
            "recall",
            lambda _a: self.p.sched.after(self.p.cfg.service.recall_after_seconds, self._absent),
        )

    def _absent(self) -> None:
        def after(answer: dict[str, Any]) -> None:
            if self._not_taken(answer, self._absent):
                return
            self.retries = 0
            if self.visit is not None:
                self.p.record.finished(self.visit, "no_show", self.p.clock.true_time())
                self.visit = None
            self.p.sched.after(0, self._next)

        self._press("no-show", after)

    def _not_taken(self, answer: dict[str, Any], again: Callable[[], None]) -> bool:
        """The counter's display still shows the ticket after DONE or ABSENT: the press did
        not take (the server refused it, not knowing yet what the board decided offline).
        The agent presses again a little later, as anyone would."""
        v = self.visit
        if v is None or answer.get("ticket") != v.label or not answer.get("error"):
            return False
        self.retries += 1
        if self.retries > 40:
            return False
        self.p.sched.after(self.p.RETRY_SECONDS, again)
        return True

    def _absent_other(self) -> None:
        """The losing counter of a double call gives up on it (the board flags it)."""
        self._press("no-show", lambda _a: self.p.sched.after(0, self._next))

    def _done(self) -> None:
        def after(answer: dict[str, Any]) -> None:
            if self._not_taken(answer, self._done):
                return
            self.retries = 0
            if self.visit is not None:
                self.p.record.finished(self.visit, "served", self.p.clock.true_time())
                self.visit = None
            self.p.sched.after(0, self._next)

        self._press("done", after)


def wait_idle(workers: list[Worker], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not all(w.idle() for w in workers):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
