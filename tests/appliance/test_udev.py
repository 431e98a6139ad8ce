"""The udev rules, run by the real udev rule engine (`udevadm test`) against simulated USB serial
devices: the button box gets /dev/guichet-buttons, group dialout; other devices do not.

systemd 252 (Debian 12) has no `udevadm verify`. Instead each test enters a private mount
namespace (unshare, as root) where /run, /dev and /sys are fresh tmpfs: our rules are
bind-mounted as /run/udev/rules.d, and /sys holds a minimal device tree (a USB device with its
vendor and product ids, an interface, a tty node). `SYSTEMD_DEVICE_VERIFY_SYSFS=0` lets udev accept
that tree. Nothing outside the namespace is touched: udev's symlinks land in the private /dev.
The USB bus itself is the one thing simulated here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import SYSTEMD_DIR

pytestmark = [
    pytest.mark.skipif(
        shutil.which("udevadm") is None or shutil.which("unshare") is None,
        reason="udevadm or unshare not installed",
    ),
    pytest.mark.skipif(os.geteuid() != 0, reason="a private mount namespace needs root"),
]

SCRIPT = r"""
set -e
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /dev
mkdir -p /run/udev/rules.d
mount --bind "$RULES" /run/udev/rules.d
mount -t tmpfs tmpfs /sys
mkdir -p /sys/bus/usb /sys/class/tty
usb=/sys/devices/platform/usb1/1-1
mkdir -p "$usb/1-1:1.0/$NODE/tty/$NODE"
echo "$VID" > "$usb/idVendor"
echo "$PID" > "$usb/idProduct"
echo DEVTYPE=usb_device > "$usb/uevent"
ln -s ../../../bus/usb "$usb/subsystem"
echo DEVTYPE=usb_interface > "$usb/1-1:1.0/uevent"
ln -s ../../../../bus/usb "$usb/1-1:1.0/subsystem"
tty="$usb/1-1:1.0/$NODE/tty/$NODE"
printf 'MAJOR=188\nMINOR=0\nDEVNAME=%s\n' "$NODE" > "$tty/uevent"
echo 188:0 > "$tty/dev"
ln -s ../../../../../../../class/tty "$tty/subsystem"
udevadm test --action=add "$tty" 2>&1
"""


def udev_test(rules: Path, vid: str, pid: str, node: str = "ttyUSB0") -> str:
    env = {
        **os.environ,
        "RULES": str(rules),
        "VID": vid,
        "PID": pid,
        "NODE": node,
        "SYSTEMD_DEVICE_VERIFY_SYSFS": "0",
        "SYSTEMD_LOG_COLOR": "0",
    }
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    if done.returncode != 0 and "Operation not permitted" in done.stdout + done.stderr:
        pytest.skip(f"no private mount namespace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture()
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules.d"
    folder.mkdir()
    for rule in (SYSTEMD_DIR / "udev").glob("*.rules"):
        shutil.copy(rule, folder / rule.name)
    return folder


def properties(output: str) -> dict[str, str]:
    """The device's properties udevadm test prints at the end (KEY=value lines)."""
    props = {}
    for line in output.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.isupper() and " " not in key:
            props[key] = value
    return props


def test_rules_files_parse_without_complaint(rules: Path) -> None:
    out = udev_test(rules, "1a86", "7523")
    ours = [line for line in out.splitlines() if str(rules) in line or "/run/udev/rules.d" in line]
    reading = [line for line in ours if line.startswith("Reading rules file")]
    assert len(reading) == len(list(rules.glob("*.rules")))
    complaints = [line for line in ours if "Invalid" in line or "ignoring" in line]
    assert complaints == []


def test_a_broken_rule_is_reported(rules: Path) -> None:
    """The parse check above can fail: a rule with an unknown key is reported by udev."""
    (rules / "69-broken.rules").write_text('SUBSYSTEM=="tty", FOO{bar}=="x", SYMLINK+="x"\n')
    out = udev_test(rules, "1a86", "7523")
    assert "69-broken.rules:1 Invalid key 'FOO'" in out


@pytest.mark.parametrize(
    ("vid", "pid", "node"),
    [
        ("0403", "6001", "ttyUSB0"),  # FTDI FT232R
        ("0403", "6015", "ttyUSB0"),  # FTDI FT231X
        ("1a86", "7523", "ttyUSB0"),  # CH340
        ("10c4", "ea60", "ttyUSB0"),  # CP2102
        ("2e8a", "000a", "ttyACM0"),  # Raspberry Pi Pico, Pico SDK stdio
        ("2e8a", "0005", "ttyACM0"),  # Raspberry Pi Pico, MicroPython
    ],
)
def test_button_box_gets_its_stable_name_and_group(
    rules: Path, vid: str, pid: str, node: str
) -> None:
    out = udev_test(rules, vid, pid, node)
    props = properties(out)
    assert "/dev/guichet-buttons" in props["DEVLINKS"].split()
    assert props["ID_MM_DEVICE_IGNORE"] == "1"
    assert "61-guichet-buttons.rules" in out and "MODE 0660" in out
    group_lines = [line for line in out.splitlines() if "61-guichet-buttons.rules" in line]
    assert any(" GROUP " in line for line in group_lines)


def test_another_usb_serial_device_is_left_alone(rules: Path) -> None:
    """A Prolific PL2303 (067b:2303) is not one of the button-box chips."""
    out = udev_test(rules, "067b", "2303")
    assert "guichet-buttons" not in properties(out).get("DEVLINKS", "")
    assert "61-guichet-buttons.rules" not in "\n".join(
        line for line in out.splitlines() if not line.startswith("Reading rules file")
    )
