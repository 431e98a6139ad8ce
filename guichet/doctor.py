"""``guichet doctor --config FILE``: checks a device in plain words, one line per check.

Each line starts with OK, WARN (works, but something needs attention) or FAIL (the device cannot
do its job). The exit status is 0 when nothing FAILs, 1 otherwise (2 for an unreadable
configuration, like every other subcommand). What is checked depends on the role:

- every role: the configuration file, the systemd unit (when systemd runs), free space;
- kiosk: the ticket printer's real-time status;
- display board: the call-button boxes' serial ports and the sound (espeak-ng, a sound card);
- kiosk and board: the central server (reachable, token accepted for the site), the local
  journal (integrity, events waiting for the server), read without changing it, and the
  machine's clock as the last sync measured it against the server's (kept in the journal);
- server: its own health and database readiness over HTTP.
"""

from __future__ import annotations

import grp
import logging
import os
import shutil
import sqlite3
import stat
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from config.loader import ConfigError, load_settings, read_toml

LOW_DISK_BYTES = 100 * 1024 * 1024
BACKLOG_WARN = 500
"""More events than this waiting for the server means sync has been failing for a while."""


class Level(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Check:
    level: Level
    topic: str
    message: str

    def line(self) -> str:
        return f"{self.level.value:<4}  {self.topic:<9} {self.message}"


def run_doctor(config: Path) -> int:
    # The checks report what the packages would log: keep their warnings off the terminal.
    if not logging.getLogger().handlers:
        logging.getLogger().addHandler(logging.NullHandler())
    checks = list(diagnose(config))
    for check in checks:
        print(check.line())
    fails = sum(c.level is Level.FAIL for c in checks)
    warns = sum(c.level is Level.WARN for c in checks)
    print(f"-- {len(checks)} checks: {fails} failed, {warns} warnings")
    if checks and checks[0].topic == "config" and checks[0].level is Level.FAIL:
        return 2
    return 1 if fails else 0


def diagnose(
    config: Path, unit_state: Callable[[str], str | None] | None = None
) -> Iterator[Check]:
    """Every check for the device configured by ``config``, in order. ``unit_state`` gives the
    ActiveState of a systemd unit (default: asks systemctl when systemd runs)."""
    settings: Any
    settings, check = load_config(config)
    yield check
    if settings is None:
        return
    role = str(getattr(settings, "role", ""))
    yield from check_unit(role, unit_state or systemctl_state)
    if role == "kiosk":
        yield check_printer(settings)
    if role == "display":
        yield from check_buttons(settings)
        yield from check_audio(settings)
    if role in ("kiosk", "display"):
        yield from check_server_link(settings)
        yield from check_journal(Path(settings.journal_path))
        yield from check_clock(
            Path(settings.journal_path), has_server=settings.server.url is not None
        )
    if role == "server":
        yield from check_own_server(settings)


def load_config(path: Path) -> tuple[Any, Check]:
    """The settings of any role (None when the file cannot be used) and the check's line."""
    from guichet.cli import _settings_class

    try:
        data = read_toml(path)
        cls = _settings_class(data)
        if cls is None:
            return None, Check(
                Level.FAIL, "config", f"{path}: field 'role' must be server, kiosk or display"
            )
        settings = load_settings(cls, path)
    except ConfigError as exc:
        return None, Check(Level.FAIL, "config", "; ".join(exc.problems))
    who = getattr(settings, "device_id", "")
    site = getattr(settings, "site", "")
    about = f" {who!r} of site {site!r}" if who else ""
    role = getattr(settings, "role", "")
    return settings, Check(Level.OK, "config", f"{path}: valid {role} configuration{about}")


# ---- systemd and disk ---------------------------------------------------------------------------
def systemctl_state(unit: str) -> str | None:
    if not Path("/run/systemd/system").is_dir() or shutil.which("systemctl") is None:
        return None
    try:
        done = subprocess.run(
            ["systemctl", "show", "--property=ActiveState", "--value", unit],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def check_unit(role: str, unit_state: Callable[[str], str | None]) -> Iterator[Check]:
    unit = f"guichet-{role}.service"
    state = unit_state(unit)
    if state is None:
        return  # not under systemd (a developer's machine, a container)
    if state == "active":
        yield Check(Level.OK, "service", f"{unit} is running")
    elif state in ("activating", "reloading"):
        yield Check(Level.WARN, "service", f"{unit} is starting")
    else:
        yield Check(
            Level.FAIL,
            "service",
            f"{unit} is {state}: see `journalctl -u {unit} -b` for why",
        )


def check_disk(folder: Path) -> Iterator[Check]:
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    usage = shutil.disk_usage(existing)
    free_mb = usage.free // (1024 * 1024)
    if usage.free < LOW_DISK_BYTES:
        yield Check(Level.WARN, "disk", f"only {free_mb} MB free for {folder}")
    else:
        yield Check(Level.OK, "disk", f"{free_mb} MB free for {folder}")


# ---- kiosk: printer -----------------------------------------------------------------------------
def check_printer(settings: Any) -> Check:
    try:
        from printer import STAFF_WARNINGS, open_printer
    except ImportError as exc:
        return Check(
            Level.FAIL,
            "printer",
            f"the printer package cannot be loaded ({exc}); install guichet[kiosk]",
        )
    device = open_printer(settings.printer)
    try:
        status = device.status()
    finally:
        device.close()
    label = status.state.label("en")
    text = f"{label}: {status.detail}" if status.detail else label
    if status.state in STAFF_WARNINGS:
        return Check(Level.WARN, "printer", text)
    if status.can_print:
        return Check(Level.OK, "printer", text)
    ident = f" [{status.error_id}]" if status.error_id else ""
    return Check(Level.FAIL, "printer", text + ident)


# ---- board: buttons and sound -------------------------------------------------------------------
def check_buttons(settings: Any) -> Iterator[Check]:
    buttons = getattr(settings, "buttons", None)
    ports = list(getattr(buttons, "ports", []) or [])
    if getattr(buttons, "virtual", False):
        yield Check(Level.OK, "buttons", "virtual button box (the board's keyboard) enabled")
    if not ports:
        if not getattr(buttons, "virtual", False):
            yield Check(
                Level.WARN,
                "buttons",
                "no call-button box configured: counters can call only from the web console",
            )
        return
    for port in ports:
        yield check_serial_port(str(port))


def check_serial_port(port: str) -> Check:
    path = Path(port)
    if not path.exists():
        return Check(
            Level.FAIL,
            "buttons",
            f"{port} does not exist: is the button box plugged in? (`ls /dev/serial/by-id`)",
        )
    real = os.path.realpath(path)
    shown = port if real == port else f"{port} (-> {real})"
    mode = os.stat(real).st_mode
    if not stat.S_ISCHR(mode):
        return Check(Level.FAIL, "buttons", f"{shown} is not a serial device")
    try:
        fd = os.open(real, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except PermissionError:
        return Check(
            Level.FAIL, "buttons", f"{shown}: permission denied (the board needs group dialout)"
        )
    except OSError as exc:
        if exc.errno == 16:  # EBUSY: opened exclusively, normally by the running board
            return Check(Level.OK, "buttons", f"{shown} is in use (by the running board)")
        return Check(Level.FAIL, "buttons", f"{shown} cannot be opened: {exc.strerror}")
    os.close(fd)
    if os.geteuid() == 0 and not _group_can_use(real, "dialout"):
        return Check(
            Level.WARN,
            "buttons",
            f"{shown} opens for root but not for group dialout: is the udev rule installed?",
        )
    return Check(Level.OK, "buttons", f"{shown} opens")


def _group_can_use(device: str, group: str) -> bool:
    st = os.stat(device)
    if st.st_mode & 0o006 == 0o006:
        return True
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        return False
    return st.st_gid == gid and st.st_mode & 0o060 == 0o060


def check_audio(settings: Any) -> Iterator[Check]:
    audio = getattr(settings, "audio", None)
    if audio is not None and not getattr(audio, "enabled", True):
        yield Check(Level.OK, "audio", "sound is turned off in the settings")
        return
    espeak = shutil.which("espeak-ng")
    if espeak:
        yield Check(Level.OK, "audio", f"espeak-ng found ({espeak})")
    else:
        yield Check(
            Level.WARN,
            "audio",
            "espeak-ng is not installed: calls are shown but not spoken (apt install espeak-ng)",
        )
    cards = alsa_cards()
    if cards:
        yield Check(Level.OK, "audio", "sound card: " + ", ".join(cards))
    else:
        yield Check(Level.WARN, "audio", "no sound card found: calls will be silent")


def alsa_cards(
    proc_cards: Path = Path("/proc/asound/cards"), dev_snd: Path = Path("/dev/snd")
) -> list[str]:
    """Names of the ALSA sound cards with a playback device, e.g. ["0 vc4hdmi0"]."""
    try:
        text = proc_cards.read_text()
    except OSError:
        return []
    names = []
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0].isdigit() and "[" in line:
            index = parts[0]
            if any(dev_snd.glob(f"pcmC{index}D*p")):
                names.append(f"{index} {line.split('[', 1)[1].split(']', 1)[0].strip()}")
    return names


# ---- kiosk and board: server and journal --------------------------------------------------------
def check_server_link(settings: Any) -> Iterator[Check]:
    link = settings.server
    if link.url is None:
        yield Check(Level.OK, "server", "standalone: no server configured")
        return
    import requests

    base = str(link.url).rstrip("/")
    timeout = link.timeout_seconds
    try:
        health = requests.get(f"{base}/healthz", timeout=timeout)
    except requests.RequestException as exc:
        yield Check(
            Level.FAIL,
            "server",
            f"{base} unreachable ({_reason(exc)}): the device works offline and syncs later",
        )
        return
    if health.status_code != 200:
        yield Check(Level.FAIL, "server", f"{base}/healthz answered HTTP {health.status_code}")
        return
    if not link.token:
        yield Check(Level.FAIL, "server", f"{base} answers, but no token is configured")
        return
    url = f"{base}/api/v1/sites/{settings.site}/queue"
    try:
        answer = requests.get(
            url, headers={"Authorization": f"Bearer {link.token}"}, timeout=timeout
        )
    except requests.RequestException as exc:
        yield Check(Level.FAIL, "server", f"{url} unreachable ({_reason(exc)})")
        return
    code = answer.status_code
    if code == 200:
        yield Check(Level.OK, "server", f"{base} answers and accepts this device's token")
    elif code == 401:
        yield Check(Level.FAIL, "server", f"{base} refuses the token: check [server] token")
    elif code == 403:
        yield Check(
            Level.FAIL, "server", f"{base}: the token is not allowed for site {settings.site!r}"
        )
    elif code == 404:
        yield Check(Level.FAIL, "server", f"{base} does not know site {settings.site!r}")
    else:
        yield Check(Level.FAIL, "server", f"{url} answered HTTP {code}")


def _reason(exc: Exception) -> str:
    import requests

    if isinstance(exc, requests.Timeout):
        return "no answer in time"
    if isinstance(exc, requests.ConnectionError):
        text = str(exc)
        if "NameResolution" in text or "Name or service not known" in text:
            return "host name not found"
        return "connection refused or no route"
    return type(exc).__name__


def check_journal(path: Path) -> Iterator[Check]:
    if not path.exists():
        yield Check(
            Level.WARN, "journal", f"{path} does not exist yet (created at the first start)"
        )
        yield from check_disk(path.parent)
        return
    try:
        # Read-only: the doctor never changes the journal, even while the device runs.
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        yield Check(Level.FAIL, "journal", f"{path} cannot be opened: {exc}")
        return
    try:
        result = [row[0] for row in db.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            yield Check(Level.FAIL, "journal", f"{path} is damaged: {'; '.join(result[:3])}")
            return
        yield Check(Level.OK, "journal", f"{path} passes SQLite's integrity check")
        yield from _journal_backlog(db)
    except sqlite3.DatabaseError as exc:
        yield Check(Level.FAIL, "journal", f"{path} cannot be read: {exc}")
    finally:
        db.close()
    yield from check_disk(path.parent)


def _journal_backlog(db: sqlite3.Connection) -> Iterator[Check]:
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "outbox" not in tables:
        yield Check(Level.WARN, "journal", "no outbox table: not a Guichet journal, or too old")
        return
    backlog = int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])
    level = Level.WARN if backlog > BACKLOG_WARN else Level.OK
    yield Check(level, "journal", f"{backlog} events waiting to be sent to the server")
    if "quarantine" in tables:
        refused = int(db.execute("SELECT count(*) FROM quarantine").fetchone()[0])
        if refused:
            yield Check(
                Level.WARN,
                "journal",
                f"{refused} events refused by the server (kept in the journal's quarantine)",
            )


def check_clock(path: Path, *, has_server: bool = True) -> Iterator[Check]:
    """The machine's clock offset the journal keeps (the server's time minus this machine's
    wall clock, measured at a sync), in plain words. Nothing when the journal is not there
    yet or cannot be read (the journal's own check says so)."""
    from tickets.heartbeat import CLOCK_OK_SECONDS, clock_amount, clock_right
    from tickets.journal import CLOCK_OFFSET_KEY

    if not path.exists():
        return
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            row = db.execute("SELECT value FROM meta WHERE key=?", (CLOCK_OFFSET_KEY,)).fetchone()
        finally:
            db.close()
        offset = None if row is None else float(row[0])
    except (sqlite3.Error, ValueError):
        return
    if offset is None:
        if has_server:
            yield Check(
                Level.WARN,
                "clock",
                "not measured against the server's yet: no sync has succeeded so far",
            )
        else:
            yield Check(Level.OK, "clock", "standalone: no server to set the clock by")
        return
    if clock_right(offset):
        off = f"off by {clock_amount(offset)}, " if round(offset) else ""
        yield Check(
            Level.OK,
            "clock",
            f"right at the last sync ({off}within {CLOCK_OK_SECONDS:g} s of the server's)",
        )
        return
    way = "behind" if offset > 0 else "ahead of"
    yield Check(
        Level.WARN,
        "clock",
        f"{clock_amount(offset)} {way} the server's at the last sync: the device corrects its "
        "times by it; check NTP (`timedatectl`) and, without a real-time clock, the network "
        "at start-up",
    )


# ---- server -------------------------------------------------------------------------------------
def check_own_server(settings: Any) -> Iterator[Check]:
    import requests

    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(settings.host, settings.host)
    if ":" in host:
        host = f"[{host}]"
    base = f"http://{host}:{settings.port}"
    try:
        health = requests.get(f"{base}/healthz", timeout=3)
        ready = requests.get(f"{base}/readyz", timeout=5)
    except requests.RequestException as exc:
        yield Check(
            Level.FAIL,
            "server",
            f"nothing answers on {base} ({_reason(exc)}): is guichet-server running?",
        )
        return
    if health.status_code != 200:
        yield Check(Level.FAIL, "server", f"{base}/healthz answered HTTP {health.status_code}")
        return
    yield Check(Level.OK, "server", f"{base} answers")
    if ready.status_code == 200:
        yield Check(Level.OK, "database", "the database answers")
    else:
        detail = ready.text[:200].strip()
        yield Check(Level.FAIL, "database", f"not ready (HTTP {ready.status_code}): {detail}")
    if settings.is_sqlite:
        db_file = Path(settings.database_url.split("sqlite:///", 1)[1])
        yield from check_disk(db_file.parent)
