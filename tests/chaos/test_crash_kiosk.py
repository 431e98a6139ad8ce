"""A kiosk killed (SIGKILL) at any point of issuing a ticket leaves either a journaled ticket
(printed, or marked failed for a reprint) or nothing: never a ticket on paper that its journal
does not know. The journal survives every restart and its outbox drains afterwards.

The kiosk is the real ``KioskRuntime`` in its own process, printing over TCP to the virtual
printer of the test; the kills land at random points of a loop that issues ticket after
ticket (seeded, so a failure can be replayed).
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter

import pytest

from guichet.sim.checks import server_events
from printer.virtual import VirtualPrinter
from tests.chaos.conftest import Bench
from tests.conftest import wait_until
from tests.server.helpers import SITE
from tickets.events import EventKind
from tickets.journal import Journal, PrintState
from tickets.queue import fold

LABEL = re.compile(r"^[A-Z]{1,2}\d{3,}$")
CYCLES = 10


def labels_on_paper(printer: VirtualPrinter) -> list[list[str]]:
    """The ticket numbers on each slip the printer cut. A slip holds more than one when a
    kiosk died half-way through a ticket: the printer goes on with the next on the same paper."""
    return [
        [line.strip() for line in slip.text_lines() if LABEL.match(line.strip())]
        for slip in printer.printed
    ]


@pytest.mark.slow
def test_a_kiosk_killed_anywhere_never_prints_a_ticket_its_journal_does_not_know(
    bench: Bench,
) -> None:
    rng = random.Random(20261123)
    kiosk = bench.kiosk()
    said_printed: list[str] = []
    interrupted = 0
    for cycle in range(CYCLES):
        kiosk.start()
        n = kiosk.send("issue_loop", service="civil")
        wanted = rng.randint(1, 4)
        wait_until(lambda n=n, w=wanted: len(kiosk.replies(n)) >= w, step=0.002)
        time.sleep(rng.uniform(0.0, 0.12))  # anywhere in the next ticket: journal, print, mark
        kiosk.kill()
        said_printed += [r["label"] for r in kiosk.replies(n) if r["outcome"] == "printed"]

        with Journal(bench.tmp / "kiosk-a.sqlite3", SITE, "kiosk-a") as j:
            state = fold(bench.config.to_domain(), j.events_after(0, 100_000)[0])
            known = {t.label: t.id for t in state.tickets.values()}
            states = {label: j.print_state(tid) for label, tid in known.items()}
            pending = j.pending_prints()
        slips = labels_on_paper(bench.printer)
        on_paper = [label for slip in slips for label in slip]
        unknown = set(on_paper) - set(known)
        assert not unknown, f"cycle {cycle}: printed but not journaled: {unknown}"
        twice = [label for label, k in Counter(on_paper).items() if k > 1]
        assert not twice, f"cycle {cycle}: printed twice: {twice}"
        claimed = {label for label, s in states.items() if s is PrintState.PRINTED}
        assert claimed <= set(on_paper), f"cycle {cycle}: journal says printed: {claimed}"
        assert set(said_printed) <= claimed
        assert len(pending) <= 1, "only the ticket in hand can be interrupted"
        interrupted += sum(len(slip) - 1 for slip in slips)

    # Restart: interrupted prints are marked failed; the outbox drains to the server.
    kiosk.start()
    wait_until(lambda: kiosk.call("sync")["ok"] and kiosk.call("dump")["backlog"] == 0, step=0.1)
    dump = kiosk.call("dump")
    kiosk.stop()
    assert dump["backlog"] == 0
    with Journal(bench.tmp / "kiosk-a.sqlite3", SITE, "kiosk-a") as j:
        assert j.pending_prints() == []
        issued = [e for e in j.events_after(0, 100_000)[0] if e.kind is EventKind.TICKET_ISSUED]
        failed = [
            e.data["label"] for e in issued if j.print_state(e.data["ticket"]) is PrintState.FAILED
        ]
    at_server = [
        e for e in server_events(bench.server.ctx.engine, SITE) if e.kind is EventKind.TICKET_ISSUED
    ]
    assert sorted(e.id for e in at_server) == sorted(e.id for e in issued)
    paper = {label for slip in labels_on_paper(bench.printer) for label in slip}
    assert paper <= {e.data["label"] for e in issued}
    # What a reprint would cover: journaled, not known to be on paper.
    assert set(failed) >= {e.data["label"] for e in issued} - paper - set(said_printed)
    assert len(issued) >= CYCLES
    print(
        f"{kiosk.kills} kills, {len(issued)} tickets journaled, {len(paper)} on paper, "
        f"{len(failed)} marked failed, {interrupted} slips with an interrupted ticket"
    )
