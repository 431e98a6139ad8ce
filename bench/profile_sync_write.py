"""Where the CPU of a sync that uploads goes: the server's sync (``server.sync.run_sync``) run
in-process under cProfile, on PostgreSQL (SQLite with ``--sqlite``).

A kiosk uploads one TicketIssued per sync (numbered from its lease, with a follow token, its
device clock), asks for a new lease every tenth sync and sends its health every fifth, as
kiosks do. No HTTP: what is measured is the sync itself (parsing the body into a
``SyncRequest`` included), the part that runs on the server's sync threads. Prints the CPU per
sync, its share by layer (SQLAlchemy, the database driver, pydantic, Guichet's own code) and
the functions that cost most. The CPU is the calling thread's (``time.thread_time``): waits
for the database are not in it, and PostgreSQL's own work is not either.

    .venv/bin/python bench/profile_sync_write.py [--syncs 2000] [--sqlite] [--top 25]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_next import SITE, kiosk_ticket  # noqa: E402
from bench_sync import postgres_database, site_toml  # noqa: E402

from config.server import ServerSettings  # noqa: E402
from config.site import SiteConfig  # noqa: E402
from server.models import SyncRequest  # noqa: E402
from server.run import ServerThread  # noqa: E402
from server.sync import run_sync  # noqa: E402
from tickets.hlc import HybridClock  # noqa: E402

LAYERS = (
    ("sqlalchemy", "SQLAlchemy"),
    ("psycopg", "driver (psycopg)"),
    ("sqlite3", "driver (sqlite3)"),
    ("pydantic", "pydantic"),
    ("/server/", "Guichet server"),
    ("/tickets/", "Guichet tickets"),
    ("json", "json"),
)


def layer(filename: str) -> str:
    for needle, name in LAYERS:
        if needle in filename:
            return name
    return "other (stdlib, builtins)"


def layer_times(stats: pstats.Stats) -> tuple[dict[str, float], float]:
    """A profile's own time by layer (seconds), and in all."""
    by_layer: dict[str, float] = defaultdict(float)
    total = 0.0
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        by_layer[layer(filename)] += tottime
        total += tottime
    return by_layer, total


def bodies(n: int) -> list[dict[str, Any]]:
    clock = HybridClock("kiosk-1")
    day = time.strftime("%Y-%m-%d")
    out = []
    for i in range(n):
        e = kiosk_ticket(clock, 5000 + i, "civil", uuid.uuid4().hex)
        body: dict[str, Any] = {
            "device": "kiosk-1",
            "cursor": 0,
            "events": [e.to_dict()],
            "device_time": time.time(),
        }
        if i % 10 == 0:
            body["lease_requests"] = [{"service": "civil", "day": day}]
        if i % 5 == 0:
            body["health"] = {"role": "kiosk", "printer": "ok", "journal_backlog": 1}
        out.append(body)
    return out


def profile(database_url: str, syncs: int, top: int) -> None:
    with ServerThread(ServerSettings(database_url=database_url)) as server:
        cfg = SiteConfig.model_validate(__import__("tomllib").loads(site_toml(SITE)))
        token = server.load_site(cfg)["kiosk-1"]
        auth = f"Bearer {token}"
        ctx = server.ctx
        cursor = 0
        for body in bodies(50):  # warm-up: caches, prepared statements
            body["cursor"] = cursor
            cursor = run_sync(ctx, auth, SyncRequest.model_validate(body))["cursor"]
        plain = bodies(syncs)
        started = time.thread_time()
        for body in plain:
            body["cursor"] = cursor
            cursor = run_sync(ctx, auth, SyncRequest.model_validate(body))["cursor"]
        bare = time.thread_time() - started
        work = bodies(syncs)
        prof = cProfile.Profile(time.thread_time)  # CPU of this thread, not waits
        started = time.thread_time()
        prof.enable()
        for body in work:
            body["cursor"] = cursor
            cursor = run_sync(ctx, auth, SyncRequest.model_validate(body))["cursor"]
        prof.disable()
        cpu = time.thread_time() - started
    stats = pstats.Stats(prof)
    if os.environ.get("PROFILE_DUMP"):
        stats.dump_stats(os.environ["PROFILE_DUMP"])
    by_layer, total = layer_times(stats)
    print(
        f"{syncs} syncs: {bare / syncs * 1000:.2f} ms of CPU each "
        f"({cpu / syncs * 1000:.2f} ms under the profiler)"
    )
    for name, t in sorted(by_layer.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<26} {t / total * 100:5.1f} %")
    stats.sort_stats("tottime").print_stats(top)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--syncs", type=int, default=2000)
    p.add_argument("--sqlite", action="store_true")
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args()
    return on_database(args.sqlite, lambda url: profile(url, args.syncs, args.top))


def on_database(sqlite: bool, run: Callable[[str], None]) -> int:
    """Runs ``run`` on a fresh database (a throw-away PostgreSQL one, or SQLite); exit code."""
    with tempfile.TemporaryDirectory() as tmp:
        if sqlite:
            run(f"sqlite:///{tmp}/bench.db")
            return 0
        with postgres_database() as pg:
            if pg is None:
                return 1
            run(pg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
