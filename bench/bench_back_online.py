"""Back online: how long after the central server answers again every device has converged.

A kiosk and a board, each with its real sync worker and push stream at the production defaults
(``config/device.py``: safety sync 60 s, backoff up to 60 s, stream reconnect 1 s growing to 5 s),
are synced with the server. The server stops; the kiosk issues tickets offline and its sync
fails (its backoff grows); after ``--down`` seconds the server starts again on the same address.
Converged = the kiosk's outbox is empty and the board holds every ticket the kiosk issued.
The clock starts when the restarted server listens.

Before push streams, a device noticed the server only when its backoff ran out (17 to 23 s
measured after an outage). Prints the median and p99 (the worst of few runs).

    .venv/bin/python bench/bench_back_online.py [--runs 5] [--down 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config.device import ServerLink  # noqa: E402
from config.server import ServerSettings  # noqa: E402
from server.run import ServerThread  # noqa: E402
from tests.kiosk.link import Link  # noqa: E402
from tests.tickets.test_sync_server import CONFIG, SITE, issue, today  # noqa: E402
from tickets.events import Event  # noqa: E402
from tickets.journal import Journal  # noqa: E402
from tickets.sync import EventStream, SyncClient, SyncWorker, push_channel  # noqa: E402


def wait(condition: Callable[[], bool], deadline: float = 300.0) -> None:
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise SystemExit("no convergence within the deadline")
        time.sleep(0.005)


def device(
    tmp: Path, link: Link, token: str, name: str, services: list[str] | None
) -> tuple[Journal, SyncWorker, EventStream, set[str]]:
    defaults = ServerLink(token=token)
    journal = Journal(tmp / f"{name}.sqlite3", "mairie", name)
    journal.state(SITE)
    client = SyncClient(link.url, token, name, timeout=defaults.timeout_seconds)
    worker = SyncWorker(
        journal,
        client,
        interval=defaults.sync_interval_seconds,
        poll_interval=defaults.poll_interval_seconds,
        max_backoff=defaults.max_backoff_seconds,
        services_for_leases=services,
        block=SITE.lease_block,
        today=today,
    )
    seen: set[str] = set()

    def arrived(events: list[Event]) -> None:
        seen.update(e.id for e in journal.store_remote(events))

    stream = push_channel(
        worker,
        "mairie",
        on_events=arrived,
        reconnect=defaults.stream_reconnect_seconds,
        max_reconnect=defaults.stream_reconnect_max_seconds,
    )
    return journal, worker, stream, seen


def holds(journal: Journal) -> set[str]:
    """Ids of every event in ``journal`` (pushed or pulled by a sync)."""
    events, _position = journal.events_after(0, limit=100_000)
    return {e.id for e in events}


def one_run(down: float, offline_tickets: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        url = f"sqlite:///{tmp}/guichet.db"
        server = ServerThread(ServerSettings(database_url=url)).start()
        tokens = server.load_site(CONFIG)
        link = Link()
        link.restore(int(server.url.rsplit(":", 1)[1]))
        kiosk = device(tmp, link, tokens["kiosk"], "kiosk", ["a"])
        board = device(tmp, link, tokens["board"], "board", None)
        try:
            for _, worker, stream, _seen in (kiosk, board):
                worker.start()
                stream.start()
            wait(lambda: kiosk[2].connected and board[2].connected)
            wait(lambda: kiosk[0].pool.held("a", today()) > 0)
            link.cut()
            server.stop()
            made = []
            for _ in range(offline_tickets):
                made.append(issue(kiosk[0]).id)
                kiosk[1].wake()
                time.sleep(down / offline_tickets)
            server = ServerThread(ServerSettings(database_url=url)).start()
            link.restore(int(server.url.rsplit(":", 1)[1]))
            back = time.monotonic()
            wait(lambda: kiosk[0].backlog() == 0 and set(made) <= holds(board[0]))
            return time.monotonic() - back
        finally:
            for journal, worker, stream, _seen in (kiosk, board):
                stream.stop()
                worker.stop()
                journal.close()
            server.stop()
            link.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--down", type=float, default=20.0, help="outage length, seconds")
    parser.add_argument("--tickets", type=int, default=5, help="tickets issued offline")
    args = parser.parse_args()
    times = [one_run(args.down, args.tickets) for _ in range(args.runs)]
    times.sort()
    print(f"outage {args.down:.0f} s, {args.tickets} tickets offline, {args.runs} runs")
    print(
        f"every device converged after the server answers again: median "
        f"{statistics.median(times):.2f} s, p99 (worst) {times[-1]:.2f} s"
    )


if __name__ == "__main__":
    main()
