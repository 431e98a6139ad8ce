"""Where the CPU of one site's ticket issue and NEXT goes: the server's actions
(``server.actions.issue_ticket`` and ``counter_action``) run in-process under cProfile, on
PostgreSQL (SQLite with ``--sqlite``).

No HTTP: what is measured is the action itself, the part that runs on a request thread, with
the site's lock held for its decision. Prints the CPU per action (the calling thread's,
``time.thread_time``: waits for the database are not in it, nor PostgreSQL's own work), its
share by layer and the functions that cost most.

    .venv/bin/python bench/profile_site_actions.py [--actions 1000] [--sqlite] [--top 20]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_next import SITE  # noqa: E402
from bench_sync import site_toml  # noqa: E402
from profile_sync_write import layer_times, on_database  # noqa: E402

from config.server import ServerSettings  # noqa: E402
from config.site import SiteConfig  # noqa: E402
from server.actions import counter_action, issue_ticket  # noqa: E402
from server.auth import Principal  # noqa: E402
from server.run import ServerThread  # noqa: E402
from tickets.press import CounterAction  # noqa: E402


def measure(name: str, n: int, act: Callable[[int], Any], top: int) -> None:
    for i in range(20):  # warm-up: caches, prepared statements
        act(i)
    started = time.thread_time()
    for i in range(n):
        act(i)
    bare = (time.thread_time() - started) / n
    prof = cProfile.Profile(time.thread_time)
    prof.enable()
    for i in range(n):
        act(i)
    prof.disable()
    stats = pstats.Stats(prof)
    by_layer, total = layer_times(stats)
    print(f"\n{name}: {bare * 1000:.2f} ms of CPU each ({total / n * 1000:.2f} under the profiler)")
    for label, t in sorted(by_layer.items(), key=lambda kv: -kv[1]):
        print(f"  {label:<26} {t / total * 100:5.1f} %")
    stats.sort_stats("cumulative").print_stats(top)


def profile(database_url: str, actions: int, top: int) -> None:
    with ServerThread(ServerSettings(database_url=database_url)) as server:
        cfg = SiteConfig.model_validate(tomllib.loads(site_toml(SITE)))
        server.load_site(cfg)
        ctx = server.ctx
        kiosk = Principal("device", "kiosk-1", "kiosk", (SITE,))
        board = Principal("device", "board-1", "display", (SITE,))
        counters = [c.id for c in cfg.counters]
        measure(
            "issue", actions, lambda _i: issue_ticket(ctx, kiosk, SITE, "civil", None, None), top
        )
        measure(
            "next",
            actions,
            lambda i: counter_action(
                ctx, board, SITE, counters[i % len(counters)], CounterAction.NEXT
            ),
            top,
        )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--actions", type=int, default=1000)
    p.add_argument("--sqlite", action="store_true")
    p.add_argument("--top", type=int, default=20)
    args = p.parse_args()
    return on_database(args.sqlite, lambda url: profile(url, args.actions, args.top))


if __name__ == "__main__":
    sys.exit(main())
