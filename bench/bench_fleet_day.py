"""A fleet day: sites of 5 devices on PostgreSQL with two server workers, every device holding
the site's push stream, first at rest, then at work, with recalls, transfers, a few sites cut
from the server for a while and a few kiosks with wrong clocks.

Each site has 2 kiosks and 3 boards (6 counters, 20 people waiting at the start). As the
devices do (``tickets.sync``): every device opens the site's event stream and syncs once when
it opens, then only when it has something to upload (a kiosk's ticket, with a lease request
when its block runs low) and every ``--safety`` seconds (+-20 %) as a safety net (the first
one at a random point of the interval, as in a fleet that has run for a while). The
server's streams send a keep-alive every ``--keepalive`` seconds. At
rest nobody comes; at work each site gets a ticket every ``--ticket-every`` seconds (from one
of its kiosks, alternately) and an agent presses NEXT at one of its counters every
``--call-every`` seconds; after a NEXT that called a ticket, the agent recalls it one time in
ten and transfers it to the other service one time in ten.

Outages: ``--outage-sites`` sites lose the server for ``--outage`` seconds in the middle of the
work phase (no sync, no stream, no agent; their kiosks go on issuing from their leases and
upload the tickets when the server is back). Bad clocks: the kiosks of ``--bad-clock-sites``
sites run 2 h ahead, 15 min behind, 90 s ahead and 1 day behind (in turn); they send their
reading as ``device_time`` and follow the server's stamps as devices do.

Each agent (one per site) has a connection of its own, as a counter's console or button box
does; the devices' syncs share ``POOL`` keep-alive connections per client process (a proxy's
upstream pool). The clients run on uvloop, ``--clients`` processes sharing the sites.

Measured: syncs/s and the server's CPU (every process of it) at rest and at work, with the
machine's load average at the start and end of each phase; at work the p50/p99 of a kiosk's
upload of a ticket ("issue": the sync carrying it; uploads after an outage apart), of NEXT,
RECALL and TRANSFER, each **on the wire**: from when the request goes to the server (its
connection taken) to its whole answer, and of call -> board (from the NEXT's sending to the
TicketCalled read on the stream of the site's first board, both timed by the client). Apart,
what the load generator adds: the wait for a connection before sending, and its event loop's
lag (how late a 50 ms timer fires), which every figure above includes. Every press's outcome
is counted: answered (what it did), refused (HTTP status and error code), timed out
(``--press-timeout``) or failed on its connection; presses in flight when the work phase
ends are waited for, then the streams get 5 s more for the last calls. Then the database is
checked: numbers issued twice, tickets called twice (a transfer puts a ticket back in a
queue: called again then is not a double call), and FIFO inversions (a ticket called while an
older one of the same service waited; a transferred ticket waits in its new service with its
issue time).

    .venv/bin/python bench/bench_fleet_day.py [--sites 200] [--rest 30] [--work 60]
        [--safety 300] [--ticket-every 20] [--call-every 20] [--warmup 30] [--clients 2]
        [--outage-sites 2] [--outage 20] [--bad-clock-sites 4] [--press-timeout 30]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
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
    Reply,
    Server,
    check,
    kiosk_ticket,
    load_fleet,
    machine_busy,
    pct,
    postgres_cpu_since,
    postgres_cpus,
    raise_open_files,
    sse,
    start_clients,
)
from bench_sync import postgres_database  # noqa: E402

from tickets.hlc import HybridClock, Timestamp  # noqa: E402

POOL = 48


BAD_CLOCKS = (7200.0, -900.0, 90.0, -86400.0)
"""Seconds the kiosks of the bad-clock sites run ahead (positive) or behind, in turn."""


class Day:
    """One client process's share of the fleet."""

    def __init__(self, url: str, tokens: dict[str, dict[str, str]], args: Any) -> None:
        host, port = re.match(r"http://([^:]+):(\d+)", url).groups()  # type: ignore[union-attr]
        self.host, self.port = host, int(port)
        self.tokens = tokens
        self.args = args
        self.http = Http(self.host, self.port, POOL)
        self.syncs: dict[str, int] = {"warmup": 0, "rest": 0, "work": 0}
        self.issue: list[float] = []
        """A kiosk's upload of a ticket at work, on the wire (uploads after an outage apart)."""
        self.issue_wait: list[float] = []
        """The same uploads' wait for one of the client's pooled connections."""
        self.late = 0
        """Tickets uploaded after an outage (not in ``issue``: they waited by design)."""
        self.took: dict[str, list[float]] = {"next": [], "recall": [], "transfer": []}
        """Each answered press's time on the wire, by action."""
        self.waits: list[float] = []
        """Each press's wait inside the client before it went on the wire."""
        self.outcomes: dict[str, Counter[str]] = {a: Counter() for a in self.took}
        """Every press, by action and outcome: answered (what it did), refused (HTTP status
        and error code), timed out, or failed on the connection."""
        self.pressed: dict[str, tuple[float, float]] = {}
        """TicketCalled id -> when its press was asked for and sent (monotonic)."""
        self.arrived: dict[str, float] = {}
        """TicketCalled id -> when the first board's stream brought it (monotonic)."""
        self.sync_errors: Counter[str] = Counter()
        self.stream_errors: Counter[str] = Counter()
        self.lag: list[float] = []
        """This client's event loop: how late a 50 ms timer fired, every 50 ms, at work."""
        self.wakes: dict[tuple[str, str], asyncio.Event] = {}
        """Each device's sync, woken when its stream (re)opens."""

    def phase(self) -> str:
        now = time.monotonic()
        if now < self.args.rest_at:
            return "warmup"
        if now < self.args.work_at:
            return "rest"
        return "work" if now < self.args.end_at else "done"

    def down(self, site: str) -> bool:
        """Whether ``site`` is cut from the server now."""
        return site in self.args.outages and self.args.outage_at <= time.monotonic() < (
            self.args.outage_end
        )

    def next_change(self, site: str) -> float:
        """When ``site``'s link next goes down or comes back (inf: never)."""
        if site not in self.args.outages:
            return float("inf")
        now = time.monotonic()
        for at in (self.args.outage_at, self.args.outage_end):
            if now < at:
                return at
        return float("inf")

    async def sync(self, token: str, body: dict[str, Any]) -> Reply | None:
        try:
            reply = await self.http.send("POST", "/api/v1/sync", token, body)
        except (OSError, asyncio.IncompleteReadError) as exc:
            self.sync_errors[type(exc).__name__] += 1
            return None
        if reply.status != 200:
            self.sync_errors[f"{reply.status} {error_code(reply.data)}"] += 1
            return None
        phase = self.phase()
        if phase in self.syncs:
            self.syncs[phase] += 1
        return reply

    async def device(self, site: str, device: str) -> None:
        token = self.tokens[site][device]
        wake = self.wakes[(site, device)] = asyncio.Event()
        kiosk = device in KIOSKS
        skew = self.args.bad_clocks.get(site, 0.0) if kiosk else 0.0
        clock = HybridClock(device, wall=lambda: time.time() + skew)
        cursor, version = 0, ""
        pool: list[int] = []
        outbox: list[dict[str, Any]] = []
        held_back = False
        """Whether the outbox holds a ticket made while the server was out of reach."""
        gap = self.args.ticket_every * len(KIOSKS)  # the site's kiosks take turns
        next_ticket = self.args.work_at + random.uniform(0, gap) if kiosk else float("inf")
        first_safety: float | None = time.monotonic() + self.args.safety * random.uniform(0, 1)
        """When the first safety sync falls: anywhere in the interval (a fleet that has run for
        a while has its devices' safety syncs spread evenly), then every interval +-20 %."""
        while self.phase() != "done":
            if not self.down(site):
                day = datetime.now(TZ).date().isoformat()
                body: dict[str, Any] = {
                    "device": device,
                    "cursor": cursor,
                    "config_version": version,
                    "device_time": time.time() + skew,
                }
                if kiosk and len(pool) < 10:
                    body["lease_requests"] = [{"service": "civil", "day": day}]
                if outbox:
                    body["events"] = outbox
                wake.clear()
                reply = await self.sync(token, body)
                if reply is not None:
                    data = reply.data
                    if held_back:
                        self.late += len(outbox)
                    elif outbox and self.phase() == "work":
                        self.issue.append(reply.took)
                        self.issue_wait.append(reply.waited)
                    outbox, held_back = [], False
                    cursor, version = data["cursor"], data["config_version"]
                    clock.receive(Timestamp.decode(data["server_hlc"]), trusted=True)
                    for lease in data["leases"]:
                        pool.extend(range(lease["start"], lease["end"] + 1))
            # The safety sync, unless something comes first: a ticket, the stream reopening,
            # the link going down or coming back.
            safe_at = first_safety
            if safe_at is None:
                safe_at = time.monotonic() + self.args.safety * random.uniform(0.8, 1.2)
            until = min(safe_at, next_ticket, self.args.end_at, self.next_change(site))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), max(0.0, until - time.monotonic()))
            if time.monotonic() >= safe_at:
                first_safety = None
            if time.monotonic() >= next_ticket:
                next_ticket += gap * random.uniform(0.9, 1.1)
                if self.phase() == "work" and pool:
                    day = datetime.now(TZ).date().isoformat()
                    wall = time.time() + skew
                    outbox.append(kiosk_ticket(site, device, clock, pool.pop(0), day, wall))
                    held_back = held_back or self.down(site)

    async def stream(self, site: str, device: str) -> None:
        token = self.tokens[site][device]
        path = f"/api/v1/sites/{site}/stream"
        first = device == BOARDS[0]

        cursor: int | None = None
        """The last event read: a stream cut by an outage resumes after it, as devices do."""
        cut = site in self.args.outages

        async def read(messages: Any) -> None:
            nonlocal cursor
            async for kind, data in messages:
                if first and kind == "TicketCalled":
                    self.arrived.setdefault(json.loads(data)["id"], time.monotonic())
                if cut and kind != "config":
                    cursor = json.loads(data)["seq"]

        # Until cancelled: the streams stay open after the work phase until the last presses
        # are answered and their calls have had time to come.
        while True:
            if self.down(site):
                await asyncio.sleep(max(0.0, self.next_change(site) - time.monotonic()))
                continue
            try:
                resume = "" if cursor is None else f"?cursor={cursor}"
                _worker, messages = await sse(self.host, self.port, path + resume, token)
                wake = self.wakes.get((site, device))
                if wake is not None:
                    wake.set()  # the stream (re)opened: sync now
                reader = asyncio.create_task(read(messages))
                until = self.next_change(site)
                timeout = None if until == float("inf") else until - time.monotonic()
                done, _ = await asyncio.wait({reader}, timeout=timeout)
                if done:
                    reader.result()
                else:  # the link going down: the stream is cut
                    reader.cancel()
                    await asyncio.gather(reader, return_exceptions=True)
            except (OSError, asyncio.IncompleteReadError, RuntimeError, ValueError) as exc:
                self.stream_errors[type(exc).__name__] += 1
                await asyncio.sleep(1.0)

    async def press(self, http: Http, token: str, action: str, path: str, body: Any = None) -> Any:
        """One press, its outcome counted whatever it is; its answer if it was answered."""
        try:
            reply = await http.send("POST", path, token, body, timeout=self.args.press_timeout)
        except TimeoutError:
            self.outcomes[action]["timed out"] += 1
            return None
        except (OSError, asyncio.IncompleteReadError) as exc:
            self.outcomes[action][f"connection: {type(exc).__name__}"] += 1
            return None
        self.waits.append(reply.waited)
        if reply.status != 200:
            self.outcomes[action][f"refused: {reply.status} {error_code(reply.data)}"] += 1
            return None
        self.took[action].append(reply.took)
        ticket = reply.data.get("ticket")
        if action == "next":
            self.outcomes[action]["answered: called" if ticket else "answered: nobody waiting"] += 1
            for e in reply.data["events"]:
                if e["kind"] == "TicketCalled":
                    self.pressed[e["id"]] = (reply.asked, reply.sent)
        else:
            done = any(e["kind"] != "CounterOpened" for e in reply.data["events"])
            self.outcomes[action][
                "answered" if done else "answered: no current ticket (nothing made)"
            ] += 1
        return reply.data

    async def agent(self, site: str) -> None:
        """One agent per site, with a connection of its own (a counter's console or button box
        holds its own; the presses never wait behind the devices' syncs or other sites)."""
        token = self.tokens[site]["board-3"]
        http = Http(self.host, self.port, 1)
        await asyncio.sleep(max(0.0, self.args.work_at - time.monotonic()))
        await asyncio.sleep(random.uniform(0, self.args.call_every))
        while self.phase() == "work":
            if self.down(site):  # the counters' consoles cannot reach the server either
                await asyncio.sleep(max(0.0, self.next_change(site) - time.monotonic()))
                continue
            counter = random.randint(1, COUNTERS)
            base = f"/api/v1/sites/{site}/counters/{counter}"
            data = await self.press(http, token, "next", f"{base}/next")
            if data is not None and data.get("ticket"):
                luck = random.random()
                if luck < 0.1:
                    await self.press(http, token, "recall", f"{base}/recall")
                elif luck < 0.2:
                    other = "passports" if data["ticket"]["service"] == "civil" else "civil"
                    await self.press(
                        http, token, "transfer", f"{base}/transfer", {"service": other}
                    )
            pause = self.args.call_every * random.uniform(0.9, 1.1)
            await asyncio.sleep(min(pause, max(0.0, self.args.end_at - time.monotonic())))

    async def ticker(self) -> None:
        """How late this client's event loop runs (its own queue, not the server's)."""
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.05)
            if self.phase() == "work":
                self.lag.append(time.monotonic() - before - 0.05)


def error_code(data: Any) -> str:
    return str(data.get("code", "?")) if isinstance(data, dict) else "?"


async def run_client(url: str, tokens: dict[str, dict[str, str]], args: Any, out: Any) -> None:
    day = Day(url, tokens, args)
    devices, agents = [], []
    for site in tokens:
        for d in (*KIOSKS, *BOARDS):
            devices.append(asyncio.create_task(day.device(site, d)))
            devices.append(asyncio.create_task(day.stream(site, d)))
        agents.append(asyncio.create_task(day.agent(site)))
    devices.append(asyncio.create_task(day.ticker()))
    cpu0 = time.process_time()
    await asyncio.sleep(max(0.0, args.end_at - time.monotonic()))
    cpu = time.process_time() - cpu0
    # Every press gets its outcome: the agents finish the press they are in (each press is
    # bounded by --press-timeout), then the boards' streams get a little more time to bring
    # the last calls.
    await asyncio.gather(*agents, return_exceptions=True)
    grace = time.monotonic() + 5.0
    while any(i not in day.arrived for i in day.pressed) and time.monotonic() < grace:
        await asyncio.sleep(0.1)
    for t in devices:
        t.cancel()
    await asyncio.gather(*devices, return_exceptions=True)
    board = [day.arrived[i] - sent for i, (_asked, sent) in day.pressed.items() if i in day.arrived]
    board_asked = [
        day.arrived[i] - asked for i, (asked, _sent) in day.pressed.items() if i in day.arrived
    ]
    out.put(
        {
            "syncs": day.syncs,
            "issue": day.issue,
            "issue_wait": day.issue_wait,
            "late": day.late,
            "took": day.took,
            "waits": day.waits,
            "outcomes": {a: dict(c) for a, c in day.outcomes.items()},
            "board": board,
            "board_asked": board_asked,
            "lost": sum(1 for i in day.pressed if i not in day.arrived),
            "sync_errors": dict(day.sync_errors),
            "stream_errors": dict(day.stream_errors),
            "lag": day.lag,
            "cpu": cpu,
        }
    )


def client_main(url: str, tokens: dict[str, dict[str, str]], args: Any, out: Any) -> None:
    with contextlib.suppress(ImportError):  # uvloop comes with uvicorn[standard]
        import uvloop

        uvloop.install()
    raise_open_files()
    asyncio.run(run_client(url, tokens, args, out))


def day_check(database_url: str) -> dict[str, int]:
    """Tickets called twice (called again without a transfer back to a queue in between) and
    FIFO inversions (a ticket called while an older ticket of the same service, by issue
    clock, was waiting), replaying every site's log in sequence order; transfers counted."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT site, kind, hlc, data->>'ticket', data->>'service' FROM events "
            "WHERE kind IN ('TicketIssued', 'TicketCalled', 'TicketTransferred') "
            "ORDER BY site, seq"
        ).fetchall()
    out = {"inversions": 0, "double_calls": 0, "transfers": 0}
    waiting: dict[tuple[str, str], dict[str, str]] = {}
    """(site, service) -> waiting ticket -> its issue clock."""
    issued: dict[tuple[str, str], str] = {}
    where: dict[tuple[str, str], str] = {}
    """(site, ticket) -> the service whose queue holds it (absent: not waiting)."""
    for site, kind, hlc, ticket, service in rows:
        key = (site, ticket)
        if kind == "TicketIssued":
            issued[key] = hlc
            waiting.setdefault((site, service), {})[ticket] = hlc
            where[key] = service
        elif kind == "TicketTransferred":
            out["transfers"] += 1
            before = where.pop(key, None)
            if before is not None:
                waiting[(site, before)].pop(ticket, None)
            waiting.setdefault((site, service), {})[ticket] = issued.get(key) or hlc
            where[key] = service
        else:
            queue = where.pop(key, None)
            if queue is None:
                out["double_calls"] += 1
                continue
            line = waiting[(site, queue)]
            mine = line.pop(ticket)
            if line and min(line.values()) < mine:
                out["inversions"] += 1
    return out


def measure(database_url: str, tokens: dict[str, dict[str, str]], args: Any) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="fleet-day-") as tmp,
        Server(
            database_url,
            args.workers,
            Path(tmp),
            f"stream_keepalive_seconds = {args.keepalive}\n",
        ) as server,
    ):
        args.rest_at = time.monotonic() + args.warmup
        args.work_at = args.rest_at + args.rest
        args.end_at = args.work_at + args.work
        args.outage_at = args.work_at + (args.work - args.outage) / 2
        args.outage_end = args.outage_at + args.outage
        queue: Any = multiprocessing.Queue()
        procs = start_clients(client_main, server.url, tokens, args, queue)
        figures = {}
        for name, until in (("rest", args.work_at), ("work", args.end_at)):
            time.sleep(
                max(0.0, (args.rest_at if name == "rest" else args.work_at) - time.monotonic())
            )
            cpu0, pg0, busy0, load0 = server.cpu(), postgres_cpus(), machine_busy(), loadavg()
            t0 = time.monotonic()
            time.sleep(max(0.0, until - time.monotonic()))
            span = time.monotonic() - t0
            busy1 = machine_busy()
            figures[name] = {
                "server": (server.cpu() - cpu0) / span,
                "pg": postgres_cpu_since(pg0) / span,
                "machine": (busy1[0] - busy0[0])
                / max(1, busy1[1] - busy0[1])
                * (os.cpu_count() or 1),
                "span": span,
                "load": f"{load0} -> {loadavg()}",
            }
        parts = [queue.get(timeout=args.press_timeout + 180) for _ in procs]
        for p in procs:
            p.join(timeout=60)
    found = check(database_url)
    replay = day_check(database_url)
    report(tokens, args, figures, parts, found, replay)


def loadavg() -> str:
    """The machine's load average (1, 5 and 15 min), as ``uptime`` prints it."""
    return ", ".join(Path("/proc/loadavg").read_text().split()[:3])


def report(
    tokens: dict[str, Any],
    args: Any,
    figures: dict[str, dict[str, Any]],
    parts: list[dict[str, Any]],
    found: dict[str, int],
    replay: dict[str, int],
) -> None:
    devices = len(tokens) * 5

    def joined(key: str, sub: str | None = None) -> list[float]:
        return [x for p in parts for x in (p[key] if sub is None else p[key][sub])]

    def ms(values: list[float]) -> str:
        return f"{len(values):6d}  p50 {pct(values, 0.5):8.1f} ms  p99 {pct(values, 0.99):8.1f} ms"

    print(
        f"\n== {len(tokens)} sites, {devices} devices (every one holding the push stream), "
        f"{args.workers} workers on PostgreSQL; safety sync every {args.safety:g} s; at work a "
        f"ticket per site every {args.ticket_every:g} s and a NEXT every {args.call_every:g} s; "
        f"{len(args.outages)} sites cut for {args.outage:g} s, {len(args.bad_clocks)} sites' "
        f"kiosks with wrong clocks; {args.clients} client processes"
    )
    for name in ("rest", "work"):
        f = figures[name]
        syncs = sum(p["syncs"][name] for p in parts)
        print(
            f"{name:<5} {f['span']:5.0f} s: {syncs / f['span']:7.1f} syncs/s; CPU (cores): server "
            f"{f['server']:.3f} ({f['server'] * 3600 / devices * 1000:.1f} ms per device-hour), "
            f"PostgreSQL {f['pg']:.3f}, whole machine {f['machine']:.2f} of {os.cpu_count()}; "
            f"load average {f['load']}"
        )
    print("at work, on the wire (from the request's sending to its whole answer):")
    print(f"  issue (upload)  {ms(joined('issue'))}")
    for action in ("next", "recall", "transfer"):
        print(f"  {action:<15} {ms(joined('took', action))}")
    print(f"  call -> board   {ms(joined('board'))}  (from the NEXT's sending)")
    print("inside the load generator:")
    print(f"  upload's wait for a pooled connection {ms(joined('issue_wait'))}")
    print(f"  press's wait for its agent's connection {ms(joined('waits'))}")
    print(f"  call -> board from the press asked for {ms(joined('board_asked'))}")
    print(f"  event loop lag (50 ms timer) {ms(joined('lag'))}")
    print(
        f"  client CPU {sum(p['cpu'] for p in parts) / (args.end_at - args.rest_at):.2f} cores "
        f"(rest and work)"
    )
    print("every press's outcome:")
    for action in ("next", "recall", "transfer"):
        total: Counter[str] = Counter()
        for p in parts:
            total.update(p["outcomes"][action])
        detail = "; ".join(f"{k} {v}" for k, v in sorted(total.items())) or "none"
        print(f"  {action:<9} {sum(total.values()):6d}: {detail}")
    sync_errors: Counter[str] = Counter()
    stream_errors: Counter[str] = Counter()
    for p in parts:
        sync_errors.update(p["sync_errors"])
        stream_errors.update(p["stream_errors"])
    print(
        f"tickets uploaded after an outage {sum(p['late'] for p in parts)}; calls never seen "
        f"on the first board's stream {sum(p['lost'] for p in parts)}; syncs failed "
        f"{dict(sync_errors) or 0}; streams failed (reopened) {dict(stream_errors) or 0}"
    )
    print(
        f"database: {found['issued']} tickets issued, {found['called']} calls; numbers issued "
        f"twice {found['duplicates']}, tickets called twice {replay['double_calls']} (without a "
        f"transfer between; {replay['transfers']} transfers), FIFO inversions "
        f"{replay['inversions']}"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sites", type=int, default=200)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--safety", type=float, default=300.0, help="safety sync (seconds)")
    p.add_argument("--ticket-every", type=float, default=20.0, help="seconds, per site")
    p.add_argument("--call-every", type=float, default=20.0, help="seconds, per site")
    p.add_argument("--warmup", type=float, default=30.0)
    p.add_argument("--rest", type=float, default=30.0)
    p.add_argument("--work", type=float, default=60.0)
    p.add_argument("--clients", type=int, default=2, help="client processes")
    p.add_argument("--outage-sites", type=int, default=2, help="sites cut from the server")
    p.add_argument("--outage", type=float, default=20.0, help="seconds, mid-work")
    p.add_argument("--keepalive", type=float, default=30.0, help="streams' (seconds)")
    p.add_argument("--bad-clock-sites", type=int, default=4, help="sites whose kiosks are off")
    p.add_argument(
        "--press-timeout", type=float, default=30.0, help="an agent's press gives up (seconds)"
    )
    args = p.parse_args()
    names = [f"site-{i:04d}" for i in range(args.sites)]
    # Spread over the fleet (so over both client processes), never the same sites.
    args.outages = set(
        names[1 :: max(1, args.sites // max(1, args.outage_sites))][: args.outage_sites]
    )
    others = [n for n in names[2::3] if n not in args.outages]
    step = max(1, len(others) // max(1, args.bad_clock_sites))
    chosen = others[::step][: args.bad_clock_sites]
    args.bad_clocks = {site: BAD_CLOCKS[i % len(BAD_CLOCKS)] for i, site in enumerate(chosen)}
    raise_open_files()
    print(f"load average at the start: {loadavg()}", flush=True)
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
