"""The systemd units as installed by systemd/install.sh: systemd's own checker finds nothing to
say about them, their sandboxing scores stay low, and the lockdown masks what it must."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest

from .conftest import ALL_UNITS, ROLE_UNITS, SYSTEMD_DIR, analyze, install_into, needs

pytestmark = needs("systemd-analyze", "systemctl")

# Exposure levels measured with systemd 252 (Debian 12); docs/install.md lists them. A unit whose
# score grows past these limits lost part of its sandbox.
MAX_EXPOSURE = {
    "guichet-kiosk.service": 2.5,
    "guichet-display.service": 2.5,
    "guichet-server.service": 2.0,
    "guichet-firstboot.service": 6.5,
}


def unit_keys(text: str) -> dict[str, list[str]]:
    """Every `Key=value` of a unit file, by `Section.Key`, values in file order."""
    keys: dict[str, list[str]] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        keys.setdefault(f"{section}.{key}", []).append(value)
    return keys


@pytest.mark.parametrize("unit", ALL_UNITS)
def test_systemd_analyze_verify_says_nothing(installed_root: Path, unit: str) -> None:
    """GIVEN the unit installed in a root where its ExecStart binary exists
    WHEN systemd-analyze verify reads it
    THEN it prints nothing at all (verify exits 0 on unknown keys and bad values, so the output is
    what tells a problem) and exits 0."""
    path = installed_root / "etc/systemd/system" / unit
    done = analyze("verify", "--man=no", f"--root={installed_root}", str(path))
    assert done.stdout + done.stderr == ""
    assert done.returncode == 0


def test_verify_reports_a_misspelt_key(installed_root: Path, tmp_path: Path) -> None:
    """The check above can fail: a misspelt directive in a copy of the kiosk unit is reported."""
    unit_dir = installed_root / "etc/systemd/system"
    broken = unit_dir / "guichet-broken.service"
    text = (unit_dir / "guichet-kiosk.service").read_text()
    broken.write_text(text.replace("ProtectHome=yes", "ProtectHomes=yes"))
    try:
        done = analyze("verify", "--man=no", f"--root={installed_root}", str(broken))
    finally:
        broken.unlink()
    assert "ProtectHomes" in done.stdout + done.stderr


@pytest.mark.parametrize("unit", ALL_UNITS)
def test_security_exposure_stays_low(installed_root: Path, unit: str) -> None:
    done = analyze("security", "--offline=yes", f"--root={installed_root}", "--no-pager", unit)
    assert done.returncode == 0, done.stderr
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    assert found, done.stdout[-500:]
    assert float(found.group(1)) <= MAX_EXPOSURE[unit], done.stdout


@pytest.mark.parametrize("unit", ROLE_UNITS)
def test_role_units_restart_notify_and_run_unprivileged(unit: str) -> None:
    keys = unit_keys((SYSTEMD_DIR / unit).read_text())
    role = unit.removeprefix("guichet-").removesuffix(".service")
    assert keys["Service.Type"] == ["notify"]
    assert keys["Service.NotifyAccess"] == ["main"]
    assert keys["Service.WatchdogSec"][0].endswith("s")
    assert keys["Service.Restart"] == ["always"]
    assert "Service.RestartSec" in keys
    assert "Unit.StartLimitIntervalSec" in keys and "Unit.StartLimitBurst" in keys
    assert keys["Service.User"] == ["guichet"]
    assert keys["Unit.Wants"] == ["network-online.target"]
    assert "network-online.target" in keys["Unit.After"]
    assert keys["Service.ExecStart"] == [
        f"/opt/guichet/venv/bin/guichet {role} --config /etc/guichet/{role}.toml"
    ]
    assert keys["Service.EnvironmentFile"] == [f"-/etc/default/guichet-{role}"]
    assert keys["Service.SyslogIdentifier"] == [f"guichet-{role}"]
    assert keys["Service.ProtectSystem"] == ["strict"]
    assert keys["Service.ReadWritePaths"] == ["/var/lib/guichet"]
    for directive in ("NoNewPrivileges", "ProtectHome", "PrivateTmp"):
        assert keys[f"Service.{directive}"] == ["yes"], directive


@pytest.mark.parametrize("unit", ALL_UNITS)
def test_every_sandboxing_directive_has_a_comment(unit: str) -> None:
    """Each directive after the sandboxing heading is preceded by a comment line or belongs to a
    group of directives a single comment introduces (no blank line in between)."""
    lines = (SYSTEMD_DIR / unit).read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# --- Sandboxing"))
    commented = False
    for line in lines[start + 1 :]:
        if line.startswith("["):
            break
        if line.startswith("#"):
            commented = True
        elif not line.strip():
            commented = False
        else:
            assert commented, f"{unit}: no comment above {line}"


def test_kiosk_and_board_groups_and_devices() -> None:
    kiosk = unit_keys((SYSTEMD_DIR / "guichet-kiosk.service").read_text())
    board = unit_keys((SYSTEMD_DIR / "guichet-display.service").read_text())
    server = unit_keys((SYSTEMD_DIR / "guichet-server.service").read_text())
    assert set(kiosk["Service.SupplementaryGroups"][0].split()) == {
        "lp",
        "dialout",
        "video",
        "render",
        "input",
    }
    assert set(board["Service.SupplementaryGroups"][0].split()) == {
        "dialout",
        "audio",
        "video",
        "render",
        "input",
    }
    assert "Service.SupplementaryGroups" not in server
    assert "char-usb_device rw" in kiosk["Service.DeviceAllow"]
    assert "char-alsa rw" in board["Service.DeviceAllow"]
    assert "char-ttyUSB rw" in board["Service.DeviceAllow"]
    assert server["Service.PrivateDevices"] == ["yes"]
    for keys in (kiosk, board):
        assert keys["Service.DevicePolicy"] == ["closed"]
        assert keys["Service.TTYPath"] == ["/dev/tty1"]
        assert "getty@tty1.service" in keys["Unit.Conflicts"]
        env = " ".join(keys["Service.Environment"])
        assert "SDL_VIDEODRIVER=kmsdrm" in env


def test_install_creates_the_account_masks_the_console_and_enables_the_role(
    installed_root: Path,
) -> None:
    passwd = (installed_root / "etc/passwd").read_text()
    assert re.search(r"^guichet:x:\d+:\d+:[^:]*:/var/lib/guichet:/usr/sbin/nologin$", passwd, re.M)
    unit_dir = installed_root / "etc/systemd/system"
    for masked in ("getty@tty1.service", "autovt@tty1.service", "ctrl-alt-del.target"):
        assert (unit_dir / masked).resolve() == Path("/dev/null"), masked
    wants = unit_dir / "multi-user.target.wants"
    assert sorted(p.name for p in wants.iterdir()) == ["guichet-kiosk.service"]
    assert (unit_dir / "sysinit.target.wants/guichet-firstboot.service").is_symlink()
    sysctl = installed_root / "etc/sysctl.d/90-guichet-lockdown.conf"
    assert "kernel.sysrq = 0" in sysctl.read_text()
    logind = configparser.ConfigParser()
    logind.read(installed_root / "etc/systemd/logind.conf.d/90-guichet-lockdown.conf")
    assert logind["Login"]["NAutoVTs"] == "0"
    assert logind["Login"]["ReserveVT"] == "0"
    system = configparser.ConfigParser()
    system.read(installed_root / "etc/systemd/system.conf.d/90-guichet-lockdown.conf")
    assert system["Manager"]["CtrlAltDelBurstAction"] == "none"
    assert (installed_root / "etc/udev/rules.d/61-guichet-buttons.rules").is_file()
    assert (installed_root / "var/lib/guichet").is_dir()


def test_server_install_without_lockdown_keeps_the_console(tmp_path: Path) -> None:
    """A central server is an ordinary machine: no masked getty, no first-boot unit."""
    done = install_into(tmp_path, "--role", "server")
    assert done.returncode == 0, done.stderr
    unit_dir = tmp_path / "etc/systemd/system"
    assert not (unit_dir / "getty@tty1.service").exists()
    assert not (unit_dir / "guichet-firstboot.service").exists()
    assert not (tmp_path / "etc/sysctl.d/90-guichet-lockdown.conf").exists()
    assert (unit_dir / "multi-user.target.wants/guichet-server.service").is_symlink()


def test_install_keeps_local_environment_files_and_moves_the_venv(tmp_path: Path) -> None:
    local = tmp_path / "etc/default/guichet-kiosk"
    local.parent.mkdir(parents=True)
    local.write_text("SDL_KMSDRM_DEVICE_INDEX=1\n")
    done = install_into(tmp_path, "--venv", "/srv/guichet/venv")
    assert done.returncode == 0, done.stderr
    assert local.read_text() == "SDL_KMSDRM_DEVICE_INDEX=1\n"
    kiosk = (tmp_path / "etc/systemd/system/guichet-kiosk.service").read_text()
    assert "ExecStart=/srv/guichet/venv/bin/guichet kiosk" in kiosk
    assert "/opt/guichet" not in kiosk


def test_install_refuses_an_unknown_role(tmp_path: Path) -> None:
    done = install_into(tmp_path, "--role", "printer")
    assert done.returncode == 2
    assert "--role must be kiosk, display or server" in done.stderr
