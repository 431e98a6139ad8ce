"""Reads that must agree with themselves while other requests (or other server processes)
store events: the console's snapshot cursor, and the order of tickets the server issues."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from server.context import SERVER_NODE
from server.web.console import read_live
from tests.server.helpers import SITE, DeviceClock, Srv, wire
from tickets.hlc import HybridClock
from tickets.queue import QueueState


def test_the_console_snapshot_cursor_is_the_seq_of_the_state_it_shows(
    srv: Srv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a ticket committed by another request just as the console reads the queue, THEN
    the console's cursor says the ticket is included (it is in the snapshot), so the stream
    does not bring it a second time."""
    srv.issue("civil")
    ctx = srv.thread.ctx
    loaded = ctx.sites.get_by_engine(ctx.engine, SITE)
    assert loaded is not None
    hold = ctx.states.hold
    raced: list[bool] = []

    @contextmanager
    def hold_after_another_commit(*args: Any) -> Iterator[QueueState]:
        if not raced:  # the console's read (the server's own holds pass through)
            raced.append(True)
            srv.issue("civil")  # seq 2, committed while the console is reading
        with hold(*args) as state:
            yield state

    monkeypatch.setattr(ctx.states, "hold", hold_after_another_commit)
    live = read_live(ctx, loaded, "1")
    assert [t.label for t in live.snapshot.waiting] == ["A001", "A002"]
    assert live.snapshot.cursor == 2


def test_a_ticket_issued_by_a_process_that_never_saw_a_fast_clock_keeps_its_place(
    srv: Srv,
) -> None:
    """GIVEN a kiosk whose clock is two minutes ahead uploaded a ticket through one server
    process, WHEN a ticket is issued through another process (whose own clock never heard of
    the kiosk's), THEN the new ticket still comes after the kiosk's in the queue."""
    kiosk = DeviceClock("kiosk-a").at(time.time() + 120)
    early = kiosk.issued(900)
    assert srv.sync("kiosk-a", events=wire([early])).status_code == 200
    srv.thread.ctx.clock = HybridClock(SERVER_NODE)  # a process that never saw that clock
    late = srv.issue("civil")["ticket"]
    queue = srv.request("GET", f"/api/v1/sites/{SITE}/queue", device="board-a").json()
    assert [t["id"] for t in queue["waiting"]] == [early.data["ticket"], late["id"]]
