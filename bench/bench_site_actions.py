"""One busy site's actions: ticket issue and call next at 1, 8 and 32 clients at once.

The server runs as in production (``guichet server``), with two workers on PostgreSQL (one
on SQLite with ``--sqlite``, or ``--workers``). For
each number of clients, that many threads, each on one HTTP connection, issue tickets back
to back (``POST /api/v1/sites/{site}/tickets``, kiosk token) for ``--seconds``; then as many
call next (``POST .../counters/{n}/next``, one counter per client, board token) on the
tickets issued. Prints actions/s, p50 and p99 latency, the server's CPU (every process of
it) per action, and checks 0 duplicate numbers and 0 tickets called twice.

    .venv/bin/python bench/bench_site_actions.py [--seconds 5] [--clients 1 8 32] [--sqlite]
"""

from __future__ import annotations

import argparse
import http.client
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_next import post
from bench_sync import ROOT, postgres_database, running_server

sys.path.insert(0, str(ROOT))

SITE = "bench-0"


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its descendants alive now (Linux /proc)."""
    import os

    total = 0.0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def phase(
    port: int, clients: int, seconds: float, act: Callable[[http.client.HTTPConnection, int], Any]
) -> tuple[list[float], list[Any], float, int]:
    """``clients`` threads calling ``act(conn, client)`` back to back for ``seconds``;
    (latencies, results, elapsed, failed calls: answered other than 200, not counted in the
    latencies). ``act`` returning None ends that client early."""
    latencies: list[float] = []
    results: list[Any] = []
    failed = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def run(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        got: list[Any] = []
        barrier.wait()
        while time.monotonic() < stop_at[0]:
            t0 = time.monotonic()
            try:
                result = act(conn, n)
            except RuntimeError:  # an error answer (e.g. the database refused a connection)
                with lock:
                    failed[0] += 1
                continue
            mine.append(time.monotonic() - t0)
            if result is None:
                break
            got.append(result)
        with lock:
            latencies.extend(mine)
            results.extend(got)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.monotonic() + seconds
    started = time.monotonic()
    barrier.wait()
    for t in threads:
        t.join()
    return latencies, results, time.monotonic() - started, failed[0]


def line(
    what: str, clients: int, lat: list[float], elapsed: float, cpu: float, failed: int
) -> None:
    n = len(lat)
    print(
        f"{what:<6} {clients:>3} clients {n:>6} calls {n / elapsed:>7.1f} /s  "
        f"p50 {percentile(lat, 0.5) * 1000:7.1f} ms  p99 {percentile(lat, 0.99) * 1000:7.1f} ms  "
        f"server CPU {cpu / max(n, 1) * 1000:5.2f} ms/call ({cpu / elapsed:4.2f} cores)  "
        f"failed {failed}",
        flush=True,
    )


def bench(
    label: str, database_url: str, workdir: Path, seconds: float, counts: list[int], workers: int
) -> None:
    print(f"{label}, {workers} worker{'s' if workers > 1 else ''}", flush=True)
    with running_server(database_url, [SITE], workdir, workers=workers) as (url, tokens, pid):
        port = int(url.rsplit(":", 1)[1])
        kiosk, board = tokens[SITE]["kiosk-1"], tokens[SITE]["board-1"]
        numbers: list[tuple[str, int]] = []
        called: list[str] = []
        for clients in counts:

            def issue(conn: http.client.HTTPConnection, n: int) -> Any:
                service = "civil" if n % 2 else "passports"
                t = post(conn, f"/api/v1/sites/{SITE}/tickets", kiosk, {"service": service})
                return (service, t["ticket"]["number"])

            cpu0 = tree_cpu_seconds(pid)
            lat, got, elapsed, failed = phase(port, clients, seconds, issue)
            line("issue", clients, lat, elapsed, tree_cpu_seconds(pid) - cpu0, failed)
            numbers += got

            def call(conn: http.client.HTTPConnection, n: int) -> Any:
                path = f"/api/v1/sites/{SITE}/counters/{n % 16 + 1}/next"
                result = post(conn, path, board)
                return result["ticket"]["id"] if result["ticket"] else None

            cpu0 = tree_cpu_seconds(pid)
            lat, ids, elapsed, failed = phase(port, clients, seconds, call)
            called += ids
            line("next", clients, lat, elapsed, tree_cpu_seconds(pid) - cpu0, failed)
        print(
            f"{label}: {len(numbers)} tickets, duplicate numbers "
            f"{len(numbers) - len(set(numbers))}; {len(called)} calls, tickets called twice "
            f"{len(called) - len(set(called))}"
        )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    p.add_argument("--workers", type=int, help="server workers (default: 2, 1 on SQLite)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.sqlite:
            url = f"sqlite:///{Path(tmp) / 'guichet.db'}"
            bench("SQLite", url, Path(tmp), args.seconds, args.clients, args.workers or 1)
            return 0
        with postgres_database() as pg:
            if pg is None:
                return 1
            bench("PostgreSQL", pg, Path(tmp), args.seconds, args.clients, args.workers or 2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
