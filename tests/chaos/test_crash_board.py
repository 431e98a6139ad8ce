"""A board killed (SIGKILL) while calling never showed a call its journal does not know, and
what it journaled reaches the server after the restart: no ticket called twice, none lost.

The board is the real ``build_board`` runtime in its own process; presses go through its
virtual button box (a pseudo-terminal) exactly as a counter's box sends them. The kills land
at random points of a press, first while the server decides the calls, then while the board
decides alone (server unreachable behind a relay).
"""

from __future__ import annotations

import random
import time
from typing import Any

import pytest
import requests

from guichet.sim.checks import calls_per_ticket, server_dump, server_events
from guichet.sim.proxy import Relay
from tests.chaos.conftest import Bench
from tests.conftest import wait_until
from tests.server.helpers import SITE
from tickets.journal import Journal

CYCLES_PER_MODE = 6


def _issue(bench: Bench, n: int) -> None:
    for _ in range(n):
        r = requests.post(
            f"{bench.server.url}/api/v1/sites/{SITE}/tickets",
            json={"service": "civil"},
            headers={"Authorization": f"Bearer {bench.tokens['kiosk-a']}"},
            timeout=10,
        )
        r.raise_for_status()


@pytest.mark.slow
def test_a_board_killed_while_calling_never_shows_a_call_it_did_not_journal(
    bench: Bench,
) -> None:
    rng = random.Random(42)
    _issue(bench, 60)
    port = int(bench.server.url.rsplit(":", 1)[1])
    with Relay(("127.0.0.1", port), "server") as relay:
        board = bench.board(server=relay.url)
        shown: list[list[str]] = []
        board.on_event = lambda _name, msg: shown.extend(msg.get("calls", []))
        replies: list[dict[str, Any]] = []
        journal_path = bench.tmp / "board-a.sqlite3"
        for mode in ("pass", "reset"):
            relay.set_mode(mode)
            for _cycle in range(CYCLES_PER_MODE):
                board.start()
                board.call("sync")
                for _ in range(rng.randint(0, 3)):
                    counter = str(rng.randint(1, 4))
                    answer = board.call("press", counter=counter, action="next")
                    replies.append({"counter": counter, **answer})
                board.send("press", counter=str(rng.randint(1, 4)), action="next")
                time.sleep(rng.uniform(0.0, 0.15))
                board.kill()
                with Journal(journal_path, SITE, "board-a") as j:
                    ids = {e.id for e in j.events_after(0, 100_000)[0]}
                    state = j.state(bench.config.to_domain())
                missing = [c for c in shown if c[0] not in ids]
                assert not missing, f"shown but not journaled ({mode}): {missing}"
                for r in replies:
                    if r["ticket"] is not None:
                        assert any(
                            t.label == r["ticket"] and t.called_at is not None
                            for t in state.tickets.values()
                        ), r
        relay.set_mode("pass")
        board.start()
        wait_until(
            lambda: board.call("sync")["ok"] and board.call("dump")["backlog"] == 0, step=0.1
        )
        dump = board.call("dump")
        board.stop()

    assert dump["backlog"] == 0, "the outbox drained after the restart"
    events = server_events(bench.server.ctx.engine, SITE)
    with Journal(journal_path, SITE, "board-a") as j:
        own = [e.id for e in j.events_after(0, 100_000)[0] if e.device == "board-a"]
    assert set(own) <= {e.id for e in events}, "every call the board decided reached the server"
    expected = server_dump(bench.server.ctx.engine, bench.config.to_domain())
    assert dump["dump"] == expected, "the board and the server fold the same queue"
    conflicted = {t["id"] for t in expected["tickets"] if t["conflict"]}
    twice = {t for t, k in calls_per_ticket(events).items() if k > 1}
    assert twice <= conflicted, "a ticket called twice is flagged"
    called = sum(1 for t in expected["tickets"] if t["called_at"] is not None)
    assert called >= 2 * CYCLES_PER_MODE
    print(f"{board.kills} kills, {called} tickets called, {len(own)} events decided by the board")
