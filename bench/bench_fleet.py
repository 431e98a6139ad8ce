"""A département's fleet against one machine: 1,000 sites of 5 devices on PostgreSQL, served by
1 and then 2 server processes (``guichet server --workers N``, as in production).

Each site has 2 kiosks and 3 boards, 6 counters, and starts with 20 people waiting. Every device
syncs in a loop (sync, then wait ``--interval`` seconds +-10 %, as the sync client does), with
its cursor, its health every 30 s (the server also refreshes its last-seen time every 30 s).
Kiosks upload a ticket every ``2 x --call-every`` seconds, numbered from the leases they ask
for; an agent presses NEXT at one of the site's counters every ``--call-every`` seconds
(through the third board's token). Boards 1 and 2 of each site hold the site's event stream:
2,000 streams at 1,000 sites.

Measured over ``--seconds`` after ``--warmup``: syncs/s with median and p99 latency (client
side, including the wait for one of the client's 48 keep-alive connections, as behind a
proxy's upstream pool), NEXT/s and latency (agents have connections of their own), and the
push delay: from the call's ``received_at`` (the server's clock when it began the action,
before its commit: the figure includes the call's own transaction) to the TicketCalled
arriving on a stream, split by whether the stream is held by
the process that stored the call or by the OTHER one (``X-Guichet-Worker``). Then the database
is checked: numbers issued twice and tickets called twice, over the whole run (both must be 0).
Clients, server and PostgreSQL share the machine's cores; the CPU they used is printed.

    .venv/bin/python bench/bench_fleet.py [--sites 1000] [--workers 1 2] [--interval 8]
        [--call-every 30] [--seconds 30] [--warmup 60] [--clients 2] [--timeline]
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
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_sync import cpu_seconds, postgres_database  # noqa: E402

from tickets.events import EventKind, new_event  # noqa: E402
from tickets.hlc import HybridClock  # noqa: E402

TZ = ZoneInfo("Europe/Paris")
COUNTERS = 6
KIOSKS = ("kiosk-1", "kiosk-2")
BOARDS = ("board-1", "board-2", "board-3")
STREAMING = ("board-1", "board-2")
POOL_PER_CLIENT = 48
AGENT_POOL_PER_CLIENT = 16
HEALTH_EVERY_SECONDS = 30.0
WAITING_AT_START = 20


def site_dict(site: str) -> dict[str, Any]:
    hours = {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    return {
        "site": {
            "id": site,
            "name": f"Mairie {site}",
            "timezone": "Europe/Paris",
            "lease_block": 20,
        },
        "services": [
            {"id": "civil", "prefix": "A", "names": {"fr": "État civil"}, "hours": hours},
            {"id": "passports", "prefix": "B", "names": {"fr": "Passeports"}, "hours": hours},
        ],
        "counters": [
            {"id": str(c), "label": f"Guichet {c}", "services": ["civil", "passports"]}
            for c in range(1, COUNTERS + 1)
        ],
        "devices": [
            {"id": "kiosk-1", "role": "kiosk", "offline_range": [900, 949]},
            {"id": "kiosk-2", "role": "kiosk", "offline_range": [950, 999]},
            *({"id": b, "role": "display"} for b in BOARDS),
        ],
    }


def load_fleet(database_url: str, sites: int) -> dict[str, dict[str, str]]:
    """Creates the sites (in this process, as ``guichet site load`` would); their tokens."""
    from config.site import SiteConfig
    from server import db, migrations, store
    from server.db import create_db_engine
    from server.sites import load_site

    engine = create_db_engine(database_url)
    migrations.migrate(engine)
    tokens = {}
    day = datetime.now(TZ).date().isoformat()
    for i in range(sites):
        site = f"site-{i:04d}"
        tokens[site] = load_site(engine, SiteConfig.model_validate(site_dict(site)))
        # A busy morning: people already waiting, numbered from kiosk-2's own range (leases
        # never grant those numbers).
        clock = HybridClock("kiosk-2")
        waiting = [
            new_event(
                EventKind.TICKET_ISSUED,
                site=site,
                device="kiosk-2",
                hlc=clock.now(),
                wall_time=time.time(),
                ticket=str(uuid.uuid4()),
                service="civil" if n % 3 else "passports",
                number=950 + n,
                day=day,
            )
            for n in range(WAITING_AT_START)
        ]
        with db.write(engine) as conn:
            db.lock_site(conn, site)
            store.append(conn, site, 0, waiting, time.time())
    engine.dispose()
    return tokens


# ---- a small HTTP/1.1 client on asyncio (the load must cost the machine little) ------------
@dataclass
class Reply:
    """One request's answer and its times (``time.monotonic()``)."""

    status: int
    headers: dict[str, str]
    data: Any
    asked: float
    """When the caller asked (before waiting for one of the pool's connections)."""
    sent: float
    """When the request went to the server (the connection taken: its connect, if new, and
    its write); ``sent - asked`` is time spent waiting inside the load generator."""
    answered: float
    """When the whole answer had been read."""

    @property
    def waited(self) -> float:
        return self.sent - self.asked

    @property
    def took(self) -> float:
        """The server's time for it, seen from the wire (and the client's event loop)."""
        return self.answered - self.sent


class Http:
    """Keep-alive connections to one address, shared by many coroutines."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host, self.port = host, port
        self.free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = (
            asyncio.Queue()
        )
        for _ in range(size):
            self.free.put_nowait(None)

    async def request(
        self, method: str, path: str, token: str, body: Any = None
    ) -> tuple[int, dict[str, str], Any]:
        r = await self.send(method, path, token, body)
        return r.status, r.headers, r.data

    async def send(
        self,
        method: str,
        path: str,
        token: str,
        body: Any = None,
        timeout: float | None = None,
    ) -> Reply:
        """One request on one of the pool's connections; ``timeout`` (seconds, from when it
        is sent) raises ``TimeoutError`` and drops the connection (its answer, if any, would
        come to the next request otherwise)."""
        asked = time.monotonic()
        payload = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        ).encode()
        conn = await self.free.get()
        sent = time.monotonic()
        for attempt in (1, 2):
            reused = conn is not None
            try:
                async with asyncio.timeout(
                    None if timeout is None else sent + timeout - time.monotonic()
                ):
                    if conn is None:
                        conn = await asyncio.open_connection(self.host, self.port)
                    reader, writer = conn
                    writer.write(head + payload)
                    status, headers = await read_head(reader)
                    data = await reader.readexactly(int(headers.get("content-length", "0")))
                break
            except (OSError, asyncio.IncompleteReadError):
                if conn is not None:
                    conn[1].close()
                conn = None
                if not reused or attempt == 2:  # a fresh connection failed: give up
                    self.free.put_nowait(None)
                    raise
                # A kept-alive connection the server had closed: once more on a new one.
            except BaseException:  # TimeoutError, cancelled
                if conn is not None:
                    conn[1].close()
                self.free.put_nowait(None)
                raise
        answered = time.monotonic()
        self.free.put_nowait(conn)
        return Reply(status, headers, json.loads(data) if data else None, asked, sent, answered)


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
    return status, headers


async def sse(
    host: str, port: int, path: str, token: str
) -> tuple[str, AsyncIterator[tuple[str, str]]]:
    """Opens an event stream; (the worker holding it, its (event, data) messages)."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    status, headers = await read_head(reader)
    if status != 200:
        raise RuntimeError(f"stream {path}: {status}")

    async def messages() -> AsyncIterator[tuple[str, str]]:
        buffer = b""
        try:
            while True:
                size = int((await reader.readline()).split(b";")[0], 16)
                if size == 0:
                    return
                buffer += (await reader.readexactly(size + 2))[:-2]
                while b"\n\n" in buffer:
                    block, buffer = buffer.split(b"\n\n", 1)
                    kind = data = ""
                    for line in block.decode().split("\n"):
                        if line.startswith("event: "):
                            kind = line[7:]
                        elif line.startswith("data: "):
                            data = line[6:]
                    if kind:
                        yield kind, data
        finally:
            writer.close()

    return headers.get("x-guichet-worker", "1"), messages()


# ---- the devices ----------------------------------------------------------------------------
@dataclass
class Results:
    sync: list[float] = field(default_factory=list)
    sync_at: list[float] = field(default_factory=list)
    """Wall time each measured sync was answered (for --timeline)."""
    next: list[float] = field(default_factory=list)
    calls: dict[str, str] = field(default_factory=dict)
    """TicketCalled id -> the worker that stored it."""
    pushes: list[tuple[str, str, float]] = field(default_factory=list)
    """(TicketCalled id, the worker holding the stream, seconds from received_at to arrival)."""
    errors: int = 0
    streams: int = 0
    served_by: dict[str, int] = field(default_factory=dict)
    """Requests (syncs and calls) answered by each worker."""
    streams_by: dict[str, int] = field(default_factory=dict)


def kiosk_ticket(
    site: str, device: str, clock: HybridClock, number: int, day: str, wall: float | None = None
) -> Any:
    """A kiosk's TicketIssued (civil, with a follow token), stamped now, as JSON (``wall``:
    the kiosk's wall clock when it is not the machine's)."""
    return new_event(
        EventKind.TICKET_ISSUED,
        site=site,
        device=device,
        hlc=clock.now(),
        wall_time=time.time() if wall is None else wall,
        ticket=str(uuid.uuid4()),
        service="civil",
        number=number,
        day=day,
        token=uuid.uuid4().hex,
    ).to_dict()


class Fleet:
    def __init__(
        self, url: str, tokens: dict[str, dict[str, str]], args: argparse.Namespace
    ) -> None:
        host, port = re.match(r"http://([^:]+):(\d+)", url).groups()  # type: ignore[union-attr]
        self.host, self.port = host, int(port)
        self.tokens = tokens
        self.args = args
        self.http = Http(self.host, self.port, POOL_PER_CLIENT)
        # Agents' presses come from consoles and boards of their own, not through the devices'
        # shared connections: queueing behind a backlog of syncs is not theirs to wait for.
        self.agents_http = Http(self.host, self.port, AGENT_POOL_PER_CLIENT)
        self.results = Results()
        self.measuring = False
        self.stop = False

    async def device(self, site: str, device: str) -> None:
        token = self.tokens[site][device]
        clock = HybridClock(device)
        cursor, version = 0, ""
        pool: list[int] = []
        health_at = 0.0
        next_ticket = time.monotonic() + random.uniform(0, 2 * self.args.call_every)
        await asyncio.sleep(random.uniform(0, self.args.interval))
        while not self.stop:
            now = time.monotonic()
            body: dict[str, Any] = {"device": device, "cursor": cursor, "config_version": version}
            if now - health_at >= HEALTH_EVERY_SECONDS:
                body["health"] = {"version": "bench", "backlog": 0}
                health_at = now
            if device in KIOSKS:
                day = datetime.now(TZ).date().isoformat()
                if len(pool) < 10:
                    body["lease_requests"] = [{"service": "civil", "day": day}]
                if pool and now >= next_ticket:
                    next_ticket = now + 2 * self.args.call_every
                    event = kiosk_ticket(site, device, clock, pool.pop(0), day)
                    body["events"] = [event]
            try:
                status, headers, data = await self.http.request("POST", "/api/v1/sync", token, body)
            except (OSError, asyncio.IncompleteReadError):
                status, headers, data = 0, {}, None
            took = time.monotonic() - now
            if status != 200:
                self.results.errors += 1
                await asyncio.sleep(self.args.interval)
                continue
            if self.measuring:
                self.results.sync.append(took)
                self.results.sync_at.append(time.time())
                worker = headers.get("x-guichet-worker", "1")
                self.results.served_by[worker] = self.results.served_by.get(worker, 0) + 1
            cursor, version = data["cursor"], data["config_version"]
            for lease in data["leases"]:
                pool.extend(range(lease["start"], lease["end"] + 1))
            # Devices drift apart (start times, clocks, network): +-10 %.
            await asyncio.sleep(self.args.interval * random.uniform(0.9, 1.1))

    async def agent(self, site: str) -> None:
        token = self.tokens[site]["board-3"]
        await asyncio.sleep(random.uniform(0, self.args.call_every))
        while not self.stop:
            counter = random.randint(1, COUNTERS)
            path = f"/api/v1/sites/{site}/counters/{counter}/next"
            started = time.monotonic()
            try:
                status, headers, data = await self.agents_http.request("POST", path, token)
            except (OSError, asyncio.IncompleteReadError):
                status = 0
            if status != 200:
                self.results.errors += 1
            else:
                if self.measuring:
                    self.results.next.append(time.monotonic() - started)
                worker = headers.get("x-guichet-worker", "1")
                for e in data["events"]:
                    if e["kind"] == "TicketCalled":
                        self.results.calls[e["id"]] = worker
            await asyncio.sleep(self.args.call_every * random.uniform(0.9, 1.1))

    async def board_stream(self, site: str, device: str) -> None:
        token = self.tokens[site][device]
        await asyncio.sleep(random.uniform(0, self.args.warmup / 2))
        path = f"/api/v1/sites/{site}/stream"
        while not self.stop:
            try:
                worker, messages = await sse(self.host, self.port, path, token)
                self.results.streams += 1
                self.results.streams_by[worker] = self.results.streams_by.get(worker, 0) + 1
                async for kind, data in messages:
                    if kind == "TicketCalled" and self.measuring:
                        arrived = time.time()
                        event = json.loads(data)
                        delay = arrived - event["received_at"]
                        self.results.pushes.append((event["id"], worker, delay))
            except (OSError, asyncio.IncompleteReadError, RuntimeError, ValueError):
                self.results.errors += 1
                await asyncio.sleep(2.0)


async def run_client(
    url: str, tokens: dict[str, dict[str, str]], args: argparse.Namespace, out: Any
) -> None:
    fleet = Fleet(url, tokens, args)
    tasks = []
    for site in tokens:
        tasks += [asyncio.create_task(fleet.device(site, d)) for d in (*KIOSKS, *BOARDS)]
        tasks.append(asyncio.create_task(fleet.agent(site)))
        streaming = STREAMING[: args.streams_per_site]
        tasks += [asyncio.create_task(fleet.board_stream(site, b)) for b in streaming]
    await asyncio.sleep(args.warmup)
    cpu0 = time.process_time()
    fleet.measuring = True
    await asyncio.sleep(args.seconds)
    fleet.measuring = False
    cpu = time.process_time() - cpu0
    fleet.stop = True
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    r = fleet.results
    out.put(
        {
            "sync": r.sync,
            "sync_at": r.sync_at,
            "next": r.next,
            "calls": r.calls,
            "pushes": r.pushes,
            "errors": r.errors,
            "streams": r.streams,
            "served_by": r.served_by,
            "streams_by": r.streams_by,
            "cpu": cpu,
        }
    )


def client_main(url: str, tokens: dict[str, dict[str, str]], args: Any, out: Any) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    raise_open_files()
    asyncio.run(run_client(url, tokens, args, out))


def raise_open_files() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# ---- the server -----------------------------------------------------------------------------
class Server:
    """``guichet server --workers N`` with port 0; its address from the READY=1 status."""

    def __init__(self, database_url: str, workers: int, folder: Path, extra: str = "") -> None:
        self.config = folder / "server.toml"
        self.config.write_text(
            f'role = "server"\ndatabase_url = "{database_url}"\nport = 0\n'
            f'log_level = "WARNING"\nworkers = {workers}\n{extra}',
            encoding="utf-8",
        )
        self.notify_path = str(folder / "notify")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        self.url = ""
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        env = {**os.environ, "NOTIFY_SOCKET": self.notify_path}
        cmd = [sys.executable, "-m", "guichet", "server", "--config", str(self.config)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
        self.notify.settimeout(120)
        while True:
            message = self.notify.recv(4096).decode()
            if message.startswith("READY=1"):
                self.url = re.search(r"serving (http://\S+)", message).group(1)  # type: ignore[union-attr]
                return self

    def pids(self) -> list[int]:
        assert self.proc is not None
        out = [self.proc.pid]
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            out += [int(p) for p in (task / "children").read_text().split()]
        return out

    def cpu(self) -> float:
        total = 0.0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                total += cpu_seconds(pid)
        return total

    def __exit__(self, *_: object) -> None:
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self.notify.close()


def postgres_cpus() -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL process (/proc, by command name)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    out[int(entry.name)] = cpu_seconds(int(entry.name))
            except OSError:
                continue
    return out


def postgres_cpu_since(before: dict[int, float]) -> float:
    """CPU seconds PostgreSQL used since ``before`` (``postgres_cpus()``), process by process:
    a backend that ended in between (another client's) is left out instead of taking its
    whole past from the total; one that began counts from zero."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in postgres_cpus().items())


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU time of the whole machine so far (/proc/stat, in ticks)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def check(database_url: str) -> dict[str, int]:
    """Numbers issued twice and tickets called twice, over the whole run."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        dup = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM events WHERE kind = 'TicketIssued' "
            "GROUP BY site, data->>'service', data->>'day', data->>'number' "
            "HAVING count(*) > 1) d"
        ).fetchone()
        double = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM events WHERE kind = 'TicketCalled' "
            "GROUP BY site, data->>'ticket' HAVING count(*) > 1) d"
        ).fetchone()
        totals = conn.execute(
            "SELECT count(*) FILTER (WHERE kind = 'TicketIssued'), "
            "count(*) FILTER (WHERE kind = 'TicketCalled') FROM events"
        ).fetchone()
    assert dup and double and totals
    return {
        "duplicates": dup[0],
        "double_calls": double[0],
        "issued": totals[0],
        "called": totals[1],
    }


def start_clients(
    target: Any, url: str, tokens: dict[str, dict[str, str]], args: Any, queue: Any
) -> list[Any]:
    """``args.clients`` processes running ``target(url, their sites' tokens, args, queue)``,
    the sites dealt out in turn."""
    sites = sorted(tokens)
    procs = [
        multiprocessing.Process(
            target=target,
            args=(url, {s: tokens[s] for s in sites[i :: args.clients]}, args, queue),
        )
        for i in range(args.clients)
    ]
    for p in procs:
        p.start()
    return procs


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(p * len(s)))] * 1000


def measure(database_url: str, tokens: dict[str, dict[str, str]], workers: int, args: Any) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="fleet-") as tmp,
        Server(database_url, workers, Path(tmp)) as server,
    ):
        queue: Any = multiprocessing.Queue()
        procs = start_clients(client_main, server.url, tokens, args, queue)
        time.sleep(args.warmup)
        cpu0, pg0, wall0 = server.cpu(), postgres_cpus(), time.monotonic()
        busy0, all0 = machine_busy()
        time.sleep(args.seconds)
        cpu1, pg_used, wall1 = server.cpu(), postgres_cpu_since(pg0), time.monotonic()
        busy1, all1 = machine_busy()
        parts = [queue.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=60)
    span = wall1 - wall0
    sync = [x for r in parts for x in r["sync"]]
    nxt = [x for r in parts for x in r["next"]]
    calls: dict[str, str] = {}
    for r in parts:
        calls.update(r["calls"])
    same: list[float] = []
    other: list[float] = []
    for event_id, stream_worker, delay in (x for r in parts for x in r["pushes"]):
        stored_by = calls.get(event_id)
        if stored_by is not None:
            (same if stored_by == stream_worker else other).append(delay)
    found = check(database_url)
    if args.timeline:
        timed = sorted(
            (at, took) for r in parts for at, took in zip(r["sync_at"], r["sync"], strict=True)
        )
        start = timed[0][0] if timed else 0.0
        for slot in range(int(span // 5) + 1):
            inside = [t for at, t in timed if slot * 5 <= at - start < slot * 5 + 5]
            print(
                f"  {slot * 5:3d}-{slot * 5 + 5:3d} s: {len(inside) / 5:5.0f} syncs/s "
                f"p50 {pct(inside, 0.5):7.1f} ms p99 {pct(inside, 0.99):7.1f} ms"
            )
    print(
        f"\n== {workers} worker(s), {len(tokens)} sites, {len(tokens) * 5} devices, "
        f"sync every {args.interval:g} s, a call per site every {args.call_every:g} s, "
        f"{sum(r['streams'] for r in parts)} streams opened"
    )
    print(
        f"sync      {len(sync) / span:7.0f} /s   p50 {pct(sync, 0.5):6.1f} ms   "
        f"p99 {pct(sync, 0.99):6.1f} ms"
    )
    print(
        f"next      {len(nxt) / span:7.1f} /s   p50 {pct(nxt, 0.5):6.1f} ms   "
        f"p99 {pct(nxt, 0.99):6.1f} ms"
    )
    for label, values in (("push, same process ", same), ("push, OTHER process", other)):
        print(
            f"{label}  {len(values):6d} pushes  p50 {pct(values, 0.5):6.1f} ms  "
            f"p99 {pct(values, 0.99):6.1f} ms  max {pct(values, 1.0):6.1f} ms"
        )
    client_cpu = sum(r["cpu"] for r in parts) / span
    server_cpu, pg_cpu = (cpu1 - cpu0) / span, pg_used / span
    machine = (busy1 - busy0) / max(1, all1 - all0) * (os.cpu_count() or 1)
    print(
        f"CPU (cores busy): server {server_cpu:.2f}, PostgreSQL {pg_cpu:.2f}, "
        f"clients {client_cpu:.2f}, whole machine {machine:.2f} of {os.cpu_count()}; "
        f"errors {sum(r['errors'] for r in parts)}"
    )
    served: dict[str, int] = {}
    held: dict[str, int] = {}
    for r in parts:
        for k, v in r["served_by"].items():
            served[k] = served.get(k, 0) + v
        for k, v in r["streams_by"].items():
            held[k] = held.get(k, 0) + v
    print(f"syncs answered by worker {dict(sorted(served.items()))}, streams held {held}")
    print(
        f"database: {found['issued']} tickets issued, {found['called']} calls; numbers issued "
        f"twice {found['duplicates']}, tickets called twice {found['double_calls']}"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sites", type=int, default=1000)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--interval", type=float, default=8.0, help="seconds between two syncs")
    p.add_argument("--call-every", type=float, default=30.0, help="seconds between NEXTs a site")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--warmup", type=float, default=60.0)
    p.add_argument("--clients", type=int, default=2, help="client processes")
    p.add_argument("--streams-per-site", type=int, default=2, choices=(0, 1, 2))
    p.add_argument("--timeline", action="store_true", help="sync latency every 5 s")
    args = p.parse_args()
    raise_open_files()
    for workers in args.workers:
        with postgres_database() as pg:  # a fresh database for each run
            if pg is None:
                return 1
            started = time.monotonic()
            tokens = load_fleet(pg, args.sites)
            print(f"{args.sites} sites loaded in {time.monotonic() - started:.1f} s")
            measure(pg, tokens, workers, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
