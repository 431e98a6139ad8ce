"""A counter's button press to the board showing the call: the latency of the whole path.

From the moment "3 NEXT" is written on the button box's serial line (a pseudo-terminal) to the
moment the board's state holds the new call and hands it to the screen (the listener the Kivy
app posts to its next frame, at most 1/60 s later):

- server on loopback: the board forwards the press to the real server (uvicorn in a thread,
  SQLite), which decides; the board journals the answer (synchronous=FULL) and shows it;
- server down: the server is stopped; the board decides from its own journal.

Targets: with the server p50 <= 100 ms, p99 <= 250 ms; server down p50 <= 30 ms.

    python bench/bench_display_call.py [--presses 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config.display import DisplaySettings  # noqa: E402
from config.loader import load_settings  # noqa: E402
from config.server import ServerSettings  # noqa: E402
from display.core import CallView  # noqa: E402
from display.runtime import Board, build_board  # noqa: E402
from display.virtual import VirtualButtonBox  # noqa: E402
from server.run import ServerThread  # noqa: E402

SITE_FILE = ROOT / "config" / "examples" / "site-townhall.toml"
COUNTERS = ("1", "2", "3", "4")  # all four take civil status


class Stopwatch:
    """The board's listener: notes when each call reaches the screen's side."""

    def __init__(self) -> None:
        self.shown = threading.Event()

    def board_calls(self, calls: list[CallView]) -> None:
        self.shown.set()

    def board_changed(self) -> None:
        pass

    def board_status(self) -> None:
        pass


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(board: Board, box: VirtualButtonBox, presses: int) -> list[float]:
    watch = Stopwatch()
    board.listener = watch
    out = []
    for i in range(presses):
        watch.shown.clear()
        line = f"{COUNTERS[i % len(COUNTERS)]} NEXT\n".encode()
        start = time.perf_counter()
        box.send(line)
        if not watch.shown.wait(5):
            raise SystemExit(f"press {i}: no call shown within 5 s")
        out.append((time.perf_counter() - start) * 1000)
    return out


def report(name: str, ms: list[float], target: str) -> None:
    print(
        f"{name:<22} n={len(ms):4d}  p50 {statistics.median(ms):7.1f} ms  "
        f"p90 {percentile(ms, 0.9):7.1f} ms  p99 {percentile(ms, 0.99):7.1f} ms  "
        f"max {max(ms):7.1f} ms   (target {target})"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presses", type=int, default=200)
    args = p.parse_args()
    n = args.presses
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        server = ServerThread(ServerSettings(database_url=f"sqlite:///{folder}/guichet.db"))
        server.start()
        tokens = server.load_site(SITE_FILE)
        session = requests.Session()
        for _ in range(2 * n + 20):
            session.post(
                f"{server.url}/api/v1/sites/mairie/tickets",
                json={"service": "etat-civil"},
                headers={"Authorization": f"Bearer {tokens['kiosk-entree']}"},
                timeout=5,
            ).raise_for_status()
        box = VirtualButtonBox()
        settings = load_settings(
            DisplaySettings,
            None,
            site="mairie",
            device_id="board-salle",
            journal_path=folder / "board.sqlite3",
            site_file=SITE_FILE,
            fullscreen=False,
            buttons={"ports": [box.path]},
            audio={"enabled": False, "cache_dir": folder / "audio"},
            server={"url": server.url, "token": tokens["board-salle"]},
        )
        board = build_board(settings)
        board.start()
        try:
            deadline = time.monotonic() + 10
            while board.buttons.state.value != "connected" or board.sync_state != "online":
                if time.monotonic() > deadline:
                    raise SystemExit("board not ready (button box or sync)")
                time.sleep(0.01)
            measure(board, box, 5)  # warm-up: connections, first writes
            online = measure(board, box, n)
            assert board.core is not None
            decided_here = board.core.decided_locally
            server.stop()
            measure(board, box, 3)  # the first press finds the server gone
            offline = measure(board, box, n)
        finally:
            board.stop()
            box.close()
    print("Button press to call shown (board state), real pty, real journal on disk")
    report("server on loopback", online, "p50 <= 100 ms, p99 <= 250 ms")
    report("server down", offline, "p50 <= 30 ms")
    if decided_here:
        print(f"warning: {decided_here} of the online presses were decided on the board")
    return 0


if __name__ == "__main__":
    sys.exit(main())
