"""First boot of the SD-card image: /boot/firmware/guichet.toml applied to a root folder prepared
by systemd/install.sh, as guichet-firstboot.service does on the device (there with the real root
and a remount; here with --root pointing at a temporary folder)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from guichet.firstboot import dumps, main

from .conftest import REPO, install_into

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="sets file owners: needs root")

KIOSK = """
role = "kiosk"
site = "mairie"
device_id = "kiosk-entree"

[server]
url = "http://guichet.local:8000"
token = "s3cret-token"

[printer.transport]
kind = "usb"
vendor_id = 0x04b8
product_id = 0x0202

[appliance]
timezone = "Europe/Paris"
"""


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "root"
    done = install_into(folder, "--lockdown", "--image")
    assert done.returncode == 0, done.stderr
    zone = folder / "usr/share/zoneinfo/Europe/Paris"
    zone.parent.mkdir(parents=True)
    zone.write_bytes(b"TZif2")
    (folder / "etc/hosts").write_text("127.0.0.1\tlocalhost\n127.0.1.1\traspberrypi\n")
    return folder


@pytest.fixture()
def boot(tmp_path: Path) -> Path:
    folder = tmp_path / "boot"
    folder.mkdir()
    return folder


def enabled(root: Path) -> list[str]:
    wants = root / "etc/systemd/system/multi-user.target.wants"
    return sorted(p.name for p in wants.iterdir()) if wants.is_dir() else []


def guichet_gid(root: Path) -> int:
    for line in (root / "etc/group").read_text().splitlines():
        if line.startswith("guichet:"):
            return int(line.split(":")[2])
    raise AssertionError("no guichet group")


def test_kiosk_configuration_is_applied(root: Path, boot: Path) -> None:
    boot_file = boot / "guichet.toml"
    boot_file.write_text(KIOSK)
    (boot / "guichet-site.toml").write_text('[site]\nid = "mairie"\n')
    assert main(["--boot-file", str(boot_file), "--root", str(root)]) == 0

    config = root / "etc/guichet/kiosk.toml"
    expected = tomllib.loads(KIOSK)
    del expected["appliance"]
    assert tomllib.loads(config.read_text()) == expected
    info = config.stat()
    assert (info.st_mode & 0o777, info.st_uid, info.st_gid) == (0o640, 0, guichet_gid(root))
    assert (root / "etc/guichet/site.toml").read_text() == '[site]\nid = "mairie"\n'
    assert (root / "etc/hostname").read_text() == "guichet-kiosk-entree\n"
    hosts = (root / "etc/hosts").read_text().splitlines()
    assert hosts == ["127.0.0.1\tlocalhost", "127.0.1.1\tguichet-kiosk-entree"]
    assert os.readlink(root / "etc/localtime") == "/usr/share/zoneinfo/Europe/Paris"
    assert (root / "etc/timezone").read_text() == "Europe/Paris\n"
    assert enabled(root) == ["guichet-kiosk.service"]

    # The service's own loader reads the written file.
    from config.kiosk import KioskSettings
    from config.loader import load_settings

    assert load_settings(KioskSettings, config).server.token == "s3cret-token"


def test_unchanged_file_is_not_applied_again_and_a_new_role_replaces_the_old(
    root: Path, boot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    boot_file = boot / "guichet.toml"
    boot_file.write_text(KIOSK)
    assert main(["--boot-file", str(boot_file), "--root", str(root)]) == 0
    capsys.readouterr()
    assert main(["--boot-file", str(boot_file), "--root", str(root)]) == 0
    assert "unchanged" in capsys.readouterr().out

    boot_file.write_text(
        'role = "display"\nsite = "mairie"\ndevice_id = "board-salle"\n'
        '[appliance]\nhostname = "Tableau-Salle"\n'
    )
    assert main(["--boot-file", str(boot_file), "--root", str(root)]) == 0
    assert enabled(root) == ["guichet-display.service"]
    assert (root / "etc/hostname").read_text() == "tableau-salle\n"
    assert (root / "etc/guichet/display.toml").is_file()


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (KIOSK.replace("device_id", "devise_id"), "field 'devise_id': unknown field"),
        (KIOSK.replace('kind = "usb"', 'kind = "bluetooth"'), "field 'printer.transport'"),
        (KIOSK.replace('role = "kiosk"', 'role = "printer"'), "field 'role'"),
        (KIOSK.replace("Europe/Paris", "Mars/Olympus"), "field 'appliance.timezone'"),
        (KIOSK + 'hostname = "bad_name!"\n', "field 'appliance.hostname'"),
        (KIOSK + "wifi = true\n", "field 'appliance.wifi': unknown field"),
        ("role = 1\n" + KIOSK, "not valid TOML"),
    ],
)
def test_a_bad_file_is_refused_naming_the_field_and_nothing_changes(
    root: Path, boot: Path, capsys: pytest.CaptureFixture[str], text: str, field: str
) -> None:
    boot_file = boot / "guichet.toml"
    boot_file.write_text(text)
    assert main(["--boot-file", str(boot_file), "--root", str(root)]) == 2
    out = capsys.readouterr().out
    assert f"{boot_file}: " in out
    assert field in out
    assert not (root / "etc/guichet/kiosk.toml").exists()
    assert not (root / "etc/hostname").exists()
    assert enabled(root) == []


def test_the_module_runs_as_the_unit_starts_it(root: Path, boot: Path) -> None:
    boot_file = boot / "guichet.toml"
    boot_file.write_text(KIOSK)
    done = subprocess.run(
        [sys.executable, "-m", "guichet.firstboot", "--boot-file", str(boot_file), "--root", root],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "applied: kiosk kiosk-entree of site mairie" in done.stdout


# ---- the TOML writer (tomli-w): what firstboot writes reads back the same ------------------
keys = st.text(min_size=1, max_size=8)
scalars = (
    st.text(max_size=12)
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.booleans()
    | st.dates()
    | st.times()
    | st.datetimes(timezones=st.just(timezone(timedelta(hours=2))))
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(keys, values, max_size=5))
@example({"key\n": 1, "t": {"a\n": [1]}})  # a bare-looking key with a newline at its end
def test_dumps_round_trips_through_tomllib(data: dict[str, Any]) -> None:
    assert tomllib.loads(dumps(data)) == data


def test_dumps_writes_tables_arrays_of_tables_and_special_values() -> None:
    data = {
        "role": "kiosk",
        "size": [1024, 600],
        "ratio": float("inf"),
        "when": datetime(2026, 11, 23, 8, 30),
        "day": date(2026, 11, 23),
        "at": time(8, 30),
        'quote "key"': "tab\tdel\x7f",
        "server": {"url": "http://x", "nested": {"a": 1}},
        "services": [{"id": "a", "names": {"fr": "État"}}, {"id": "b"}],
    }
    assert tomllib.loads(dumps(data)) == data
    assert "\n[server.nested]\n" in dumps(data)  # tables as headers, readable on the device


@pytest.mark.parametrize(
    "name", ["kiosk.toml", "display.toml", "server.toml", "site-townhall.toml"]
)
def test_dumps_round_trips_the_example_files(name: str) -> None:
    data = tomllib.loads((REPO / "config/examples" / name).read_text())
    assert tomllib.loads(dumps(data)) == data
