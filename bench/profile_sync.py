"""The CPU one sync costs the server, by kind of sync: in-process, no HTTP, timed with the
calling thread's CPU clock (waits for the database are not in it, nor the database's own
work), so the figure holds whatever else the machine is running.

Kinds (a board of the bench's site unless said):

- ``idle``: nothing to upload, nothing new (the device's cursor is the site's last seq), its
  ``last_seen`` fresh: the safety sync of a device holding its push stream;
- ``idle-seen``: the same, its ``last_seen`` older than 30 s, so the sync refreshes it;
- ``download``: two events new since the cursor (a call: served and called), nothing to upload;
- ``upload``: a kiosk uploading one ticket, a lease request every tenth, health every fifth
  (as ``bench/profile_sync_write.py``);
- ``idle-memory`` (PostgreSQL): the ``idle`` sync answered from memory (``server.quiet``) on
  the server's event loop, one at a time (each waits for a notification barrier of its own:
  the most it costs), and ``--concurrent`` at a time (sharing barriers). Its CPU is the whole
  process's (the barrier's threads), so the other kinds' profile is not given for it.

For each kind: CPU per sync without and under cProfile, statements sent to the database and
connections taken from the pool per sync, the profile's share by layer and its top functions.
The body is parsed into a ``SyncRequest`` and the answer encoded as JSON, as the server does.

    .venv/bin/python bench/profile_sync.py [--kinds idle,idle-seen,download,upload]
        [--syncs 2000] [--sqlite] [--top 12]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import sys
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_next import SITE, kiosk_ticket  # noqa: E402
from bench_sync import site_toml  # noqa: E402
from profile_sync_write import bodies, layer_times, on_database  # noqa: E402
from sqlalchemy import event  # noqa: E402

from config.server import ServerSettings  # noqa: E402
from config.site import SiteConfig  # noqa: E402
from server.context import ServerContext  # noqa: E402
from server.models import SyncRequest  # noqa: E402
from server.run import ServerThread  # noqa: E402
from server.sync import run_sync  # noqa: E402
from tickets.hlc import HybridClock  # noqa: E402

KINDS = ("idle", "idle-seen", "download", "upload", "idle-memory")


class Counts:
    """Statements and pool checkouts seen on the engine while ``on``."""

    on = False

    def __init__(self, ctx: ServerContext) -> None:
        self.statements = 0
        self.checkouts = 0
        event.listen(ctx.engine, "before_cursor_execute", self._statement)
        event.listen(ctx.engine.pool, "checkout", self._checkout)

    def _statement(self, *_args: Any) -> None:
        self.statements += self.on

    def _checkout(self, *_args: Any) -> None:
        self.checkouts += self.on


class Device:
    """One device's syncs through ``run_sync``, its cursor kept."""

    def __init__(self, ctx: ServerContext, name: str, token: str) -> None:
        self.ctx = ctx
        self.name = name
        self.auth = f"Bearer {token}"
        self.cursor = 0
        self.version = ""

    def sync(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        body = dict(body or {})
        body.update(device=self.name, cursor=self.cursor, config_version=self.version)
        raw = json.dumps(body).encode()
        answer = run_sync(self.ctx, self.auth, SyncRequest.model_validate(json.loads(raw)))
        json.dumps(answer)  # what the response costs to encode
        self.cursor = answer["cursor"]
        self.version = answer["config_version"]
        while answer["more"]:
            answer = self.sync()
        return answer


def kiosk_uploads(n: int) -> Iterator[dict[str, Any]]:
    """Bodies of a kiosk uploading two tickets each (what a board then downloads)."""
    clock = HybridClock("kiosk-1")
    for i in range(n):
        yield {
            "events": [
                kiosk_ticket(clock, 5000 + 2 * i + j, "civil", uuid.uuid4().hex).to_dict()
                for j in range(2)
            ]
        }


Step = Callable[[], object]


def measure(
    kind: str, ctx: ServerContext, board: Device, kiosk: Device, syncs: int
) -> tuple[Step, Step | None]:
    """(the timed sync, what runs untimed before each) for ``kind``."""
    if kind == "idle":
        return board.sync, None
    if kind == "idle-seen":
        real = ctx.wall
        shift = [0.0]

        def later() -> None:
            shift[0] += 31.0  # last_seen is then always older than 30 s
            ctx.wall = lambda: real() + shift[0]

        return board.sync, later
    if kind == "download":
        uploads = kiosk_uploads(syncs)
        return board.sync, lambda: kiosk.sync(next(uploads))
    work = iter(bodies(syncs))
    return lambda: kiosk.sync(next(work)), None


def run(timed: Step, before: Step | None, n: int, prof: cProfile.Profile | None = None) -> float:
    """CPU of ``n`` timed syncs (seconds; ``before`` each, untimed)."""
    spent = 0.0
    for _ in range(n):
        if before is not None:
            before()
        Counts.on = True
        started = time.thread_time()
        if prof is not None:
            prof.enable()
        timed()
        if prof is not None:
            prof.disable()
        spent += time.thread_time() - started
        Counts.on = False
    return spent


def from_memory(ctx: ServerContext, board: Device, syncs: int, concurrent: int) -> None:
    """CPU of the process per idle sync answered from memory, one then ``concurrent`` at a
    time."""
    quiet, loop = ctx.quiet, ctx.notifier._loop  # type: ignore[attr-defined]
    assert quiet is not None and loop is not None, "PostgreSQL only"
    req = SyncRequest.model_validate(
        {"device": board.name, "cursor": board.cursor, "config_version": board.version}
    )

    def hlc() -> str:
        return ctx.clock.now().encode()

    async def one() -> None:
        out = await quiet.answer(board.auth, req, ctx.now(), hlc)
        assert out is not None, "not answered from memory"

    async def many(n: int, at_once: int) -> None:
        for _ in range(n // at_once):
            await asyncio.gather(*(one() for _ in range(at_once)))

    for at_once in (1, concurrent):
        asyncio.run_coroutine_threadsafe(many(100, at_once), loop).result()  # warm-up
        started, wall = time.process_time(), time.monotonic()
        asyncio.run_coroutine_threadsafe(many(syncs, at_once), loop).result()
        cpu, wall = time.process_time() - started, time.monotonic() - wall
        print(
            f"\n== idle-memory, {at_once} at a time: {cpu / syncs * 1000:.3f} ms of CPU per sync "
            f"(the process's; {wall / syncs * 1000:.2f} ms of wall time each)"
        )


def profile(
    database_url: str, kinds: list[str], syncs: int, top: int, concurrent: int = 50
) -> None:
    with ServerThread(ServerSettings(database_url=database_url)) as server:
        cfg = SiteConfig.model_validate(tomllib.loads(site_toml(SITE)))
        tokens = server.load_site(cfg)
        ctx = server.ctx
        counts = Counts(ctx)
        for kind in kinds:
            wall = ctx.wall
            board = Device(ctx, "board-1", tokens["board-1"])
            kiosk = Device(ctx, "kiosk-1", tokens["kiosk-1"])
            kiosk.sync()
            board.sync()
            if kind == "idle-memory":
                from_memory(ctx, board, syncs, concurrent)
                continue
            timed, before = measure(kind, ctx, board, kiosk, 2 * syncs + 100)
            run(timed, before, 100)  # warm-up: caches, prepared statements
            statements, checkouts = counts.statements, counts.checkouts
            bare = run(timed, before, syncs)
            per_statements = (counts.statements - statements) / syncs
            per_checkouts = (counts.checkouts - checkouts) / syncs
            prof = cProfile.Profile(time.thread_time)
            profiled = run(timed, before, syncs, prof)
            ctx.wall = wall
            report(kind, syncs, bare, profiled, per_statements, per_checkouts, prof, top)


def report(
    kind: str,
    syncs: int,
    bare: float,
    profiled: float,
    statements: float,
    checkouts: float,
    prof: cProfile.Profile,
    top: int,
) -> None:
    stats = pstats.Stats(prof)
    by_layer, total = layer_times(stats)
    print(
        f"\n== {kind}: {bare / syncs * 1000:.3f} ms of CPU per sync "
        f"({profiled / syncs * 1000:.3f} ms under the profiler), "
        f"{statements:.2f} statements, {checkouts:.2f} connections per sync"
    )
    shares = ", ".join(
        f"{name} {t / total * 100:.0f} %"
        for name, t in sorted(by_layer.items(), key=lambda kv: -kv[1])
    )
    print(f"   {shares}")
    stats.sort_stats("tottime").print_stats(top)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kinds", default=",".join(KINDS))
    p.add_argument("--syncs", type=int, default=2000)
    p.add_argument("--sqlite", action="store_true")
    p.add_argument("--top", type=int, default=12)
    p.add_argument("--concurrent", type=int, default=50, help="idle-memory syncs at a time")
    args = p.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = set(kinds) - set(KINDS)
    if unknown:
        p.error(f"unknown kinds: {', '.join(sorted(unknown))}")
    return on_database(
        args.sqlite, lambda url: profile(url, kinds, args.syncs, args.top, args.concurrent)
    )


if __name__ == "__main__":
    sys.exit(main())
