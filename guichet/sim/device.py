"""One simulated kiosk or board, as its own process: the real runtime on simulated time.

``python -m guichet.sim.device SPEC.json`` runs the kiosk's ``KioskRuntime`` (journal, core,
printer over TCP, sync, LAN peers) or the board's ``build_board`` (journal, core, sync, push
stream, LAN peers, a virtual button box on a pseudo-terminal) without a screen, with every
clock reading the simulator's time (``guichet.sim.clock``). The simulator kills it (SIGKILL)
and starts it again whenever it likes.

It takes commands on stdin and answers on stdout, one JSON object a line. A command carries an
``id``; its answer carries ``re`` with that id. Lines with ``event`` are unsolicited (the board
showed calls). Commands:

``issue``      {service, priority?, lang?}: a kiosk takes a ticket (rules, journal, printer)
``checkin``    {code}: a kiosk checks an appointment in (its day's list, journal, printer)
``appointments`` the kiosk fetches the day's appointments now
``issue_loop`` {service}: a kiosk takes tickets forever, one answer each (crash tests)
``press``      {counter, action, service?}: a press on the board's button box
``counter``    {counter}: the ticket the board says the counter holds
``dump``       the fold of every event the journal holds, and its counts
``sync``       one sync round with the server now
``quit``       stops cleanly
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guichet.sim.checks import fold_dump
from guichet.sim.clock import SimClock
from tickets.journal import Journal
from tickets.model import Site
from tickets.queue import fold

if TYPE_CHECKING:
    from kiosk.core import IssueResult

log = logging.getLogger("guichet.sim.device")
_out = threading.Lock()


def emit(obj: dict[str, Any]) -> None:
    line = json.dumps(obj, separators=(",", ":"))
    with _out:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def journal_dump(journal: Journal, site: Site) -> dict[str, Any]:
    events: list[Any] = []
    position = 0
    while True:
        page, position = journal.events_after(position, 5000)
        events += page
        if len(page) < 5000:
            break
    ids = sorted(e.id for e in events)
    return {
        "dump": fold_dump(fold(site, events)),
        "events": len(events),
        "own": sum(1 for e in events if e.device == journal.device),
        "digest": hashlib.sha256("\n".join(ids).encode()).hexdigest(),
        "backlog": journal.backlog(),
        "cursor": journal.cursor,
    }


def _warm_print_path() -> None:
    """Imports what the first slip needs (the printer library and its capability database,
    images, QR codes) before the kiosk says it is ready. A kiosk is up well before opening;
    without this the first person of the simulated day waits for those imports (seconds on
    a busy machine, so minutes of the day: an appointment checked in on time came out late)."""
    import qrcode  # noqa: F401
    from escpos.capabilities import get_profile_class
    from escpos.printer import Dummy  # noqa: F401
    from PIL import Image, ImageDraw, ImageFont  # noqa: F401

    get_profile_class("TM-T20II")


class KioskDevice:
    def __init__(self, spec: dict[str, Any], clock: SimClock) -> None:
        from config.kiosk import KioskSettings
        from kiosk.runtime import KioskRuntime

        self.settings = KioskSettings.model_validate(spec["settings"])
        _warm_print_path()
        self.runtime = KioskRuntime(
            self.settings, clock=clock, monotonic=clock.monotonic, boot_id=clock.boot
        )
        self.clock = clock
        if self.settings.server.url is not None:
            self.runtime.start_sync()
            self.runtime.start_appointments()

    def ready(self) -> dict[str, Any]:
        peers = self.runtime.peers
        return {"device": self.settings.device_id, "peer_url": peers.url if peers else ""}

    def issue(self, cmd: dict[str, Any]) -> dict[str, Any]:
        rt = self.runtime
        result = rt.submit(
            rt.core.issue, cmd["service"], cmd.get("priority"), cmd.get("lang", "fr")
        ).result()
        rt.wake_sync()
        return self._ticket(result.outcome.value, result)

    def checkin(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """The kiosk's check-in path (``KioskRuntime.check_in``, as the keypad and the
        scanner use it)."""
        rt = self.runtime
        result = rt.submit(rt.check_in, cmd["code"]).result()
        rt.wake_sync()
        return self._ticket(result.outcome.value, result.issued)

    def refresh_appointments(self) -> dict[str, Any]:
        """Fetches the day's appointments now, on the I/O worker (one at a time with
        check-ins, as the keypad's and the scanner's go)."""
        rt = self.runtime
        return {"appointments": rt.submit(rt.refresh_appointments).result()}

    def _ticket(self, outcome: str, result: IssueResult | None) -> dict[str, Any]:
        t = result.ticket if result is not None else None
        return {
            "outcome": outcome,
            "ticket": t.ticket if t else None,
            "label": t.label if t else None,
            "number": t.number if t else None,
            "day": t.day if t else None,
            "source": t.source if t else None,
            "printer": result.printer.state.value if result and result.printer else None,
        }

    def issue_loop(self, cmd: dict[str, Any]) -> None:
        while True:
            emit({"re": cmd.get("id"), **self.issue(cmd)})

    def dump(self) -> dict[str, Any]:
        return journal_dump(self.runtime.journal, self.runtime.core.site)

    def sync(self) -> dict[str, Any]:
        worker = self.runtime.sync
        if worker is None:
            return {"ok": False, "state": "standalone"}
        return {"ok": worker.run_once(), "state": worker.state.value}

    def close(self) -> None:
        self.runtime.close()


class BoardDevice:
    def __init__(self, spec: dict[str, Any], clock: SimClock) -> None:
        from config.display import DisplaySettings
        from display.runtime import build_board

        self.settings = DisplaySettings.model_validate(spec["settings"])
        self.board = build_board(
            self.settings, wall=clock, monotonic=clock.monotonic, boot_id=clock.boot
        )
        self.board.listener = _Listener()
        self.board.start()
        self.box = self.board.virtual
        if self.box is None:
            raise SystemExit("a simulated board needs buttons.virtual = true")
        deadline = time.monotonic() + 10
        while self.board.buttons.state.value != "connected" and time.monotonic() < deadline:
            time.sleep(0.01)

    def ready(self) -> dict[str, Any]:
        peers = self.board.peers
        return {"device": self.settings.device_id, "peer_url": peers.url if peers else ""}

    def press(self, cmd: dict[str, Any]) -> dict[str, Any]:
        assert self.box is not None
        core = self.board.core
        alone = core.decided_locally if core else 0
        # What the board knows should come next: whoever decides, the server or the board, it
        # must not call a ticket after it (the report's FIFO check).
        expected = core.next_ticket(cmd["counter"]) if core and cmd["action"] == "next" else None
        start = len(self.box.received)
        self.box.press(cmd["counter"], cmd["action"], cmd.get("service"))
        # The box's lines are handled in order: the answer to PING follows the press's.
        self.box.send(b"PING\n")
        if not self.box.wait_for("PONG", timeout=30.0, start=start):
            return {"lines": self.box.received[start:], "ticket": None, "error": "TIMEOUT"}
        lines = self.box.received[start:]
        lines = lines[: len(lines) - 1 - lines[::-1].index("PONG")]
        counter = cmd["counter"]
        shows = [ln.split()[2] for ln in lines if ln.startswith(f"{counter} SHOW ")]
        errors = [ln.split()[2] for ln in lines if ln.startswith(f"{counter} ERR ")]
        ticket = shows[-1] if shows and shows[-1] != "---" else None
        local = core is not None and core.decided_locally > alone
        return {
            "lines": lines,
            "ticket": ticket,
            "error": errors[-1] if errors else None,
            "decided_by": "board" if local else "server",
            "expected": expected,
        }

    def dump(self) -> dict[str, Any]:
        core = self.board.core
        assert core is not None
        return journal_dump(self.board.journal, core.site)  # type: ignore[arg-type]

    def sync(self) -> dict[str, Any]:
        worker = self.board.sync_worker
        if worker is None:
            return {"ok": False, "state": "standalone"}
        return {"ok": worker.run_once(), "state": worker.state.value}

    def close(self) -> None:
        self.board.stop()


class _Listener:
    """What the board would draw: its calls are reported as they are shown."""

    def board_changed(self) -> None:
        pass

    def board_calls(self, calls: list[Any]) -> None:
        emit({"event": "calls", "calls": [[c.key, c.ticket, c.counter_id] for c in calls]})

    def board_status(self) -> None:
        pass


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    logging.basicConfig(
        level=spec.get("log_level", "WARNING"),
        format=f"%(asctime)s {spec['settings']['device_id']} %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    clock = SimClock.from_json(spec["clock"])
    device: KioskDevice | BoardDevice
    device = KioskDevice(spec, clock) if spec["role"] == "kiosk" else BoardDevice(spec, clock)
    emit({"event": "ready", **device.ready()})
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        op = cmd.get("op")
        try:
            if op == "quit":
                break
            if op == "issue_loop" and isinstance(device, KioskDevice):
                device.issue_loop(cmd)
            elif op == "issue" and isinstance(device, KioskDevice):
                answer = device.issue(cmd)
            elif op == "checkin" and isinstance(device, KioskDevice):
                answer = device.checkin(cmd)
            elif op == "appointments" and isinstance(device, KioskDevice):
                answer = device.refresh_appointments()
            elif op == "press" and isinstance(device, BoardDevice):
                answer = device.press(cmd)
            elif op == "counter" and isinstance(device, BoardDevice):
                core = device.board.core
                answer = {"ticket": core.counter_ticket(cmd["counter"]) if core else None}
            elif op == "dump":
                answer = device.dump()
            elif op == "sync":
                answer = device.sync()
            else:
                answer = {"error": f"unknown command {op!r} for this device"}
        except Exception as exc:
            log.exception("command %r failed", cmd)
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        emit({"re": cmd.get("id"), **answer})
    device.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
