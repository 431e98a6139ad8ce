"""A night without network, with a real kiosk process: it loses power (SIGKILL) and boots again
with its clock at the last time it saved (fake-hwclock on a Raspberry Pi without a real-time
clock), the server out of its reach, as an overnight power cut during a WAN outage does.

The same promises as tests/chaos/test_clock_night.py, through the kiosk's real runtime
(``guichet.sim.device``: journal, core, printer over TCP, sync worker and push stream) started
again as a new process: its service day never runs backwards (it goes on from the latest time
it knew had passed, kept in its journal); a ticket it numbers for yesterday anyway is re-dated
by the server when it reaches it, flagged, and called today in its place.

Set-up: tests/chaos/conftest.py (the server on loopback in the test process, on a clock the
test sets; device processes whose clocks are that clock plus a skew). The kiosk reaches the
server through a relay the test cuts (the WAN outage).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from guichet.sim.clock import SimClock
from guichet.sim.process import DeviceProcess
from guichet.sim.proxy import Relay
from tests.chaos.conftest import Bench
from tests.conftest import PATIENCE, wait_until
from tests.server.helpers import SITE
from tickets.hlc import HybridClock

PARIS = ZoneInfo("Europe/Paris")


def at(day: int, hour: int, minute: int = 0) -> float:
    return datetime(2026, 11, day, hour, minute, tzinfo=PARIS).timestamp()


class SiteTime:
    """The true time of the test: the bench's real-time clock, moved forward at will (the
    night passes in an instant). The server reads it; each device process gets it with its
    own skew when it starts."""

    def __init__(self, bench: Bench, start: float) -> None:
        self.bench = bench
        self.base = SimClock.starting(start, 1.0)
        self.shift = 0.0
        bench.clock = self.base
        self._server_clock()

    def __call__(self) -> float:
        return self.base() + self.shift

    def jump_to(self, instant: float) -> None:
        self.shift = instant - self.base()
        self._server_clock()

    def _server_clock(self) -> None:
        self.bench.server.ctx.wall = self
        self.bench.server.ctx.clock = HybridClock("server", self)

    def device_clock(self, reads: float | None = None) -> dict[str, Any]:
        """A device clock: true, or reading ``reads`` now (and running on from there)."""
        skew = self.shift if reads is None else self.shift + reads - self()
        return self.base.skewed(skew).to_json()


@pytest.fixture
def wan(bench: Bench) -> Iterator[Relay]:
    """The kiosk's link to the server, which the test cuts."""
    host, port = bench.server.url.removeprefix("http://").rsplit(":", 1)
    with Relay((host, int(port)), "kiosk-wan") as relay:
        yield relay


def _wait(what: str, predicate: Any) -> None:
    if not wait_until(predicate, PATIENCE):
        raise AssertionError(f"not within {PATIENCE:g} s: {what}")


def _issue(kiosk: DeviceProcess) -> dict[str, Any]:
    ticket = kiosk.call("issue", service="civil")
    assert ticket["label"] is not None, ticket
    return ticket


def _power_cut(kiosk: DeviceProcess, wan: Relay, clock: dict[str, Any]) -> None:
    """SIGKILL, the WAN down, then a boot with ``clock``."""
    kiosk.kill()
    wan.set_mode("reset")
    kiosk.spec["clock"] = clock
    kiosk.start()


def _waiting(bench: Bench) -> list[tuple[str, str, bool]]:
    r = requests.get(
        f"{bench.server.url}/api/v1/sites/{SITE}/queue",
        headers={"Authorization": f"Bearer {bench.tokens['board-a']}"},
        timeout=10,
    )
    r.raise_for_status()
    return [
        (t["label"], t["day"], t["misdated"])
        for t in r.json()["waiting"]
        if t["service"] == "civil"
    ]


def test_a_kiosk_process_booting_with_its_clock_set_back_keeps_its_day(
    bench: Bench, wan: Relay
) -> None:
    """GIVEN a kiosk process that synced just after midnight (Tuesday 00:05) and issued a
    ticket; its clock was last saved at 23:50 on Monday
    WHEN it loses power with the WAN down and boots again at 08:30 with its clock at that
    saved time
    THEN its new ticket is numbered for Tuesday, after the first one; when the WAN is back
    the server holds both, for Tuesday, in that order, neither flagged."""
    time = SiteTime(bench, at(24, 0, 5))
    kiosk = bench.kiosk(server=wan.url)
    kiosk.spec["clock"] = time.device_clock()
    kiosk.start()
    _wait("the kiosk synced", lambda: bool(kiosk.call("sync")["ok"]))
    first = _issue(kiosk)
    assert first["day"] == "2026-11-24"
    _wait("the first ticket on the server", lambda: kiosk.call("dump")["backlog"] == 0)

    time.jump_to(at(24, 8, 30))
    _power_cut(kiosk, wan, time.device_clock(reads=at(23, 23, 50)))
    assert not kiosk.call("sync")["ok"], "the server is out of reach"
    again = _issue(kiosk)
    assert again["day"] == "2026-11-24", "its day did not run back to Monday"
    (mine,) = [t for t in kiosk.call("dump")["dump"]["tickets"] if t["label"] == again["label"]]
    (before,) = [t for t in kiosk.call("dump")["dump"]["tickets"] if t["label"] == first["label"]]
    assert mine["issued"] > before["issued"], "its clock went on from where it was"

    wan.set_mode("pass")
    _wait("the kiosk's outbox empty", lambda: kiosk.call("dump")["backlog"] == 0)
    assert _waiting(bench) == [
        (first["label"], "2026-11-24", False),
        (again["label"], "2026-11-24", False),
    ]


def test_a_ticket_a_kiosk_process_numbered_for_yesterday_is_called_today(
    bench: Bench, wan: Relay
) -> None:
    """GIVEN a kiosk process that last synced at 19:00 on Monday, lost power overnight with the
    WAN down, and booted at 08:30 on Tuesday with its clock at its last saved time (18:30 on
    Monday): it can only believe it is Monday evening, and numbers its ticket for Monday;
    afterwards a kiosk with a right clock issues one
    WHEN the WAN is back
    THEN the server re-dates the first ticket to Tuesday, flags it, keeps it first in line and
    a board process's NEXT calls it; the kiosk then numbers for Tuesday."""
    time = SiteTime(bench, at(23, 19, 0))
    kiosk = bench.kiosk(server=wan.url)
    kiosk.spec["clock"] = time.device_clock()
    kiosk.start()
    _wait("the kiosk synced", lambda: bool(kiosk.call("sync")["ok"]))
    assert _issue(kiosk)["day"] == "2026-11-23"
    _wait("Monday's ticket on the server", lambda: kiosk.call("dump")["backlog"] == 0)

    time.jump_to(at(24, 8, 30))
    _power_cut(kiosk, wan, time.device_clock(reads=at(23, 18, 30)))
    late = _issue(kiosk)
    assert late["day"] == "2026-11-23", "nobody it trusts has said otherwise"
    other = bench.server_ticket()

    wan.set_mode("pass")
    _wait("the kiosk's outbox empty", lambda: kiosk.call("dump")["backlog"] == 0)
    assert _waiting(bench) == [(late["label"], "2026-11-24", True), (other, "2026-11-24", False)]
    board = bench.board(action_timeout_seconds=10.0)
    board.spec["clock"] = time.device_clock()
    board.start()
    _wait("the board synced", lambda: bool(board.call("sync")["ok"]))
    press = board.call("press", counter="1", action="next")
    assert (press["ticket"], press["decided_by"]) == (late["label"], "server")
    assert _issue(kiosk)["day"] == "2026-11-24"
