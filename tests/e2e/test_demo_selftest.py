"""The README's first command, end to end: the demo site's self-test.

Real processes: the server on SQLite, the virtual printer on TCP, the kiosk (Kivy, simulated
touches) and the board (Kivy, button lines on a pseudo-terminal).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import requests
import zxingcpp
from PIL import Image

from guichet import demo, selftest
from tests.conftest import PATIENCE

pytestmark = pytest.mark.slow


def test_demo_selftest_takes_prints_and_calls_three_tickets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(demo, "PREFERRED_PORTS", (0, 0))
    assert selftest.run_selftest(tmp_path) == 0, capsys.readouterr().out

    shots = tmp_path / "selftest" / "shots"
    tickets = sorted(shots.glob("ticket-*.png"))
    assert [p.name.split("-", 2)[2] for p in tickets] == ["A001.png", "B001.png", "C001.png"]
    assert len(list(shots.glob("kiosk-*.png"))) >= 7
    assert (shots / "board-04-1-next.png").exists()

    # The QR code of a printed ticket opens that ticket's follow page on the demo server.
    codes = zxingcpp.read_barcodes(Image.open(tickets[0]))
    assert codes, "no QR code found on the printed ticket"
    url = codes[0].text
    with (tmp_path / "selftest" / "server.toml").open("rb") as fh:
        public_url = tomllib.load(fh)["public_url"]
    assert url.startswith(public_url + "/t/")
    assert "PASSED" in capsys.readouterr().out


def test_follow_page_answers_while_site_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo server serves the public pages it prints on tickets."""
    monkeypatch.setattr(demo, "PREFERRED_PORTS", (0, 0))
    with demo.running_site(tmp_path, windows=False) as site:
        landing = requests.get(site.url + "/", timeout=PATIENCE)
        assert landing.status_code == 200
        wait = requests.get(f"{site.url}/api/v1/public/sites/mairie/wait", timeout=PATIENCE)
        assert wait.status_code == 200
        assert {s["id"] for s in wait.json()["services"]} >= {"etat-civil", "passeports"}
