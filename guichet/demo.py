"""``guichet demo``: a whole site on this machine.

Starts the central server on SQLite with a demo town hall (every service open all day, so the
demo works at any hour), a virtual printer writing each ticket as a PNG, the kiosk and the
display board in windows, and prints where everything is. ``--selftest`` runs the same site
headless-friendly: three tickets taken by simulated touches, called by simulated button presses,
every screen and ticket saved to a folder; exit 0 only if every step was seen.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import requests

from tickets.stopping import die_with_parent

EXAMPLE_SITE = Path(__file__).resolve().parent.parent / "config" / "examples" / "site-townhall.toml"
DEMO_AGENT = ("agent", "demo-agent")
PREFERRED_PORTS = (8000, 9100)
"""Server and virtual-printer ports the demo takes when they are free (0: any free port)."""
DEMO_ADMIN = ("admin", "demo-admin")


def free_port(preferred: int) -> int:
    """``preferred`` when nothing listens there (a port left in TIME_WAIT by the previous run
    counts as free: the server and the printer bind with SO_REUSEADDR), else any free port."""
    for port in (preferred, 0):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise RuntimeError("no free TCP port")


def demo_site_toml() -> str:
    """The example town hall, open every day all day so the demo works at any hour."""
    text = EXAMPLE_SITE.read_text(encoding="utf-8")
    lines = []
    for line in text.splitlines():
        if line.startswith("hours = "):
            days = ", ".join(
                f'{d} = ["00:00-24:00"]' for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
            )
            line = f"hours = {{ {days} }}"
        lines.append(line)
    return (
        "\n".join(lines).replace(
            'name = "Mairie de Saint-Exemple"', 'name = "Mairie de Saint-Exemple (démonstration)"'
        )
        + "\n"
    )


class Site:
    """The demo's files and processes."""

    def __init__(self, root: Path, *, windows: bool) -> None:
        self.root = root.resolve()
        self.windows = windows
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.server_port = free_port(PREFERRED_PORTS[0])
        self.printer_port = free_port(PREFERRED_PORTS[1])
        self.url = f"http://127.0.0.1:{self.server_port}"
        self.tickets_dir = self.root / "tickets"
        self.logs = self.root / "logs"
        self.tokens: dict[str, str] = {}

    def tickets(self) -> list[Path]:
        """Ticket PNGs the virtual printer rendered, in print order."""
        return sorted(self.tickets_dir.glob("*.png"))

    def cmd(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "guichet", *args]

    def write_files(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.tickets_dir.mkdir(exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        (self.root / "site.toml").write_text(demo_site_toml(), encoding="utf-8")
        (self.root / "server.toml").write_text(
            f'role = "server"\n'
            f'database_url = "sqlite:///{self.root / "guichet.db"}"\n'
            f'host = "127.0.0.1"\nport = {self.server_port}\n'
            f'public_url = "{self.url}"\n'
            f'site_files = ["{self.root / "site.toml"}"]\n',
            encoding="utf-8",
        )

    def load_site(self) -> dict[str, str]:
        token_file = self.root / "tokens.toml"
        subprocess.run(
            self.cmd(
                "site",
                "load",
                str(self.root / "site.toml"),
                "--config",
                str(self.root / "server.toml"),
                "--token-file",
                str(token_file),
            ),
            check=True,
        )
        for name, password, role in ((*DEMO_AGENT, "agent"), (*DEMO_ADMIN, "admin")):
            pw = self.root / f".{name}-password"
            pw.write_text(password, encoding="utf-8")
            subprocess.run(
                self.cmd(
                    "user",
                    "add",
                    name,
                    "--role",
                    role,
                    "--site",
                    "mairie",
                    "--config",
                    str(self.root / "server.toml"),
                    "--password-file",
                    str(pw),
                ),
                check=True,
            )
        with token_file.open("rb") as fh:
            return {k: str(v) for k, v in tomllib.load(fh).get("tokens", {}).items()}

    def write_device_files(self, tokens: dict[str, str]) -> None:
        common = f'site = "mairie"\nsite_file = "{self.root / "site.toml"}"\nfullscreen = false\n'
        (self.root / "kiosk.toml").write_text(
            f'role = "kiosk"\ndevice_id = "kiosk-entree"\n{common}'
            f'journal_path = "{self.root / "kiosk-journal.sqlite3"}"\n'
            f"window_position = {list(KIOSK_WINDOW[0])}\nwindow_size = {list(KIOSK_WINDOW[1])}\n"
            f'appointment_url = "{self.url}/rendez-vous"\n'
            f'[server]\nurl = "{self.url}"\ntoken = "{tokens.get("kiosk-entree", "")}"\n'
            f'[printer]\npaper_mm = 80\n[printer.transport]\nkind = "network"\n'
            f'host = "127.0.0.1"\nport = {self.printer_port}\n',
            encoding="utf-8",
        )
        (self.root / "display.toml").write_text(
            f'role = "display"\ndevice_id = "board-salle"\n{common}'
            f'journal_path = "{self.root / "board-journal.sqlite3"}"\n'
            f"window_position = {list(BOARD_WINDOW[0])}\nwindow_size = {list(BOARD_WINDOW[1])}\n"
            f'message = "Bienvenue à la mairie · Welcome · Démonstration de Guichet"\n'
            f'[server]\nurl = "{self.url}"\ntoken = "{tokens.get("board-salle", "")}"\n'
            f"[buttons]\nvirtual = true\n",
            encoding="utf-8",
        )

    def start(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("ab") as log:
            # Its own session (the terminal's Ctrl-C goes to the demo, which stops everything in
            # order), and killed with the demo whatever kills it.
            proc = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        self.procs.append((name, proc))
        return proc

    def wait_for_server(self, timeout: float = 120.0) -> None:
        """Until the server answers; a start on a busy machine took up to a minute (load 16 on
        two cores), and a server that fails says so at once (its process ends)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/readyz", timeout=1).ok:
                    return
            for name, proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited early; see {self.logs / (name + '.log')}")
            time.sleep(0.2)
        raise RuntimeError(f"the server did not answer at {self.url} within {timeout:.0f} s")

    def stop(self) -> None:
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for _name, proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def running_site(root: Path, *, windows: bool) -> Iterator[Site]:
    site = Site(root, windows=windows)
    site.write_files()
    try:
        site.tokens = site.load_site()
        site.write_device_files(site.tokens)
        site.start("server", site.cmd("server", "--config", str(site.root / "server.toml")))
        site.start(
            "printer",
            site.cmd(
                "printer",
                "virtual",
                "--port",
                str(site.printer_port),
                "--out",
                str(site.tickets_dir),
            ),
        )
        site.wait_for_server()
        yield site
    finally:
        site.stop()


WINDOWS = ("kiosk", "display")
KIOSK_WINDOW = ((0, 0), (1024, 600))
BOARD_WINDOW = ((1034, 0), (1280, 720))
"""Position and size of the demo's windows (pixels): side by side, so they do not overlap
even without a window manager to move them."""


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


NO_DISPLAY = (
    "guichet demo: no display (DISPLAY is not set), so the kiosk and board windows cannot be "
    "shown.\nRun it on a desktop session, or under a virtual screen:\n"
    '  xvfb-run -a -s "-screen 0 2400x800x24" guichet demo\n'
    "or run the same site without windows, by simulated touches and presses:\n"
    "  guichet demo --selftest"
)


def addresses(site: Site) -> str:
    """What the demo prints once it runs: where each page and file is."""
    return (
        f"\nGuichet demo site is running.\n"
        f"  server and web pages   {site.url}/\n"
        f"  agent console          {site.url}/console  (user {DEMO_AGENT[0]}, "
        f"password {DEMO_AGENT[1]})\n"
        f"  administration         {site.url}/admin    (user {DEMO_ADMIN[0]}, "
        f"password {DEMO_ADMIN[1]})\n"
        f"  statistics             {site.url}/stats/mairie  (user {DEMO_ADMIN[0]})\n"
        f"  live wait (public)     {site.url}/wait/mairie\n"
        f"  follow my ticket       {site.url}/t/...  (the QR code of each printed ticket)\n"
        f"  printed tickets (PNG)  {site.tickets_dir}\n"
        f"  logs                   {site.logs}\n"
        f"Touch a service on the kiosk window; on the board window press a counter digit,\n"
        f"then N (next), R (recall), D (done), A (absent). Ctrl-C stops everything.\n"
    )


def watch(site: Site) -> int:
    """Until a process of the site ends: a window closed (0) or anything that died (1)."""
    while True:
        for name, proc in site.procs:
            code = proc.poll()
            if code is None:
                continue
            log = site.logs / f"{name}.log"
            if name in WINDOWS and code == 0:
                print(f"The {name} window was closed: stopping the demo site.")
                return 0
            print(f"{name} stopped (exit code {code}; see {log}): stopping the demo site.")
            return 1
        time.sleep(0.5)


def run_demo(root: Path, *, selftest: bool = False) -> int:
    if selftest:
        from guichet.selftest import run_selftest

        return run_selftest(root)
    if not has_display():
        print(NO_DISPLAY, file=sys.stderr)
        return 2
    with running_site(root, windows=True) as site:
        site.start("kiosk", site.cmd("kiosk", "--config", str(site.root / "kiosk.toml")))
        site.start("display", site.cmd("display", "--config", str(site.root / "display.toml")))
        print(addresses(site), flush=True)
        try:
            return watch(site)
        except KeyboardInterrupt:  # Ctrl-C, SIGTERM or SIGHUP (tickets.stopping)
            print("\nStopping the demo site.", flush=True)
    return 0
