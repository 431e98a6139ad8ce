"""The SD-card image recipe (images/), run for real in a Debian bookworm root made with
debootstrap: the same chroot script the Raspberry Pi image runs, minus the Pi's boot firmware
(GUICHET_PLATFORM=debian). Slow (several minutes, downloads Debian and PyPI packages): marked
`image`, left out of `make test`, run by `make test-image`.

What this proves: the packages install and import from the venv with the locked versions, the
units verify against the real venv, the lockdown and read-only root are in place, and the
first-boot command enables the configured role inside the built root. What it cannot prove
here: booting the Pi, KMS/DRM on its GPU, the partition growth (docs/image.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ALL_UNITS, REPO, analyze

pytestmark = [
    pytest.mark.image,
    pytest.mark.skipif(os.geteuid() != 0, reason="debootstrap and chroot need root"),
    pytest.mark.skipif(
        shutil.which("debootstrap") is None, reason="debootstrap missing: scripts/apt-deps.sh image"
    ),
]

MIRROR = os.environ.get("GUICHET_DEBIAN_MIRROR", "http://deb.debian.org/debian")
PI_FSTAB = """proc            /proc           proc    defaults          0       0
PARTUUID=4e639091-01  /boot/firmware  vfat    defaults          0       2
PARTUUID=4e639091-02  /               ext4    defaults,noatime  0       1
"""
KIOSK = """role = "kiosk"
site = "mairie"
device_id = "kiosk-entree"
[server]
url = "http://guichet.local:8000"
token = "t0ken"
[appliance]
hostname = "kiosk-test"
"""


def run(*command: str | Path, timeout: float = 1200, **env: str) -> str:
    done = subprocess.run(
        [str(c) for c in command],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, f"{command}: {done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def image_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("image") / "root"
    run("debootstrap", "--variant=minbase", "bookworm", root, MIRROR)
    (root / "etc/fstab").write_text(PI_FSTAB)
    # A private mount namespace: nothing the recipe mounts can outlive the test.
    run(
        "unshare",
        "--mount",
        "--propagation",
        "private",
        REPO / "images/build.sh",
        "customize",
        root,
        GUICHET_PLATFORM="debian",
        PYTHON=sys.executable,
    )
    return root


def in_root(root: Path, *command: str) -> str:
    return run("chroot", root, *command, timeout=120)


def test_guichet_and_its_libraries_import_from_the_venv(image_root: Path) -> None:
    modules = (
        "guichet.cli guichet.doctor guichet.firstboot tickets config printer kiosk display "
        "server kivy fastapi uvicorn sqlalchemy psycopg escpos serial usb PIL qrcode"
    )
    code = (
        f"import importlib\nfor m in {modules.split()!r}: importlib.import_module(m)\nprint('ok')"
    )
    env_python = "/opt/guichet/venv/bin/python"
    out = run(
        "chroot", image_root, "env", "KIVY_NO_ARGS=1", "KIVY_HOME=/tmp/kivy", env_python, "-c", code
    )
    assert out.strip().endswith("ok")
    assert "usage: guichet" in in_root(image_root, "/opt/guichet/venv/bin/guichet", "--help")


def test_installed_versions_are_the_locked_ones(image_root: Path) -> None:
    locked = {}
    for line in (REPO / "images/requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            locked[name.lower().replace("_", "-")] = version
    frozen = in_root(image_root, "/opt/guichet/venv/bin/pip", "freeze", "--all")
    installed = {}
    for line in frozen.splitlines():
        if "==" in line:
            name, version = line.split("==")
            installed[name.lower().replace("_", "-")] = version
    differing = {n: (v, installed.get(n)) for n, v in locked.items() if installed.get(n, v) != v}
    assert differing == {}
    assert set(installed) - set(locked) <= {"guichet", "pip", "setuptools", "wheel"}


@pytest.mark.parametrize("unit", ALL_UNITS)
def test_units_verify_against_the_real_venv(image_root: Path, unit: str) -> None:
    path = image_root / "etc/systemd/system" / unit
    done = analyze("verify", "--man=no", f"--root={image_root}", str(path))
    assert done.stdout + done.stderr == ""
    assert done.returncode == 0


def test_lockdown_and_read_only_root(image_root: Path) -> None:
    def state(unit: str) -> str:
        done = subprocess.run(
            ["systemctl", f"--root={image_root}", "is-enabled", unit],
            capture_output=True,
            text=True,
        )
        return done.stdout.strip()

    assert state("guichet-firstboot.service") == "enabled"
    assert state("guichet-grow-data.service") == "enabled"
    for masked in ("getty@tty1.service", "ctrl-alt-del.target", "apt-daily.timer"):
        assert state(masked) == "masked", masked
    fstab = (image_root / "etc/fstab").read_text().splitlines()
    assert "PARTUUID=4e639091-02  /               ext4    defaults,ro,noatime  0       1" in fstab
    assert "PARTUUID=4e639091-01  /boot/firmware  vfat    defaults,ro          0       2" in fstab
    mounts = {line.split()[1]: line.split()[2] for line in fstab if line and line[0] != "#"}
    assert mounts["/var/lib/guichet"] == "ext4"
    for tmpfs in ("/tmp", "/var/tmp", "/var/log", "/var/cache/guichet"):
        assert mounts[tmpfs] == "tmpfs", tmpfs
    assert (image_root / "etc/machine-id").read_text() == ""
    assert (image_root / "boot/firmware/guichet.toml.example").is_file()
    assert not (image_root / "tmp/guichet-src").exists()
    assert not (image_root / "usr/sbin/policy-rc.d").exists()
    passwd = (image_root / "etc/passwd").read_text()
    assert "\nguichet:" in passwd


def test_first_boot_enables_the_configured_role_inside_the_image(image_root: Path) -> None:
    (image_root / "boot/firmware/guichet.toml").write_text(KIOSK)
    out = in_root(
        image_root,
        "/opt/guichet/venv/bin/python",
        "-m",
        "guichet.firstboot",
        "--boot-file",
        "/boot/firmware/guichet.toml",
    )
    assert "applied: kiosk kiosk-entree of site mairie" in out
    wants = image_root / "etc/systemd/system/multi-user.target.wants"
    assert (wants / "guichet-kiosk.service").is_symlink()
    assert (image_root / "etc/hostname").read_text() == "kiosk-test\n"
    check = in_root(
        image_root, "/opt/guichet/venv/bin/guichet", "check-config", "/etc/guichet/kiosk.toml"
    )
    assert "kiosk configuration OK" in check
