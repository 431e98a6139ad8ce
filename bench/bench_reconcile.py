"""Reconciling 10,000 offline events: time for the server to store them and fold them.

A board that was cut off from the server for a long time uploads 10,000 events it made
offline (5,000 tickets called, then served, at 16 counters), for tickets the kiosk had synced
meanwhile. Their clocks are older than events the server already holds, so the fold must
re-sort and re-fold the day. Two ways of uploading are measured:

- one sync carrying all 10,000 events (the server's body limit raised for it), and
- 20 syncs of 500 events, as the devices' sync client uploads its outbox.

"store" is the upload (HTTP, validation, insert, commit); "fold" the next queue snapshot
(catching up with the new events and folding the day again). Runs ``--runs`` times on
SQLite and on PostgreSQL, on fresh databases; prints the median and p99 (the worst of few
runs) of store + fold.

    .venv/bin/python bench/bench_reconcile.py [--runs 5] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench_sync import ROOT, postgres_database, running_server

sys.path.insert(0, str(ROOT))

from tickets.events import EventKind, new_event
from tickets.hlc import HybridClock

SITE = "bench-0"
TICKETS = 5000


def request(
    conn: http.client.HTTPConnection, method: str, path: str, token: str, body: Any = None
) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn.request(method, path, None if body is None else json.dumps(body), headers)
    response = conn.getresponse()
    data = json.loads(response.read())
    if response.status != 200:
        raise RuntimeError(f"{path}: {response.status} {str(data)[:300]}")
    return data


def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the kiosk's 5,000 tickets, the board's 10,000 offline events), the board's clock
    starting before the kiosk's last tickets."""
    start = time.time() - 3 * 3600
    kiosk = HybridClock("kiosk-1", wall=lambda: start)
    board = HybridClock("board-1", wall=lambda: start + 60)
    day = time.strftime("%Y-%m-%d")
    issued = []
    for i in range(TICKETS):
        start += 1.5
        issued.append(
            new_event(
                EventKind.TICKET_ISSUED,
                site=SITE,
                device="kiosk-1",
                hlc=kiosk.now(),
                wall_time=start,
                ticket=str(uuid.uuid4()),
                service="civil",
                number=5000 + i,
                day=day,
            )
        )
    offline = []
    for i, e in enumerate(issued):
        counter = str(i % 16 + 1)
        for kind in (EventKind.TICKET_CALLED, EventKind.TICKET_SERVED):
            offline.append(
                new_event(
                    kind,
                    site=SITE,
                    device="board-1",
                    hlc=board.now(),
                    wall_time=e.wall_time,
                    ticket=e.data["ticket"],
                    counter=counter,
                )
            )
    return [e.to_dict() for e in issued], [e.to_dict() for e in offline]


def one_run(database_url: str, workdir: Path, batch: int) -> tuple[float, float]:
    issued, offline = scenario()
    with running_server(database_url, [SITE], workdir, max_body_bytes=16_000_000) as (
        url,
        tokens,
        _pid,
    ):
        conn = http.client.HTTPConnection("127.0.0.1", int(url.rsplit(":", 1)[1]), timeout=120)
        kiosk, board = tokens[SITE]["kiosk-1"], tokens[SITE]["board-1"]
        for i in range(0, len(issued), 500):
            request(
                conn,
                "POST",
                "/api/v1/sync",
                kiosk,
                {"device": "kiosk-1", "events": issued[i : i + 500]},
            )
        queue = f"/api/v1/sites/{SITE}/queue"
        assert len(request(conn, "GET", queue, board)["waiting"]) == TICKETS  # folded once
        t0 = time.perf_counter()
        for i in range(0, len(offline), batch):
            body = {"device": "board-1", "events": offline[i : i + batch], "limit": 1}
            request(conn, "POST", "/api/v1/sync", board, body)
        t1 = time.perf_counter()
        snapshot = request(conn, "GET", queue, board)
        t2 = time.perf_counter()
        assert snapshot["waiting"] == [] and snapshot["conflicts"] == [], "not reconciled"
    return t1 - t0, t2 - t1


def bench(label: str, postgres: bool, workdir: Path, runs: int) -> None:
    for batch in (10_000, 500):
        store, fold = [], []
        for r in range(runs):
            run_dir = workdir / f"{label}-{batch}-{r}"
            run_dir.mkdir(parents=True)
            if postgres:
                with postgres_database() as pg:
                    assert pg is not None
                    s, f = one_run(pg, run_dir, batch)
            else:
                s, f = one_run(f"sqlite:///{run_dir}/bench.db", run_dir, batch)
            store.append(s)
            fold.append(f)
        total = sorted(s + f for s, f in zip(store, fold, strict=True))
        print(
            f"{label:<11} {10_000 // batch:>2} x {batch:>5} events:  store median "
            f"{statistics.median(store):5.2f} s, fold median {statistics.median(fold):5.2f} s, "
            f"total median {statistics.median(total):5.2f} s, p99 {total[-1]:5.2f} s"
        )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--sqlite-only", action="store_true")
    args = p.parse_args()
    print(f"bench_reconcile: 10,000 offline events after {TICKETS} tickets, {args.runs} runs")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bench("SQLite", False, work, args.runs)
        if not args.sqlite_only:
            with postgres_database() as probe:
                reachable = probe is not None
            if reachable:
                bench("PostgreSQL", True, work, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
