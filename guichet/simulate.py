"""``guichet simulate --config sim.toml``: a whole day of a site on this machine, in minutes.

Several headless kiosks (the real kiosk runtime printing to virtual printers) and boards (the
real board runtime, presses through virtual button boxes) run as processes against the real
server on loopback, on simulated time. Citizens arrive at the configured rates, agents call,
serve and mark absent; the configured faults happen (processes killed with SIGKILL and
restarted, the server stopped, the LAN cut, clocks wrong). At the end every fault heals, the
devices converge, and the day is checked (``guichet.sim.report``).

Output folder: ``record.jsonl`` (the simulator's own record: every ticket issued, called,
served or found absent, with simulated times), ``report.json`` (figures, checks, violations),
the devices' journals and logs, the printed tickets as PNG, the server's database.
Exit status: 0 when no check failed, 1 otherwise, 2 for a configuration it cannot use.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from config.loader import ConfigError
from guichet.sim.agents import Kiosk, People, Scheduler, Worker, wait_idle
from guichet.sim.appointments import Day
from guichet.sim.checks import server_events
from guichet.sim.config import SimConfig, load_sim_config
from guichet.sim.rdv_report import appointment_report, summary_lines, walk_in_report
from guichet.sim.report import Report, build_report
from guichet.sim.world import World

log = logging.getLogger(__name__)


def in_thread(fn: Callable[..., object], *args: object) -> Callable[[], None]:
    """A step that runs ``fn`` on its own thread (starting a server or a process takes a
    while: the day goes on meanwhile)."""
    return lambda: threading.Thread(target=fn, args=args, daemon=True).start()


def plan_faults(world: World, sched: Scheduler, start: float, end: float) -> None:
    """Schedules the configured faults of the day."""
    chaos = world.cfg.chaos
    tz = world.site.tz
    for a, b in chaos.server_outages:
        sched.at(world.cfg.instant(a, tz), in_thread(world.stop_server))
        sched.at(world.cfg.instant(b, tz), in_thread(world.start_server))
    for a, b in chaos.lan_cuts:
        sched.at(world.cfg.instant(a, tz), world.cut_lan)
        sched.at(world.cfg.instant(b, tz), world.heal_lan)
    for name, periods in chaos.server_cuts.items():
        for a, b in periods:
            sched.at(world.cfg.instant(a, tz), functools.partial(world.cut_from_server, name))
            sched.at(world.cfg.instant(b, tz), functools.partial(world.reconnect_to_server, name))
    for name, boots in chaos.clock_boots.items():
        for hhmm, skew in boots:
            sched.at(world.cfg.instant(hhmm, tz), in_thread(world.boot_with_clock, name, skew))
    for _ in range(chaos.kills):
        at = world.rng.uniform(start, end)
        name = world.rng.choice(world.names)
        sched.at(at, in_thread(world.kill, name))
        sched.at(at + chaos.restart_after_seconds, in_thread(world.restart, name))


def simulate(cfg: SimConfig, out: Path | None = None, *, quiet: bool = False) -> Report:
    """Runs the day; returns the report (also written to ``report.json``). A day with
    appointments that asks for the comparison is played a second time without them, in the
    folder ``without-appointments`` (``guichet.sim.rdv_report``)."""
    report = _simulate(cfg, out, quiet=quiet)
    rdv = cfg.appointments
    if rdv is not None and rdv.compare_without:
        folder = (out if out is not None else cfg.simulation.output) / "without-appointments"
        if not quiet:
            print("the same walk-ins again, without appointments", flush=True)
        alone = _simulate(cfg.model_copy(update={"appointments": None}), folder, quiet=quiet)
        report.figures["walk_in_waits"]["without"] = alone.figures["walk_in_waits"]["without"]
        report.checks += alone.checks
        report.violations += [f"without appointments: {v}" for v in alone.violations]
        report.figures["real_seconds_without"] = alone.figures["real_seconds"]
        _write(report, folder.parent)
    return report


def _write(report: Report, folder: Path) -> None:
    (folder / "report.json").write_text(json.dumps(report.to_json(), indent=2), encoding="utf-8")


def _simulate(cfg: SimConfig, out: Path | None, *, quiet: bool) -> Report:
    began = time.monotonic()
    world = World(cfg, out)
    workers: list[Worker] = []
    rdv: Day | None = None
    try:
        s, tz = cfg.simulation, world.site.tz
        start, end = cfg.instant(s.start, tz), cfg.instant(s.end, tz)
        if cfg.appointments is not None:
            rdv = Day(world, cfg.appointments, start, end)
            rdv.draw()
        world.prepare(before_devices=rdv.book_ahead if rdv is not None else None)
        assert world.record is not None
        sched = Scheduler(world.clock)
        kiosks = [
            Kiosk(Worker(world.devices[k]), world.printers[k], set()) for k in world.kiosk_names
        ]
        boards = [Worker(world.devices[b]) for b in world.board_names]
        workers = [k.worker for k in kiosks] + boards
        people = People(cfg, world.site, world.clock, sched, world.record, kiosks, boards, end)
        world.counter_board = {a.counter: a.board.device.name for a in people.agents}
        arrivals = people.plan_arrivals(start)
        if rdv is not None:
            arrivals += rdv.schedule(people)
        for agent in people.agents:
            agent.start(start)
        plan_faults(world, sched, start, end)
        if not quiet:
            print(
                f"simulating {s.date} {s.start}-{s.end} at {s.speedup:g}x: {arrivals} arrivals, "
                f"{len(world.kiosk_names)} kiosks, {len(world.board_names)} boards, "
                f"{len(people.agents)} counters",
                flush=True,
            )
        sched.run_until(people.close_at + 3600, done=people.finished)
        wait_idle(workers, 60)
        day_real = time.monotonic() - began
        healed = time.monotonic()
        world.heal()
        dumps = world.converge()
        converged = time.monotonic() - healed
        report = build_report(world, world.record, dumps)
        if rdv is not None:
            appointment_report(
                report,
                world,
                world.record,
                server_events(world.engine, world.site.id, corrected_time=True),
                rdv.bookings,
            )
        else:
            walk_in_report(report, world)
        report.figures["converge_seconds"] = round(converged, 2)
        report.figures["real_seconds"] = round(time.monotonic() - began, 1)
        report.figures["day_real_seconds"] = round(day_real, 1)
        report.figures["speedup"] = s.speedup
        report.figures["device_start_real_seconds"] = world.device_starts
        _write(report, world.out)
        return report
    finally:
        for w in workers:
            w.stop()
        if rdv is not None:
            rdv.close()
        world.close()


def summary(report: Report) -> str:
    f = report.figures
    faults = f.get("faults", {})
    lag = f.get("lag", {})
    lines = [
        f"tickets {f.get('tickets')} (orphans {f.get('orphans')}, refused {f.get('refused')}), "
        f"called {f.get('called')}, served {f.get('served')}, no-shows {f.get('no_shows')}, "
        f"printed {f.get('printed')}, events {f.get('events')}, conflicts {f.get('conflicts')}, "
        f"FIFO inversions {f.get('fifo_inversions')}",
        f"faults: {faults.get('kills')} kills, {faults.get('restarts')} restarts, "
        f"{faults.get('server_stops')} server stops, {faults.get('lan_cuts')} LAN cuts, "
        f"{faults.get('server_cuts')} devices cut from the server only, "
        f"{faults.get('clock_boots')} boots with a wrong clock, "
        f"skewed clocks {faults.get('skewed_devices')}",
        *summary_lines(f),
        f"lags on this machine: a kiosk took up to {lag.get('issue_max_seconds')} s to answer a "
        f"touch, a board up to {lag.get('call_max_seconds')} s a press (simulated seconds: the "
        f"windows the record's times were checked in); devices started in "
        f"{f.get('device_start_real_seconds')} s real",
        f"{report.checks} checks, {len(report.violations)} violations, "
        f"{f.get('real_seconds')} s real",
        *(f"VIOLATION: {v}" for v in report.violations),
    ]
    return "\n".join(lines)


def run_simulate(config: Path, output: Path | None = None) -> int:
    try:
        cfg = load_sim_config(config)
        from guichet.sim.site import sim_site

        sim_site(cfg)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"{config}: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    report = simulate(cfg, output)
    print(summary(report))
    print(f"record and report in {output or cfg.simulation.output}")
    return 0 if not report.violations else 1
