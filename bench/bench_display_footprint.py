"""The board's process footprint against a minimal Kivy app measured in the same run.

Start-up: from spawning the process to its READY=1 on a notify socket (sent once the first
frame is drawn: what systemd waits for). Memory: resident set size (VmRSS) a few seconds after
READY, the clock ticking and the message scrolling. Both apps use the same window size and
environment; Kivy draws with whatever GL this machine has (Mesa's software renderer here,
which inflates both figures alike: compare the ratios).

The board runs as ``guichet display --config FILE`` with a journal holding a busy day
(400 tickets, 300 calls). Targets: memory <= 1.3 x the minimal app, start-up <= minimal + 1 s.

    python bench/bench_display_footprint.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_kiosk_footprint import run_once  # noqa: E402

from tickets.events import EventKind  # noqa: E402
from tickets.journal import Journal  # noqa: E402

SITE_FILE = ROOT / "config" / "examples" / "site-townhall.toml"
SETTLE_SECONDS = 3.0

MINIMAL_APP = """
import os, socket
from kivy.config import Config
Config.set("graphics", "width", "1920")
Config.set("graphics", "height", "1080")
from kivy.app import App
from kivy.clock import Clock
from kivy.uix.button import Button

def ready(_dt):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(b"READY=1", os.environ["NOTIFY_SOCKET"])

class Minimal(App):
    def build(self):
        return Button(text="Hello")
    def on_start(self):
        Clock.schedule_once(ready, 0)

Minimal().run()
"""


def board_config(folder: Path, message: str, name: str) -> Path:
    journal_path = folder / f"{name}.sqlite3"
    journal = Journal(journal_path, "mairie", "board-salle")
    day = time.strftime("%Y-%m-%d")
    for i in range(400):
        journal.record(
            EventKind.TICKET_ISSUED,
            ticket=f"t{i}",
            service="etat-civil",
            number=i + 1,
            day=day,
            label=f"A{i + 1:03d}",
        )
    for i in range(300):
        journal.record(EventKind.TICKET_CALLED, ticket=f"t{i}", counter=str(1 + i % 4))
    journal.close()
    cfg = folder / f"{name}.toml"
    cfg.write_text(
        'role = "display"\nsite = "mairie"\ndevice_id = "board-salle"\n'
        f'journal_path = "{journal_path}"\nsite_file = "{SITE_FILE}"\n'
        "fullscreen = false\nwindow_size = [1920, 1080]\n"
        f'message = "{message}"\n'
        f'[audio]\ncache_dir = "{folder / "audio"}"\n'
    )
    return cfg


VARIANTS: tuple[tuple[str, str, dict[str, str]], ...] = (
    # name, what, extra environment
    ("minimal", "minimal Kivy app", {}),
    ("board", "board, scrolling message", {}),
    ("quiet", "board, no message", {}),
    ("minimal-1t", "minimal Kivy app, LP_NUM_THREADS=0", {"LP_NUM_THREADS": "0"}),
    ("board-1t", "board, scrolling message, LP_NUM_THREADS=0", {"LP_NUM_THREADS": "0"}),
)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    results: dict[str, list[tuple[float, float]]] = {name: [] for name, _, _ in VARIANTS}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        minimal = folder / "minimal_kivy_app.py"
        minimal.write_text(MINIMAL_APP)
        message = "Bienvenue à la mairie de Saint-Exemple · Welcome"
        guichet = [sys.executable, "-m", "guichet", "display", "--config"]
        cmds = {
            "minimal": [sys.executable, str(minimal)],
            "board": [*guichet, str(board_config(folder, message, "board"))],
            "quiet": [*guichet, str(board_config(folder, "", "quiet"))],
        }
        for _ in range(args.runs):  # interleaved, so load on the machine hits all alike
            for name, _, env in VARIANTS:
                cmd = cmds[name.removesuffix("-1t")]
                results[name].append(run_once(cmd, folder, name, env, settle=SETTLE_SECONDS))
    med = {
        k: (statistics.median(s for s, _ in v), statistics.median(r for _, r in v))
        for k, v in results.items()
    }
    print(f"Board footprint vs a minimal Kivy app (window 1920x1080), median of {args.runs} runs")
    for name, what, _ in VARIANTS:
        start, rss = med[name]
        ref_start, ref_rss = med["minimal-1t" if name.endswith("-1t") else "minimal"]
        ratio = (
            ""
            if name.startswith("minimal")
            else (f"   start-up +{start - ref_start:4.2f} s   RSS x{rss / ref_rss:4.2f}")
        )
        print(f"  {what:<45} start-up {start:5.2f} s   RSS {rss:6.1f} MB{ratio}")
    print("  targets: start-up <= minimal + 1 s, RSS <= x1.3 the minimal app")
    return 0


if __name__ == "__main__":
    sys.exit(main())
