"""`guichet doctor` against real parts: the server on loopback (ServerThread), the virtual ESC/POS
printer on a TCP port, a real journal file, a pseudo-terminal standing for the button box."""

from __future__ import annotations

import grp
import os
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from guichet.cli import main as guichet
from guichet.doctor import Check, Level, alsa_cards, diagnose, run_doctor
from tickets.events import EventKind

SITE = "doctorsite"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def free_port() -> int:
    """A port nothing listens on (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kiosk_toml(
    tmp_path: Path, *, url: str, token: str, printer_port: int, site: str = SITE
) -> Path:
    return write(
        tmp_path / "kiosk.toml",
        f"""
role = "kiosk"
site = "{site}"
device_id = "kiosk-a"
journal_path = "{tmp_path}/journal.sqlite3"

[server]
url = "{url}"
token = "{token}"
timeout_seconds = 2

[printer]
status_timeout_seconds = 1

[printer.transport]
kind = "network"
host = "127.0.0.1"
port = {printer_port}
""",
    )


def journal_class() -> Any:
    """The device journal (tickets.journal), or a visible skip while it is not available."""
    return pytest.importorskip("tickets.journal", reason="tickets.journal is not available").Journal


def by_topic(checks: list[Check], topic: str) -> list[Check]:
    return [c for c in checks if c.topic == topic]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """The real queue server on loopback with a site that has kiosk-a and board-a."""
    run = pytest.importorskip("server.run", reason="the server package is not available")
    from config.server import ServerSettings
    from config.site import SiteConfig

    site = SiteConfig.model_validate(
        {
            "site": {"id": SITE, "name": "Doctor town hall", "timezone": "Europe/Paris"},
            "services": [{"id": "civil", "prefix": "A", "names": {"fr": "État civil"}}],
            "counters": [{"id": "1", "label": "Guichet 1", "services": ["civil"]}],
            "devices": [
                {"id": "kiosk-a", "role": "kiosk", "offline_range": [900, 999]},
                {"id": "board-a", "role": "display"},
            ],
        }
    )
    folder = tmp_path_factory.mktemp("server")
    thread = run.ServerThread(ServerSettings(database_url=f"sqlite:///{folder}/guichet.db"))
    with thread:
        tokens = thread.load_site(site)
        yield thread.url, tokens


@pytest.fixture()
def printer(tmp_path: Path) -> Iterator[Any]:
    from printer.virtual import VirtualPrinter

    with VirtualPrinter(tmp_path / "printed") as virtual:
        yield virtual


def test_healthy_kiosk_passes_every_check(
    tmp_path: Path, server: tuple[str, dict[str, str]], printer: Any
) -> None:
    url, tokens = server
    config = kiosk_toml(tmp_path, url=url, token=tokens["kiosk-a"], printer_port=printer.port)
    with journal_class()(tmp_path / "journal.sqlite3", SITE, "kiosk-a") as journal:
        journal.record(EventKind.COUNTER_OPENED, counter="1")
        journal.record(EventKind.COUNTER_CLOSED, counter="1")
        journal.adjust_clock(0.4)  # a sync found the clock right
        checks = list(diagnose(config, unit_state=lambda unit: "active"))
    assert [c.level for c in checks] == [Level.OK] * len(checks), checks
    assert [c.topic for c in checks] == [
        "config",
        "service",
        "printer",
        "server",
        "journal",
        "journal",
        "disk",
        "clock",
    ]
    assert "kiosk-a" in checks[0].message
    assert "Printer ready" in by_topic(checks, "printer")[0].message
    assert "accepts this device's token" in by_topic(checks, "server")[0].message
    assert by_topic(checks, "journal")[1].message == "2 events waiting to be sent to the server"
    assert by_topic(checks, "clock") == [
        Check(Level.OK, "clock", "right at the last sync (within 60 s of the server's)")
    ]


@pytest.mark.parametrize(
    ("measured", "level", "words"),
    [
        (None, Level.WARN, "not measured against the server's yet"),
        (-3725.0, Level.WARN, "1 h 02 min ahead of the server's at the last sync"),
        (2 * 86400 + 3 * 3600 + 59, Level.WARN, "2 d 3 h behind the server's at the last sync"),
        (-42.0, Level.OK, "right at the last sync (off by 42 s, within 60 s of the server's)"),
    ],
)
def test_the_clock_offset_kept_in_the_journal_is_told_in_plain_words(
    tmp_path: Path, printer: Any, measured: float | None, level: Level, words: str
) -> None:
    """GIVEN a kiosk whose last sync measured its clock (or none did yet) WHEN the doctor runs
    THEN one line tells how far the machine's clock is from the server's, and warns past 60 s."""
    config = kiosk_toml(
        tmp_path, url=f"http://127.0.0.1:{free_port()}", token="t" * 20, printer_port=printer.port
    )
    with journal_class()(tmp_path / "journal.sqlite3", SITE, "kiosk-a") as journal:
        if measured is not None:
            journal.adjust_clock(measured)
    checks = by_topic(list(diagnose(config, unit_state=lambda unit: None)), "clock")
    assert len(checks) == 1 and checks[0].level is level, checks
    assert words in checks[0].message


@pytest.mark.parametrize(
    ("fault", "level", "words"),
    [
        ("paper_out", Level.FAIL, "Out of paper"),
        ("cover_open", Level.FAIL, "Printer cover open"),
        ("paper_near_end", Level.WARN, "Paper running low"),
    ],
)
def test_printer_faults_are_reported(
    tmp_path: Path, printer: Any, fault: str, level: Level, words: str
) -> None:
    printer.simulate(fault)
    config = kiosk_toml(
        tmp_path, url=f"http://127.0.0.1:{free_port()}", token="t", printer_port=printer.port
    )
    check = by_topic(list(diagnose(config, unit_state=lambda unit: None)), "printer")[0]
    assert check.level is level
    assert words in check.message


def test_printer_that_is_not_there_fails(tmp_path: Path) -> None:
    config = kiosk_toml(
        tmp_path, url=f"http://127.0.0.1:{free_port()}", token="t", printer_port=free_port()
    )
    check = by_topic(list(diagnose(config, unit_state=lambda unit: None)), "printer")[0]
    assert check.level is Level.FAIL
    assert "Printer offline" in check.message


def test_wrong_token_and_unknown_site_fail(
    tmp_path: Path, server: tuple[str, dict[str, str]], printer: Any
) -> None:
    url, tokens = server
    config = kiosk_toml(tmp_path, url=url, token="not-a-token", printer_port=printer.port)
    check = by_topic(list(diagnose(config, unit_state=lambda unit: None)), "server")[0]
    assert check.level is Level.FAIL
    assert "refuses the token" in check.message
    config = kiosk_toml(
        tmp_path, url=url, token=tokens["kiosk-a"], printer_port=printer.port, site="othersite"
    )
    check = by_topic(list(diagnose(config, unit_state=lambda unit: None)), "server")[0]
    assert check.level is Level.FAIL
    assert "othersite" in check.message


def test_unreachable_server_fails_in_plain_words(tmp_path: Path, printer: Any) -> None:
    config = kiosk_toml(
        tmp_path, url=f"http://127.0.0.1:{free_port()}", token="t", printer_port=printer.port
    )
    check = by_topic(list(diagnose(config, unit_state=lambda unit: None)), "server")[0]
    assert check.level is Level.FAIL
    assert "unreachable (connection refused or no route)" in check.message


def test_journal_missing_damaged_and_not_ours(tmp_path: Path, printer: Any) -> None:
    config = kiosk_toml(
        tmp_path, url=f"http://127.0.0.1:{free_port()}", token="t", printer_port=printer.port
    )
    journal = tmp_path / "journal.sqlite3"
    checks = by_topic(list(diagnose(config, unit_state=lambda unit: None)), "journal")
    assert [c.level for c in checks] == [Level.WARN]
    assert "does not exist yet" in checks[0].message

    with sqlite3.connect(journal) as db:
        db.execute("CREATE TABLE something (x)")
    db.close()
    checks = by_topic(list(diagnose(config, unit_state=lambda unit: None)), "journal")
    assert [c.level for c in checks] == [Level.OK, Level.WARN]
    assert "not a Guichet journal" in checks[1].message

    journal.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    checks = by_topic(list(diagnose(config, unit_state=lambda unit: None)), "journal")
    assert [c.level for c in checks] == [Level.FAIL]


def test_journal_is_read_without_being_changed(tmp_path: Path, printer: Any) -> None:
    config = kiosk_toml(
        tmp_path, url=f"http://127.0.0.1:{free_port()}", token="t", printer_port=printer.port
    )
    journal_path = tmp_path / "journal.sqlite3"
    with journal_class()(journal_path, SITE, "kiosk-a") as journal:
        journal.record(EventKind.COUNTER_OPENED, counter="1")
    before = journal_path.read_bytes()
    checks = by_topic(list(diagnose(config, unit_state=lambda unit: None)), "journal")
    assert checks[1].message == "1 events waiting to be sent to the server"
    assert journal_path.read_bytes() == before


def board_toml(tmp_path: Path, ports: list[str], extra: str = "") -> Path:
    listed = ", ".join(f'"{p}"' for p in ports)
    return write(
        tmp_path / "display.toml",
        f"""
role = "display"
site = "{SITE}"
device_id = "board-a"
journal_path = "{tmp_path}/journal.sqlite3"
{extra}
[buttons]
ports = [{listed}]
""",
    )


def test_board_button_box_on_a_serial_line(tmp_path: Path) -> None:
    """GIVEN a pseudo-terminal standing for the button box's USB-serial port, group dialout as
    the udev rule leaves it
    THEN the port opens; a port that is not there fails, naming it."""
    master, slave = os.openpty()
    try:
        port = os.ttyname(slave)
        if os.geteuid() == 0:
            os.chown(port, -1, grp.getgrnam("dialout").gr_gid)
            os.chmod(port, 0o660)
        config = board_toml(tmp_path, [port, "/dev/guichet-buttons-not-plugged"])
        checks = by_topic(list(diagnose(config, unit_state=lambda unit: None)), "buttons")
    finally:
        os.close(master)
        os.close(slave)
    assert checks[0] == Check(Level.OK, "buttons", f"{port} opens")
    assert checks[1].level is Level.FAIL
    assert "/dev/guichet-buttons-not-plugged does not exist" in checks[1].message


@pytest.mark.skipif(os.geteuid() != 0, reason="only root opens a port the board's group cannot")
def test_port_the_board_user_cannot_open_is_flagged(tmp_path: Path) -> None:
    """Run as root, the doctor opens anything: it also checks that group dialout could."""
    master, slave = os.openpty()
    try:
        port = os.ttyname(slave)
        os.chown(port, -1, grp.getgrnam("tty").gr_gid)
        os.chmod(port, 0o620)
        checks = by_topic(list(diagnose(board_toml(tmp_path, [port]), lambda u: None)), "buttons")
    finally:
        os.close(master)
        os.close(slave)
    assert checks[0].level is Level.WARN
    assert "not for group dialout" in checks[0].message


def test_board_without_button_box_or_sound(tmp_path: Path) -> None:
    config = board_toml(tmp_path, [], extra="[audio]\nenabled = false\n")
    checks = list(diagnose(config, unit_state=lambda unit: None))
    assert by_topic(checks, "buttons")[0].level is Level.WARN
    assert by_topic(checks, "audio") == [
        Check(Level.OK, "audio", "sound is turned off in the settings")
    ]
    assert by_topic(checks, "server")[0].message == "standalone: no server configured"


def test_sound_cards_are_read_from_proc(tmp_path: Path) -> None:
    cards = write(
        tmp_path / "cards",
        " 0 [vc4hdmi0       ]: vc4-hdmi - vc4-hdmi-0\n"
        "                      vc4-hdmi-0\n"
        " 1 [Headphones     ]: bcm2835_headpho - bcm2835 Headphones\n",
    )
    dev_snd = tmp_path / "snd"
    dev_snd.mkdir()
    (dev_snd / "pcmC1D0p").touch()
    (dev_snd / "controlC0").touch()
    assert alsa_cards(cards, dev_snd) == ["1 Headphones"]
    assert alsa_cards(tmp_path / "absent", dev_snd) == []


def test_server_role_checks_its_own_health(
    tmp_path: Path, server: tuple[str, dict[str, str]]
) -> None:
    url, _tokens = server
    port = url.rsplit(":", 1)[1]
    config = write(
        tmp_path / "server.toml",
        f'role = "server"\nhost = "127.0.0.1"\nport = {port}\n'
        f'database_url = "sqlite:///{tmp_path}/unused.db"\n',
    )
    checks = list(diagnose(config, unit_state=lambda unit: None))
    assert [(c.level, c.topic) for c in checks] == [
        (Level.OK, "config"),
        (Level.OK, "server"),
        (Level.OK, "database"),
        (Level.OK, "disk"),
    ]
    config.write_text(f'role = "server"\nport = {free_port()}\n')
    checks = list(diagnose(config, unit_state=lambda unit: None))
    assert checks[1].level is Level.FAIL
    assert "is guichet-server running?" in checks[1].message


def test_failed_unit_is_reported_with_where_to_look(tmp_path: Path) -> None:
    config = board_toml(tmp_path, [], extra="[audio]\nenabled = false\n")
    checks = list(diagnose(config, unit_state=lambda unit: "failed"))
    assert checks[1] == Check(
        Level.FAIL,
        "service",
        "guichet-display.service is failed: see `journalctl -u guichet-display.service -b` for why",
    )


def test_exit_status_and_one_line_per_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = board_toml(tmp_path, [], extra="[audio]\nenabled = false\n[buttons]\nvirtual = true\n")
    good.write_text(good.read_text().replace("[buttons]\nports = []\n", ""))
    assert run_doctor(good) == 0
    out = capsys.readouterr().out.splitlines()
    assert all(line.split()[0] in ("OK", "WARN") for line in out[:-1])
    assert out[-1].startswith("-- ")

    bad = write(tmp_path / "bad.toml", 'role = "kiosk"\nsite = "Not Valid!"\ndevice_id = "k"\n')
    assert guichet(["doctor", "--config", str(bad)]) == 2
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("FAIL  config")
    assert "field 'site'" in out[0] and str(bad) in out[0]
