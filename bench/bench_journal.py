"""Journal figures, on a real SQLite file (WAL, synchronous=FULL): the time to record one
event and to issue one ticket (each a durable commit), to open a journal of 10,000 events and
build its queue state, and to read the state (a copy). Median and p99 of each.

Run: .venv/bin/python bench/bench_journal.py [DIRECTORY]   (the disk to measure; default /tmp)
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

from bench_fold import SITE, busy_day, report, timed

from tickets.events import EventKind
from tickets.journal import Journal
from tickets.numbering import Lease

DAY = "2026-11-23"


def main() -> int:
    where = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.gettempdir())
    events = busy_day(10_000, random.Random(7))
    wall = events[-1].wall_time + 60  # the journal's clock: just after the busy day
    with tempfile.TemporaryDirectory(dir=where) as tmp:
        path = Path(tmp) / "journal.sqlite3"
        journal = Journal(path, "mairie", "board", lambda: wall)
        journal.state(SITE)
        report(
            "record one event (durable commit)",
            timed(lambda: journal.record(EventKind.COUNTER_OPENED, counter="1"), 300),
        )
        journal.grant_leases([Lease("a", DAY, 1, 100_000)])
        report(
            "issue one ticket (number + event + print state)",
            timed(
                lambda: journal.issue_ticket("a", DAY, priority=None, lang="fr", prefix="A"), 300
            ),
        )
        start = time.perf_counter()
        for i in range(0, len(events), 500):
            journal.store_remote(events[i : i + 500])
        print(f"store 10,000 remote events in batches of 500: {time.perf_counter() - start:.2f} s")
        journal.close()

        def reopen() -> None:
            j = Journal(path, "mairie", "board", lambda: wall)
            j.state(SITE)
            j.close()

        report("open + first state (10,600 events)", timed(reopen, 10))
        journal = Journal(path, "mairie", "board", lambda: wall)
        journal.state(SITE)
        report("state() at 10,600 events (a copy)", timed(lambda: journal.state(SITE), 30))
        journal.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
