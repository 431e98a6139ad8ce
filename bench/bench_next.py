"""`next` calls per second: 16 counters of one site pressing NEXT at the same time.

The server runs as in production (``guichet server``, one process) on SQLite and PostgreSQL.
The site starts the run with 3,000 waiting tickets (a very busy day); 16 client threads, one
per counter, call ``POST /api/v1/sites/{site}/counters/{n}/next`` back to back. Each call is
one transaction under the site's lock (fold caught up, TicketServed + TicketCalled written).
Prints calls/s, median and p99 latency, and checks that no ticket was called twice.

    .venv/bin/python bench/bench_next.py [--seconds 8] [--tickets 3000] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from bench_sync import ROOT, cpu_seconds, postgres_database, running_server

sys.path.insert(0, str(ROOT))

from tickets.events import EventKind, new_event
from tickets.hlc import HybridClock

SITE = "bench-0"
COUNTERS = 16


def post(conn: http.client.HTTPConnection, path: str, token: str, body: object = None) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn.request("POST", path, None if body is None else json.dumps(body), headers)
    response = conn.getresponse()
    data = json.loads(response.read())
    if response.status != 200:
        raise RuntimeError(f"{path}: {response.status} {data}")
    return data


def kiosk_ticket(clock: HybridClock, number: int, service: str, token: str | None = None) -> Any:
    """A TicketIssued of kiosk-1 at the bench's site, today, stamped now."""
    return new_event(
        EventKind.TICKET_ISSUED,
        site=SITE,
        device="kiosk-1",
        hlc=clock.now(),
        wall_time=time.time(),
        ticket=str(uuid.uuid4()),
        service=service,
        number=number,
        day=time.strftime("%Y-%m-%d"),
        token=token,
    )


def seed(port: int, token: str, tickets: int) -> None:
    """Uploads ``tickets`` TicketIssued events from kiosk-1, 500 per sync (as devices do)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    clock = HybridClock("kiosk-1")
    events = [
        kiosk_ticket(clock, 5000 + i, "civil" if i % 3 else "passports").to_dict()
        for i in range(tickets)
    ]
    for i in range(0, len(events), 500):
        post(conn, "/api/v1/sync", token, {"device": "kiosk-1", "events": events[i : i + 500]})


def run(port: int, token: str, seconds: float) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    called: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(COUNTERS)
    stop_at = 0.0

    def press(counter: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        path = f"/api/v1/sites/{SITE}/counters/{counter}/next"
        mine: list[float] = []
        ids: list[str] = []
        barrier.wait()
        while time.monotonic() < stop_at:
            t0 = time.monotonic()
            result = post(conn, path, token)
            mine.append(time.monotonic() - t0)
            ticket = result["ticket"] if isinstance(result, dict) else None
            if ticket is None:
                break
            ids.append(ticket["id"])
        with lock:
            latencies.extend(mine)
            called.extend(ids)

    threads = [threading.Thread(target=press, args=(c,)) for c in range(1, COUNTERS + 1)]
    stop_at = time.monotonic() + seconds + 0.5
    for t in threads:
        t.start()
    started = time.monotonic()
    for t in threads:
        t.join()
    return latencies, called, time.monotonic() - started


def bench(label: str, database_url: str, workdir: Path, seconds: float, tickets: int) -> None:
    with running_server(database_url, [SITE], workdir) as (url, tokens, pid):
        port = int(url.rsplit(":", 1)[1])
        seed(port, tokens[SITE]["kiosk-1"], tickets)
        cpu0 = cpu_seconds(pid)
        latencies, called, elapsed = run(port, tokens[SITE]["board-1"], seconds)
        cpu = cpu_seconds(pid) - cpu0
    latencies.sort()
    twice = len(called) - len(set(called))
    print(
        f"{label:<11} {len(latencies):>6} calls  {len(latencies) / elapsed:>6.0f} /s  "
        f"median {statistics.median(latencies) * 1000:6.1f} ms  "
        f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:6.1f} ms  "
        f"server CPU {cpu * 1000 / len(latencies):.2f} ms/call  called twice: {twice}"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--tickets", type=int, default=3000)
    p.add_argument("--sqlite-only", action="store_true")
    args = p.parse_args()
    print(f"bench_next: {COUNTERS} counters, {args.tickets} tickets waiting at the start")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bench("SQLite", f"sqlite:///{work}/bench.db", work, args.seconds, args.tickets)
        if not args.sqlite_only:
            with postgres_database() as pg:
                if pg is not None:
                    (work / "pg").mkdir()
                    bench("PostgreSQL", pg, work / "pg", args.seconds, args.tickets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
