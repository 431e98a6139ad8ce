"""A fleet told, not polling: sites of 5 devices on PostgreSQL with two server workers, every
device holding the site's push stream, first at rest, then at work.

Each site has 2 kiosks and 3 boards (6 counters, 20 people waiting at the start). As the
devices do (``tickets.sync``): every device opens the site's event stream and syncs once when
it opens, then only when it has something to upload (a kiosk's ticket, with a lease request
when its block runs low) and every ``--safety`` seconds (+-10 %) as a safety net. At rest
nobody comes; at work each site gets a ticket every ``--ticket-every`` seconds (from one of
its kiosks, alternately) and an agent presses NEXT at one of its counters every
``--call-every`` seconds.

Measured: syncs/s and the server's CPU (every process of it) at rest and at work, the p50/p99
of a kiosk's upload of a ticket ("issue": the sync carrying it), of NEXT, and of call -> board
(from the agent's press to the TicketCalled read on the stream of the site's first board,
both timed by the client). Then the database is checked: numbers issued twice, tickets called
twice, and FIFO inversions (a ticket called while an older one of the same service waited).

    .venv/bin/python bench/bench_fleet_day.py [--sites 200] [--rest 30] [--work 60]
        [--safety 60] [--ticket-every 20] [--call-every 20] [--warmup 30] [--clients 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import re
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_fleet import (  # noqa: E402
    BOARDS,
    COUNTERS,
    KIOSKS,
    TZ,
    Http,
    Server,
    check,
    kiosk_ticket,
    load_fleet,
    machine_busy,
    pct,
    postgres_cpu,
    raise_open_files,
    sse,
    start_clients,
)
from bench_sync import postgres_database  # noqa: E402

from tickets.hlc import HybridClock  # noqa: E402

POOL = 48


class Day:
    """One client process's share of the fleet."""

    def __init__(self, url: str, tokens: dict[str, dict[str, str]], args: Any) -> None:
        host, port = re.match(r"http://([^:]+):(\d+)", url).groups()  # type: ignore[union-attr]
        self.host, self.port = host, int(port)
        self.tokens = tokens
        self.args = args
        self.http = Http(self.host, self.port, POOL)
        self.agents = Http(self.host, self.port, 16)
        self.syncs: dict[str, int] = {"warmup": 0, "rest": 0, "work": 0}
        self.issue: list[float] = []
        self.next: list[float] = []
        self.pressed: dict[str, float] = {}
        """TicketCalled id -> when its press began (monotonic)."""
        self.arrived: dict[str, float] = {}
        """TicketCalled id -> when the first board's stream brought it (monotonic)."""
        self.errors = 0
        self.wakes: dict[tuple[str, str], asyncio.Event] = {}
        """Each device's sync, woken when its stream (re)opens."""

    def phase(self) -> str:
        now = time.monotonic()
        if now < self.args.rest_at:
            return "warmup"
        if now < self.args.work_at:
            return "rest"
        return "work" if now < self.args.end_at else "done"

    async def sync(self, token: str, body: dict[str, Any]) -> dict[str, Any] | None:
        try:
            status, _h, data = await self.http.request("POST", "/api/v1/sync", token, body)
        except (OSError, asyncio.IncompleteReadError):
            status, data = 0, None
        if status != 200:
            self.errors += 1
            return None
        phase = self.phase()
        if phase in self.syncs:
            self.syncs[phase] += 1
        return data

    async def device(self, site: str, device: str) -> None:
        token = self.tokens[site][device]
        wake = self.wakes[(site, device)] = asyncio.Event()
        clock = HybridClock(device)
        cursor, version = 0, ""
        pool: list[int] = []
        outbox: list[dict[str, Any]] = []
        kiosk = device in KIOSKS
        gap = self.args.ticket_every * len(KIOSKS)  # the site's kiosks take turns
        next_ticket = self.args.work_at + random.uniform(0, gap) if kiosk else float("inf")
        while self.phase() != "done":
            day = datetime.now(TZ).date().isoformat()
            body: dict[str, Any] = {"device": device, "cursor": cursor, "config_version": version}
            if kiosk and len(pool) < 10:
                body["lease_requests"] = [{"service": "civil", "day": day}]
            if outbox:
                body["events"] = outbox
            wake.clear()
            started = time.monotonic()
            data = await self.sync(token, body)
            if data is not None:
                if outbox and self.phase() == "work":
                    self.issue.append(time.monotonic() - started)
                outbox = []
                cursor, version = data["cursor"], data["config_version"]
                for lease in data["leases"]:
                    pool.extend(range(lease["start"], lease["end"] + 1))
            # The safety sync, unless something comes first: a ticket, the stream reopening.
            until = min(
                time.monotonic() + self.args.safety * random.uniform(0.9, 1.1),
                next_ticket,
                self.args.end_at,
            )
            try:
                await asyncio.wait_for(wake.wait(), max(0.0, until - time.monotonic()))
            except TimeoutError:
                if time.monotonic() >= next_ticket:
                    next_ticket += gap * random.uniform(0.9, 1.1)
                    if self.phase() == "work" and pool:
                        outbox = [kiosk_ticket(site, device, clock, pool.pop(0), day)]

    async def stream(self, site: str, device: str) -> None:
        token = self.tokens[site][device]
        path = f"/api/v1/sites/{site}/stream"
        first = device == BOARDS[0]
        while self.phase() != "done":
            try:
                _worker, messages = await sse(self.host, self.port, path, token)
                wake = self.wakes.get((site, device))
                if wake is not None:
                    wake.set()  # the stream (re)opened: sync now
                async for kind, data in messages:
                    if first and kind == "TicketCalled":
                        self.arrived.setdefault(json.loads(data)["id"], time.monotonic())
            except (OSError, asyncio.IncompleteReadError, RuntimeError, ValueError):
                self.errors += 1
                await asyncio.sleep(1.0)

    async def agent(self, site: str) -> None:
        token = self.tokens[site]["board-3"]
        await asyncio.sleep(max(0.0, self.args.work_at - time.monotonic()))
        await asyncio.sleep(random.uniform(0, self.args.call_every))
        while self.phase() == "work":
            path = f"/api/v1/sites/{site}/counters/{random.randint(1, COUNTERS)}/next"
            started = time.monotonic()
            try:
                status, _h, data = await self.agents.request("POST", path, token)
            except (OSError, asyncio.IncompleteReadError):
                status = 0
            if status != 200:
                self.errors += 1
            else:
                self.next.append(time.monotonic() - started)
                for e in data["events"]:
                    if e["kind"] == "TicketCalled":
                        self.pressed[e["id"]] = started
            await asyncio.sleep(self.args.call_every * random.uniform(0.9, 1.1))


async def run_client(url: str, tokens: dict[str, dict[str, str]], args: Any, out: Any) -> None:
    day = Day(url, tokens, args)
    tasks = []
    for site in tokens:
        for d in (*KIOSKS, *BOARDS):
            tasks.append(asyncio.create_task(day.device(site, d)))
            tasks.append(asyncio.create_task(day.stream(site, d)))
        tasks.append(asyncio.create_task(day.agent(site)))
    cpu0 = time.process_time()
    await asyncio.sleep(max(0.0, args.end_at - time.monotonic()))
    cpu = time.process_time() - cpu0
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    board = [day.arrived[i] - t for i, t in day.pressed.items() if i in day.arrived]
    out.put(
        {
            "syncs": day.syncs,
            "issue": day.issue,
            "next": day.next,
            "board": board,
            "lost": sum(1 for i in day.pressed if i not in day.arrived),
            "errors": day.errors,
            "cpu": cpu,
        }
    )


def client_main(url: str, tokens: dict[str, dict[str, str]], args: Any, out: Any) -> None:
    raise_open_files()
    asyncio.run(run_client(url, tokens, args, out))


def fifo_inversions(database_url: str) -> int:
    """Calls of a ticket while an older ticket of the same service (by issue clock), issued
    before the call was stored, was still waiting: counted per site and service."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT site, seq, kind, hlc, data->>'ticket', data->>'service' FROM events "
            "WHERE kind IN ('TicketIssued', 'TicketCalled') ORDER BY site, seq"
        ).fetchall()
    inversions = 0
    waiting: dict[tuple[str, str], dict[str, str]] = {}
    service_of: dict[tuple[str, str], str] = {}
    for site, _seq, kind, hlc, ticket, service in rows:
        if kind == "TicketIssued":
            waiting.setdefault((site, service), {})[ticket] = hlc
            service_of[(site, ticket)] = service
            continue
        queue = waiting.get((site, service_of.get((site, ticket), "")), {})
        issued = queue.pop(ticket, None)
        if issued is not None and queue and min(queue.values()) < issued:
            inversions += 1
    return inversions


def measure(database_url: str, tokens: dict[str, dict[str, str]], args: Any) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="fleet-day-") as tmp,
        Server(database_url, args.workers, Path(tmp)) as server,
    ):
        args.rest_at = time.monotonic() + args.warmup
        args.work_at = args.rest_at + args.rest
        args.end_at = args.work_at + args.work
        queue: Any = multiprocessing.Queue()
        procs = start_clients(client_main, server.url, tokens, args, queue)
        figures = {}
        for name, until in (("rest", args.work_at), ("work", args.end_at)):
            time.sleep(
                max(0.0, (args.rest_at if name == "rest" else args.work_at) - time.monotonic())
            )
            cpu0, pg0, busy0 = server.cpu(), postgres_cpu(), machine_busy()
            t0 = time.monotonic()
            time.sleep(max(0.0, until - time.monotonic()))
            span = time.monotonic() - t0
            busy1 = machine_busy()
            figures[name] = {
                "server": (server.cpu() - cpu0) / span,
                "pg": (postgres_cpu() - pg0) / span,
                "machine": (busy1[0] - busy0[0])
                / max(1, busy1[1] - busy0[1])
                * (os.cpu_count() or 1),
                "span": span,
            }
        parts = [queue.get(timeout=180) for _ in procs]
        for p in procs:
            p.join(timeout=60)
    found = check(database_url)
    inversions = fifo_inversions(database_url)
    devices = len(tokens) * 5
    print(
        f"\n== {len(tokens)} sites, {devices} devices (every one holding the push stream), "
        f"{args.workers} workers on PostgreSQL; safety sync every {args.safety:g} s; at work a "
        f"ticket per site every {args.ticket_every:g} s and a NEXT every {args.call_every:g} s"
    )
    for name in ("rest", "work"):
        f = figures[name]
        syncs = sum(p["syncs"][name] for p in parts)
        print(
            f"{name:<5} {f['span']:5.0f} s: {syncs / f['span']:7.1f} syncs/s; CPU (cores): server "
            f"{f['server']:.3f} ({f['server'] * 3600 / devices * 1000:.1f} ms per device-hour), "
            f"PostgreSQL {f['pg']:.3f}, whole machine {f['machine']:.2f} of {os.cpu_count()}"
        )
    for label, key in (("issue (upload)", "issue"), ("next", "next"), ("call -> board", "board")):
        values = [x for p in parts for x in p[key]]
        print(
            f"{label:<15} {len(values):6d}  p50 {pct(values, 0.5):7.1f} ms  "
            f"p99 {pct(values, 0.99):7.1f} ms"
        )
    print(
        f"calls never seen on the first board's stream: {sum(p['lost'] for p in parts)}; "
        f"client errors {sum(p['errors'] for p in parts)}; client CPU "
        f"{sum(p['cpu'] for p in parts) / (args.end_at - args.rest_at):.2f} cores"
    )
    print(
        f"database: {found['issued']} tickets issued, {found['called']} calls; numbers issued "
        f"twice {found['duplicates']}, tickets called twice {found['double_calls']}, "
        f"FIFO inversions {inversions}"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sites", type=int, default=200)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--safety", type=float, default=60.0, help="safety sync (seconds)")
    p.add_argument("--ticket-every", type=float, default=20.0, help="seconds, per site")
    p.add_argument("--call-every", type=float, default=20.0, help="seconds, per site")
    p.add_argument("--warmup", type=float, default=30.0)
    p.add_argument("--rest", type=float, default=30.0)
    p.add_argument("--work", type=float, default=60.0)
    p.add_argument("--clients", type=int, default=2, help="client processes")
    args = p.parse_args()
    raise_open_files()
    with postgres_database() as pg:
        if pg is None:
            return 1
        started = time.monotonic()
        tokens = load_fleet(pg, args.sites)
        print(f"{args.sites} sites loaded in {time.monotonic() - started:.1f} s", flush=True)
        measure(pg, tokens, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
