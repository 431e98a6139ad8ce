"""Convergence after an outage: 10,000 events made offline reach every device.

During an outage of the central server a kiosk issued 5,000 tickets from its offline range and
a board, which learnt them over the LAN, called and served 2,500 of them (5,000 events). A
second board saw none of it. The server comes back:

- **via the server**: the three devices' real sync workers (``tickets.sync.SyncWorker``, 500
  events a request) run at once, as three appliances would; the kiosk and the first board
  upload, the server stores and folds, everyone pulls what it lacks. Converged = every journal
  holds all 10,000 events and every outbox is empty. Phases: uploads done, then the server's
  fold (the next queue snapshot), then the last device caught up.
- **over the LAN** (the server still away): the second board pulls from the kiosk and the
  first board with ``tickets.peer.PeerSync`` (signed HTTP on loopback) until it holds them all.

The server runs as in production (``guichet server``, a child process, SQLite). The offline
journals are made once and copied for each run. Prints the median and p99 (the worst of few
runs) of each figure.

    .venv/bin/python bench/bench_converge.py [--runs 5]
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_sync import ROOT, running_server, site_toml

sys.path.insert(0, str(ROOT))

from config.site import SiteConfig
from tickets.events import EventKind
from tickets.journal import Journal
from tickets.model import Site
from tickets.peer import PeerLink, PeerSync, peer_key
from tickets.sync import SyncClient, SyncWorker

SITE = "bench-0"
TICKETS = 5000
DEVICES = ("kiosk-1", "board-1", "board-2")


def site_domain() -> Site:
    import tomllib

    return SiteConfig.model_validate(tomllib.loads(site_toml(SITE))).to_domain()


def make_offline_journals(folder: Path, site: Site) -> int:
    """The kiosk's 5,000 tickets and the first board's 5,000 calls and services, made
    offline; the second board's journal stays empty. Returns the number of events."""
    kiosk = Journal(folder / "kiosk-1.sqlite3", SITE, "kiosk-1")
    board = Journal(folder / "board-1.sqlite3", SITE, "board-1")
    Journal(folder / "board-2.sqlite3", SITE, "board-2").close()
    kiosk.state(site)  # takes the kiosk's offline range from the site
    day = kiosk.today()
    issued = [
        kiosk.issue_ticket("civil", day, priority=None, lang="fr", prefix="A")[0]
        for _ in range(TICKETS)
    ]
    board.store_remote(issued)  # learnt over the LAN
    for i, e in enumerate(issued[: TICKETS // 2]):
        counter = str(i % 16 + 1)
        board.record(EventKind.TICKET_CALLED, ticket=e.data["ticket"], counter=counter)
        board.record(EventKind.TICKET_SERVED, ticket=e.data["ticket"], counter=counter)
    total = kiosk.backlog() + board.backlog()
    kiosk.close()
    board.close()
    return total


def holds(journal: Journal, n: int) -> bool:
    return len(journal.events_after(0, n + 10)[0]) >= n and journal.backlog() == 0


def via_server(folder: Path, total: int, workdir: Path) -> dict[str, float]:
    with running_server(f"sqlite:///{workdir}/server.db", [SITE], workdir) as (url, tokens, _):
        toks = tokens[SITE]
        journals = {d: Journal(folder / f"{d}.sqlite3", SITE, d) for d in DEVICES}
        clients = {d: SyncClient(url, toks[d], d, timeout=10.0) for d in DEVICES}
        workers = {d: SyncWorker(journals[d], clients[d], interval=1.0) for d in DEVICES}
        done: dict[str, float] = {}
        t0 = time.perf_counter()

        def device(d: str) -> None:
            while True:
                workers[d].run_once()
                if d != "board-2" and f"upload {d}" not in done and journals[d].backlog() == 0:
                    done[f"upload {d}"] = time.perf_counter() - t0
                if holds(journals[d], total):
                    done[d] = time.perf_counter() - t0
                    return

        threads = [threading.Thread(target=device, args=(d,)) for d in DEVICES]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        total_s = max(done[d] for d in DEVICES)
        uploads = max(done[f"upload {d}"] for d in ("kiosk-1", "board-1"))
        conn = http.client.HTTPConnection(url.removeprefix("http://"), timeout=60)
        f0 = time.perf_counter()
        conn.request("GET", f"/api/v1/sites/{SITE}/queue", headers=clients["board-2"].headers)
        snapshot = json.loads(conn.getresponse().read())
        fold_s = time.perf_counter() - f0
        assert len(snapshot["waiting"]) == TICKETS // 2, len(snapshot["waiting"])
        for d in DEVICES:
            clients[d].session.close()
            journals[d].close()
    return {"uploads": uploads, "converged": total_s, "fold": fold_s}


def over_lan(folder: Path, total: int) -> float:
    keys = {d: peer_key(f"token-{d}") for d in DEVICES}
    journals = {d: Journal(folder / f"{d}.sqlite3", SITE, d) for d in DEVICES}
    answering = []
    for d in ("kiosk-1", "board-1"):
        p = PeerSync(journals[d], token=f"token-{d}", listen=("127.0.0.1", 0))
        p.set_keys(keys)
        p.start_server()
        answering.append(p)
    puller = PeerSync(journals["board-2"], token="token-board-2", batch=1000)
    puller.set_keys(keys)
    puller.links = [PeerLink(p.url) for p in answering]
    t0 = time.perf_counter()
    while len(journals["board-2"].events_after(0, total + 10)[0]) < total:
        puller.run_once()
    elapsed = time.perf_counter() - t0
    for p in [*answering, puller]:
        p.stop()
    for j in journals.values():
        j.close()
    return elapsed


def summary(label: str, values: list[float]) -> None:
    print(f"{label:<44} median {statistics.median(values):6.2f} s   p99 {max(values):6.2f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="guichet-converge-") as tmp:
        base = Path(tmp) / "offline"
        base.mkdir()
        t0 = time.perf_counter()
        total = make_offline_journals(base, site_domain())
        print(f"{total} offline events made in {time.perf_counter() - t0:.1f} s; {args.runs} runs")
        server: dict[str, list[float]] = {"uploads": [], "fold": [], "converged": []}
        lan: list[float] = []
        for i in range(args.runs):
            run = Path(tmp) / f"run-{i}"
            shutil.copytree(base, run / "server-side")
            shutil.copytree(base, run / "lan")
            for key, value in via_server(run / "server-side", total, run).items():
                server[key].append(value)
            lan.append(over_lan(run / "lan", total))
            shutil.rmtree(run)
        summary("via the server: uploads done", server["uploads"])
        summary("via the server: every device converged", server["converged"])
        summary("server fold afterwards (queue snapshot)", server["fold"])
        summary(f"over the LAN: a board pulls {total:,} events", lan)
    return 0


if __name__ == "__main__":
    sys.exit(main())
