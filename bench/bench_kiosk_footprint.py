"""The kiosk process's footprint against a minimal Kivy app measured in the same run.

Both start as separate processes in a 1024x600 window and say READY=1 on a notify socket once
their first screen is up (the kiosk: idle screen, journal open, printer asked, site loaded).
Start-up is the time from spawning to READY=1; memory is the resident set (VmRSS) two seconds
later. Runs alternate between the two so machine load hits both alike; medians are reported.
The kiosk prints to a virtual printer on loopback and runs standalone (no server).

Targets: resident memory <= 1.3x the minimal app; start-up <= minimal + 1 s.

    python bench/bench_kiosk_footprint.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from printer.virtual import VirtualPrinter  # noqa: E402

SITE_FILE = ROOT / "config" / "examples" / "site-townhall.toml"
SETTLE_SECONDS = 2.0


def kiosk_config(folder: Path, printer_port: int) -> Path:
    cfg = folder / "kiosk.toml"
    cfg.write_text(
        'role = "kiosk"\nsite = "mairie"\ndevice_id = "kiosk-entree"\n'
        f'journal_path = "{folder / "kiosk.sqlite3"}"\nsite_file = "{SITE_FILE}"\n'
        'fullscreen = false\nwindow_size = [1024, 600]\nlog_level = "WARNING"\n'
        f'[printer.transport]\nkind = "network"\nhost = "127.0.0.1"\nport = {printer_port}\n',
        encoding="utf-8",
    )
    return cfg


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def run_once(
    cmd: list[str],
    folder: Path,
    name: str,
    extra: dict[str, str],
    settle: float = SETTLE_SECONDS,
) -> tuple[float, float]:
    """(seconds to READY=1, resident MB ``settle`` seconds later) of one start of ``cmd``, a
    Kivy process that says READY=1 on its notify socket (the board's bench uses it too)."""
    sock_path = folder / f"notify-{name}.sock"
    sock_path.unlink(missing_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(60)
    env = dict(os.environ)
    env.update(
        NOTIFY_SOCKET=str(sock_path),
        KIVY_NO_ARGS="1",
        KIVY_HOME=str(folder / f"kivy-{name}"),
        KIVY_NO_CONSOLELOG="1",
        KIVY_NO_FILELOG="1",
        SDL_AUDIODRIVER="dummy",
    )
    env.pop("WATCHDOG_USEC", None)
    env.update(extra)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while b"READY=1" not in sock.recv(4096):
            pass
        startup = time.perf_counter() - start
        time.sleep(settle)
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited early with status {proc.returncode}")
        rss = rss_mb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        sock.close()
    return startup, rss


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    variants: tuple[tuple[str, str, dict[str, str]], ...] = (
        ("minimal", "minimal Kivy app", {}),
        ("kiosk", "kiosk", {}),
        ("minimal-1t", "minimal Kivy app, LP_NUM_THREADS=0", {"LP_NUM_THREADS": "0"}),
        ("kiosk-1t", "kiosk, LP_NUM_THREADS=0", {"LP_NUM_THREADS": "0"}),
    )
    results: dict[str, list[tuple[float, float]]] = {name: [] for name, _, _ in variants}
    with tempfile.TemporaryDirectory() as tmp, VirtualPrinter(Path(tmp) / "printed") as printer:
        folder = Path(tmp)
        cmds = {
            "minimal": [sys.executable, str(ROOT / "bench" / "minimal_kivy_app.py")],
            "kiosk": [
                sys.executable,
                "-m",
                "guichet",
                "kiosk",
                "--config",
                str(kiosk_config(folder, printer.port)),
            ],
        }
        for _ in range(args.runs):
            for name, _, extra in variants:
                results[name].append(run_once(cmds[name.removesuffix("-1t")], folder, name, extra))
    med = {
        k: (statistics.median(s for s, _ in v), statistics.median(r for _, r in v))
        for k, v in results.items()
    }
    print(f"Kiosk footprint vs a minimal Kivy app (window 1024x600), median of {args.runs} runs")
    for name, what, _ in variants:
        start, rss = med[name]
        ref_start, ref_rss = med["minimal-1t" if name.endswith("-1t") else "minimal"]
        versus = (
            ""
            if name.startswith("minimal")
            else f"   start-up +{start - ref_start:4.2f} s   RSS x{rss / ref_rss:4.2f}"
        )
        print(f"  {what:<38} start-up {start:5.2f} s   RSS {rss:6.1f} MB{versus}")
    print("  targets: start-up <= minimal + 1 s, RSS <= x1.3 the minimal app")
    return 0


if __name__ == "__main__":
    sys.exit(main())
