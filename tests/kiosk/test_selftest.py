"""The demo's self-test: three tickets by simulated touches, a screenshot per screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from kiosk.selftest import run_selftest
from printer.virtual import VirtualPrinter
from tests.conftest import PATIENCE
from tests.kiosk.conftest import SITE_FILE, SiteClock
from tests.printer.conftest import STATUS_PATIENCE

pytestmark = pytest.mark.kivy


def write_config(tmp_path: Path, port: int) -> Path:
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f"""
role = "kiosk"
site = "mairie"
device_id = "kiosk-entree"
journal_path = "{tmp_path / "journal.sqlite3"}"
site_file = "{SITE_FILE}"
fullscreen = true
window_size = [1024, 600]

[printer]
status_timeout_seconds = {STATUS_PATIENCE}

[printer.transport]
kind = "network"
host = "127.0.0.1"
port = {port}
""",
        encoding="utf-8",
    )
    return config


def test_selftest_takes_three_tickets_and_saves_each_screen(
    tmp_path: Path, printer: VirtualPrinter, site_clock: SiteClock
) -> None:
    out = tmp_path / "shots"
    ok = run_selftest(write_config(tmp_path, printer.port), out, touches=3, clock=site_clock)
    assert ok is True
    assert len(printer.wait_for_tickets(3, PATIENCE)) == 3
    assert [t.headline for t in printer.printed] == ["A900", "B900", "D900"]
    names = sorted(p.name for p in out.glob("*.png"))
    assert names[0] == "kiosk-01-idle.png"
    assert sum("ticket-printed" in n for n in names) == 3
    assert sum("-services" in n for n in names) == 3
    with Image.open(out / "kiosk-01-idle.png") as png:
        assert png.size == (1024, 600)


def test_selftest_fails_when_the_printer_has_no_paper(
    tmp_path: Path, printer: VirtualPrinter, site_clock: SiteClock
) -> None:
    printer.simulate("paper_out")
    out = tmp_path / "shots"
    assert (
        run_selftest(write_config(tmp_path, printer.port), out, touches=1, clock=site_clock)
        is False
    )
    assert any("ticket-failed" in p.name for p in out.glob("*.png"))


def test_selftest_fails_when_every_service_is_closed(
    tmp_path: Path, printer: VirtualPrinter, site_clock: SiteClock
) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    site_clock.set(datetime(2026, 11, 22, 10, 0, tzinfo=ZoneInfo("Europe/Paris")))  # Sunday
    out = tmp_path / "shots"
    assert (
        run_selftest(write_config(tmp_path, printer.port), out, touches=1, clock=site_clock)
        is False
    )
    assert printer.tickets == []
