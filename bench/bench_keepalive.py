"""What devices holding their push stream cost the server at rest: its CPU per keep-alive.

``guichet server`` (one worker, PostgreSQL) with ``--sites`` sites of 5 devices, every device
holding its site's event stream (one client process, asyncio, raw sockets), nothing else: no
sync, no event. The server's streams send a keep-alive every ``--keepalive`` seconds (short,
so that keep-alives are most of what the server does). Measured over ``--seconds`` once every
stream is open: the server process's CPU, the keep-alives the clients read, and so the CPU per
keep-alive (holding the streams, the notifier's poll of the sites every 5 s and the presence
marks every 60 s included) and what that makes per device-hour at the default 30 s.

    .venv/bin/python bench/bench_keepalive.py [--sites 200] [--keepalive 1] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_fleet import Server, load_fleet  # noqa: E402
from bench_sync import postgres_database  # noqa: E402

FRAME = b": keep-alive\n\n"


async def hold(host: str, port: int, site: str, token: str, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"GET /api/v1/sites/{site}/stream HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    counts[1] += 1
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            return
        counts[0] += chunk.count(FRAME)


def client(url: str, tokens: dict[str, dict[str, str]], seconds: float, out: Any) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80

    async def main() -> None:
        counts = [0, 0]  # keep-alives read, streams opened
        tasks = [
            asyncio.ensure_future(hold(host, port, site, token, counts))
            for site, devices in tokens.items()
            for token in devices.values()
        ]
        while counts[1] < len(tasks):
            await asyncio.sleep(0.1)
        await asyncio.sleep(3.0)  # every stream's first answer
        out.put(("open", time.monotonic()))
        start = counts[0]
        await asyncio.sleep(seconds)
        out.put(("done", counts[0] - start))
        for t in tasks:
            t.cancel()

    asyncio.run(main())


def measure(database_url: str, args: Any) -> None:
    tokens = load_fleet(database_url, args.sites)
    with (
        tempfile.TemporaryDirectory(prefix="keepalive-") as tmp,
        Server(
            database_url, 1, Path(tmp), f"stream_keepalive_seconds = {args.keepalive}\n"
        ) as server,
    ):
        out: Any = multiprocessing.Queue()
        proc = multiprocessing.Process(target=client, args=(server.url, tokens, args.seconds, out))
        proc.start()
        out.get(timeout=600)  # every stream open
        cpu0, t0 = server.cpu(), time.monotonic()
        _, keepalives = out.get(timeout=args.seconds + 120)
        cpu, span = server.cpu() - cpu0, time.monotonic() - t0
        proc.join(timeout=30)
    devices = sum(len(d) for d in tokens.values())
    per = cpu / max(1, keepalives)
    print(
        f"{devices} streams, keep-alive every {args.keepalive:g} s, {span:.0f} s: "
        f"{keepalives} keep-alives ({keepalives / span:.0f}/s), server CPU {cpu / span:.3f} "
        f"cores, {per * 1e6:.0f} us per keep-alive; at 30 s: {per * 120 * 1000:.1f} ms per "
        f"device-hour"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sites", type=int, default=200)
    p.add_argument("--keepalive", type=float, default=1.0)
    p.add_argument("--seconds", type=float, default=20.0)
    args = p.parse_args()
    with postgres_database() as pg:
        if pg is None:
            return 1
        measure(pg, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
