"""``guichet demo --selftest``: the demo site, driven end to end without a person.

The server and the virtual printer run as in the demo; the kiosk takes three tickets by
simulated touches (its own process: one Kivy window per process), the tickets reach the server
by the kiosk's sync, then the board calls them by simulated button presses on a
pseudo-terminal (another process). Screenshots and ticket PNGs land in one folder; exit 0 only
if every step was seen.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import requests

from guichet.demo import Site, running_site

TICKETS = 3
PRESSES = ("1 OPEN", "3 OPEN", "4 OPEN", "1 NEXT", "3 NEXT", "4 NEXT", "1 RECALL", "1 DONE")

_KIOSK = (
    "import sys; from pathlib import Path; from kiosk.selftest import run_selftest; "
    "sys.exit(0 if run_selftest(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])) else 1)"
)


def _step(ok: bool, text: str) -> bool:
    print(f"  [{'ok' if ok else 'FAILED'}] {text}", flush=True)
    return ok


def _run(log: Path, args: list[str]) -> subprocess.CompletedProcess[bytes]:
    with log.open("ab") as out:
        return subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, check=False)


def _waiting_on_server(site: Site, token: str) -> int:
    try:
        answer = requests.get(
            f"{site.url}/api/v1/sites/mairie/queue",
            headers={"Authorization": f"Bearer {token}"},
            timeout=2,
        )
        answer.raise_for_status()
        return len(answer.json().get("waiting", []))
    except (requests.RequestException, ValueError):
        return -1


def _push_kiosk_outbox(site: Site) -> None:
    """Sends whatever the kiosk journaled but had not synced when its window closed."""
    from config.kiosk import KioskSettings
    from config.loader import load_settings
    from tickets.journal import Journal
    from tickets.sync import SyncClient, SyncWorker

    settings = load_settings(KioskSettings, site.root / "kiosk.toml")
    with Journal(settings.journal_path, settings.site, settings.device_id) as journal:
        client = SyncClient(str(settings.server.url), settings.server.token, settings.device_id)
        SyncWorker(journal, client, interval=1.0).run_once()


def run_selftest(demo_dir: Path) -> int:
    """Runs the self-test site in ``demo_dir/selftest`` (wiped first); images in its ``shots``."""
    root = demo_dir / "selftest"
    if root.exists():
        shutil.rmtree(root)
    out = (root / "shots").resolve()
    print(f"Guichet self-test in {root.resolve()}", flush=True)
    ok = True
    with running_site(root, windows=False) as site:
        out.mkdir(parents=True, exist_ok=True)
        kiosk = _run(
            site.logs / "kiosk-selftest.log",
            [sys.executable, "-c", _KIOSK, str(site.root / "kiosk.toml"), str(out), str(TICKETS)],
        )
        ok &= _step(kiosk.returncode == 0, f"kiosk took {TICKETS} tickets by simulated touches")

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(site.tickets()) < TICKETS:
            time.sleep(0.2)
        printed = site.tickets()
        ok &= _step(len(printed) == TICKETS, f"virtual printer rendered {len(printed)} tickets")
        for png in printed:
            shutil.copy(png, out / f"ticket-{png.name}")

        token = site.tokens.get("board-salle", "")
        if _waiting_on_server(site, token) < TICKETS:
            _push_kiosk_outbox(site)
        waiting = _waiting_on_server(site, token)
        ok &= _step(waiting >= TICKETS, f"server knows {waiting} waiting tickets")

        board = _run(
            site.logs / "board-selftest.log",
            [
                sys.executable,
                "-m",
                "display.selftest",
                "--config",
                str(site.root / "display.toml"),
                "--out",
                str(out),
                *PRESSES,
            ],
        )
        ok &= _step(
            board.returncode == 0, "board called them by button presses: " + ", ".join(PRESSES)
        )
        left = _waiting_on_server(site, token)
        ok &= _step(left == waiting - 3, f"server shows {left} still waiting after three calls")
    shots = sorted(p.name for p in out.glob("*.png"))
    print(f"{len(shots)} images in {out}", flush=True)
    print("self-test " + ("PASSED" if ok else f"FAILED (logs in {root.resolve() / 'logs'})"))
    return 0 if ok else 1
