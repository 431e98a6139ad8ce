"""Sync requests per second the central server answers, with 50 devices syncing at once.

The server runs as in production (``guichet server`` in its own process, uvicorn, one worker),
on SQLite and on PostgreSQL. 10 sites with 5 devices each (2 kiosks, 3 boards) sync back to
back over keep-alive connections, from 2 client processes; every 5th sync of a kiosk uploads a
new ticket, the others only ask what is new. Prints requests/s, the median and p99 latency,
and the CPU time the server process and the clients spend per sync (all share the machine's
cores: when the clients take most of it, requests/s measures them more than the server).

    .venv/bin/python bench/bench_sync.py [--seconds 10] [--devices 50] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tickets.events import EventKind, new_event  # noqa: E402
from tickets.hlc import HybridClock  # noqa: E402

PG_ADMIN = os.environ.get("GUICHET_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
DEVICES_PER_SITE = ("kiosk-1", "kiosk-2", "board-1", "board-2", "board-3")


def site_toml(site: str, counters: int = 16) -> str:
    days = ", ".join(
        f'{d} = ["00:00-24:00"]' for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    )
    out = [
        f'[site]\nid = "{site}"\nname = "Bench {site}"\nlease_block = 20\n',
    ]
    for sid, prefix in (("civil", "A"), ("passports", "B")):
        out.append(
            f'[[services]]\nid = "{sid}"\nprefix = "{prefix}"\nnames = {{ fr = "{sid}" }}\n'
            f"hours = {{ {days} }}\n"
        )
    for c in range(1, counters + 1):
        out.append(
            f'[[counters]]\nid = "{c}"\nlabel = "Guichet {c}"\nservices = ["civil", "passports"]\n'
        )
    out.append('[[devices]]\nid = "kiosk-1"\nrole = "kiosk"\noffline_range = [5000, 9999]\n')
    out.append('[[devices]]\nid = "kiosk-2"\nrole = "kiosk"\noffline_range = [10000, 14999]\n')
    for b in (1, 2, 3):
        out.append(f'[[devices]]\nid = "board-{b}"\nrole = "display"\n')
    return "\n".join(out)


def free_port() -> int:
    """A free port below Linux's ephemeral range (32768-60999), so that servers started on
    port 0 meanwhile (tests running at the same time) cannot take it before ours binds it."""
    for _ in range(200):
        port = random.randint(20000, 29999)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 29999")


@contextlib.contextmanager
def postgres_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database (dropped afterwards), or None when none answers."""
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except Exception as exc:
        print(f"PostgreSQL skipped: {exc}")
        yield None
        return
    name = f"guichet_bench_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def running_server(
    database_url: str, sites: list[str], workdir: Path, **settings: Any
) -> Iterator[tuple[str, dict[str, dict[str, str]], int]]:
    """``guichet server`` in a child process; yields (base URL, tokens by site and device,
    its process id)."""
    port = free_port()
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items())
    config = workdir / "server.toml"
    config.write_text(
        f'role = "server"\ndatabase_url = "{database_url}"\nport = {port}\n'
        f'log_level = "WARNING"\n{extra}',
        encoding="utf-8",
    )
    tokens: dict[str, dict[str, str]] = {}
    for site in sites:
        site_file = workdir / f"{site}.toml"
        site_file.write_text(site_toml(site), encoding="utf-8")
        token_file = workdir / f"{site}-tokens.toml"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "guichet",
                "site",
                "load",
                str(site_file),
                "--config",
                str(config),
                "--token-file",
                str(token_file),
            ],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        tokens[site] = tomllib.loads(token_file.read_text())["tokens"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "guichet", "server", "--config", str(config)], cwd=ROOT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)
        yield url, tokens, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=20)


class Device:
    def __init__(self, port: int, site: str, device: str, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.site, self.device = site, device
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.clock = HybridClock(device)
        self.cursor = 0
        self.version = ""
        self.count = 0
        self.number = 5000 if device == "kiosk-1" else 10000

    def body(self) -> dict[str, Any]:
        events = []
        self.count += 1
        if self.device.startswith("kiosk") and self.count % 5 == 0:
            self.number += 1
            day = time.strftime("%Y-%m-%d")
            e = new_event(
                EventKind.TICKET_ISSUED,
                site=self.site,
                device=self.device,
                hlc=self.clock.now(),
                wall_time=time.time(),
                ticket=str(uuid.uuid4()),
                service="civil",
                number=self.number,
                day=day,
                token=uuid.uuid4().hex,
            )
            events.append(e.to_dict())
        return {
            "device": self.device,
            "cursor": self.cursor,
            "events": events,
            "config_version": self.version,
        }

    def sync(self) -> None:
        self.conn.request("POST", "/api/v1/sync", json.dumps(self.body()), self.headers)
        response = self.conn.getresponse()
        data = json.loads(response.read())
        if response.status != 200:
            raise RuntimeError(f"{self.device}: {response.status} {data}")
        self.cursor = data["cursor"]
        self.version = data["config_version"]


def client(
    port: int, devices: list[tuple[str, str, str]], warmup: float, seconds: float, out: Any
) -> None:
    """One client process: a thread per device, syncing back to back."""
    import threading

    latencies: list[float] = []
    syncs = [0]
    lock = threading.Lock()
    start = time.monotonic()
    stop_at = start + warmup + seconds

    def run(site: str, device: str, token: str) -> None:
        d = Device(port, site, device, token)
        mine = []
        while (now := time.monotonic()) < stop_at:
            d.sync()
            if now >= start + warmup:
                mine.append(time.monotonic() - now)
        with lock:
            latencies.extend(mine)
            syncs[0] += d.count

    threads = [threading.Thread(target=run, args=dev) for dev in devices]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put((latencies, time.process_time(), syncs[0]))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    url: str,
    tokens: dict[str, dict[str, str]],
    n_devices: int,
    seconds: float,
    processes: int = 2,
    server_pid: int | None = None,
) -> dict[str, float]:
    port = int(url.rsplit(":", 1)[1])
    devices = [(site, dev, tok[dev]) for site, tok in tokens.items() for dev in DEVICES_PER_SITE]
    devices = devices[:n_devices]
    queue: Any = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(
            target=client, args=(port, devices[i::processes], 2.0, seconds, queue)
        )
        for i in range(processes)
    ]
    for p in procs:
        p.start()
    time.sleep(2.0)  # the clients' warm-up
    cpu0 = cpu_seconds(server_pid) if server_pid else 0.0
    time.sleep(seconds)
    cpu1 = cpu_seconds(server_pid) if server_pid else 0.0
    latencies: list[float] = []
    client_cpu = client_syncs = 0.0
    for _ in procs:
        mine, cpu, count = queue.get()
        latencies.extend(mine)
        client_cpu += cpu
        client_syncs += count
    for p in procs:
        p.join()
    latencies.sort()
    return {
        "requests": len(latencies),
        "per_second": len(latencies) / seconds,
        "median_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "server_cpu_ms": (cpu1 - cpu0) * 1000 / max(1, len(latencies)),
        "client_cpu_ms": client_cpu * 1000 / max(1, client_syncs),
    }


def report(label: str, r: dict[str, float]) -> None:
    print(
        f"{label:<11} {r['requests']:>7.0f} syncs  {r['per_second']:>7.0f} /s  "
        f"median {r['median_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  "
        f"server CPU {r['server_cpu_ms']:.2f} ms/sync  client CPU {r['client_cpu_ms']:.2f} ms/sync"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--devices", type=int, default=50)
    p.add_argument("--sqlite-only", action="store_true")
    args = p.parse_args()
    sites = [f"bench-{i}" for i in range((args.devices + 4) // 5)]
    print(f"bench_sync: {args.devices} devices on {len(sites)} sites, {args.seconds:.0f} s each")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with running_server(f"sqlite:///{work}/bench.db", sites, work) as (url, tokens, pid):
            report("SQLite", measure(url, tokens, args.devices, args.seconds, server_pid=pid))
        if not args.sqlite_only:
            with postgres_database() as pg:
                if pg is not None:
                    pg_dir = work / "pg"
                    pg_dir.mkdir()
                    with running_server(pg, sites, pg_dir) as (url, tokens, pid):
                        result = measure(url, tokens, args.devices, args.seconds, server_pid=pid)
                        report("PostgreSQL", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
