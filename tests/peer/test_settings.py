"""The [peers] table of a device's settings: parsed with units, refused with file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.display import DisplaySettings
from config.loader import ConfigError, load_settings

BOARD = """
role = "display"
site = "mairie"
device_id = "board-salle"

[peers]
listen = "0.0.0.0:8765"
urls = ["http://10.0.0.11:8765", "http://kiosk-entree.local:8765"]
interval_seconds = 1.5
"""


def test_peers_are_read_from_the_device_file(tmp_path: Path) -> None:
    path = tmp_path / "board.toml"
    path.write_text(BOARD, encoding="utf-8")
    settings = load_settings(DisplaySettings, path)
    assert settings.peers.listen_address == ("0.0.0.0", 8765)
    assert [str(u) for u in settings.peers.urls] == [
        "http://10.0.0.11:8765/",
        "http://kiosk-entree.local:8765/",
    ]
    assert settings.peers.interval_seconds == 1.5
    assert settings.peers.timeout_seconds == 1.0


def test_without_a_peers_table_the_device_has_no_peers(tmp_path: Path) -> None:
    path = tmp_path / "board.toml"
    path.write_text(BOARD.split("[peers]")[0], encoding="utf-8")
    peers = load_settings(DisplaySettings, path).peers
    assert peers.listen is None and peers.listen_address is None and peers.urls == []


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('listen = "8765"', "peers.listen"),
        ('listen = "0.0.0.0:99999"', "peers.listen"),
        ('urls = ["not a url"]', "peers.urls.0"),
        ("interval_seconds = 0", "peers.interval_seconds"),
        ("colour = 3", "peers.colour"),
    ],
)
def test_a_bad_peers_table_names_the_file_and_the_field(
    tmp_path: Path, line: str, field: str
) -> None:
    path = tmp_path / "board.toml"
    path.write_text(BOARD.split("[peers]")[0] + "[peers]\n" + line + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as bad:
        load_settings(DisplaySettings, path)
    assert any(p.startswith(f"{path}: field '{field}'") for p in bad.value.problems), bad.value
