"""Shared fixtures of the appliance tests: a root folder with Guichet's units installed in it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SYSTEMD_DIR = REPO / "systemd"
ROLE_UNITS = ("guichet-kiosk.service", "guichet-display.service", "guichet-server.service")
ALL_UNITS = (*ROLE_UNITS, "guichet-firstboot.service")


def needs(*tools: str) -> pytest.MarkDecorator:
    missing = [t for t in tools if shutil.which(t) is None]
    return pytest.mark.skipif(bool(missing), reason=f"not installed here: {', '.join(missing)}")


def install_into(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SYSTEMD_DIR / "install.sh"), "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="session")
def installed_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root folder as systemd/install.sh leaves it for a kiosk of the SD-card image, plus what
    `systemd-analyze verify --root` needs to resolve the units: the system's own units (targets,
    getty...) and an executable at each path the units start (/opt/guichet/venv/bin/...), since
    verify refuses a unit whose ExecStart binary does not exist under the root."""
    if shutil.which("systemctl") is None or shutil.which("systemd-sysusers") is None:
        pytest.skip("systemd is not installed here")
    root = tmp_path_factory.mktemp("root")
    done = install_into(root, "--role", "kiosk", "--lockdown", "--image")
    assert done.returncode == 0, done.stderr
    system_units = Path("/usr/lib/systemd/system")
    shutil.copytree(system_units, root / "usr/lib/systemd/system", symlinks=True)
    venv_bin = root / "opt/guichet/venv/bin"
    venv_bin.mkdir(parents=True)
    for name in ("guichet", "python"):
        stub = venv_bin / name
        stub.write_text("#!/bin/sh\nexit 0\n")
        stub.chmod(0o755)
    return root


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": ""}
    return subprocess.run(
        ["systemd-analyze", *args], capture_output=True, text=True, timeout=60, env=env
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "image: builds a Debian root with the image recipe (slow; make test-image)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The image tests run only when asked for with `-m image` (make test-image)."""
    if "image" in (config.getoption("markexpr", "") or ""):
        return
    skip = pytest.mark.skip(reason="slow image build: run `make test-image`")
    for item in items:
        if item.get_closest_marker("image") is not None:
            item.add_marker(skip)
