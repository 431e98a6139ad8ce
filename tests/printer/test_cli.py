"""``guichet printer test`` and ``guichet printer virtual``."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from config.loader import ConfigError
from printer import PrinterState, TicketContent, open_printer
from printer.cli import test_ticket as print_test_ticket
from printer.virtual import VirtualPrinter
from tests.conftest import PATIENCE
from tests.printer.conftest import STATUS_PATIENCE
from tests.printer.test_network import network_printer

ROOT = Path(__file__).parents[2]


def kiosk_file(tmp_path: Path, printer_table: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(
        'role = "kiosk"\nsite = "mairie"\ndevice_id = "kiosk-entree"\n'
        'follow_base_url = "https://guichet.example.fr/suivi"\n' + printer_table,
        encoding="utf-8",
    )
    return path


def network_table(port: int) -> str:
    return (
        f"[printer]\nstatus_timeout_seconds = {STATUS_PATIENCE}\n"
        f'[printer.transport]\nkind = "network"\nhost = "127.0.0.1"\nport = {port}\n'
    )


def test_test_ticket_prints_on_the_virtual_printer(
    tmp_path: Path, virtual_printer: VirtualPrinter, capsys: pytest.CaptureFixture[str]
) -> None:
    config = kiosk_file(tmp_path, network_table(virtual_printer.port))
    assert print_test_ticket(config) == 0
    out = capsys.readouterr().out
    assert f"Printer: network printer 127.0.0.1:{virtual_printer.port}, 80 mm paper" in out
    assert "After the test ticket: ready" in out
    (png,) = virtual_printer.wait_for_tickets(1, PATIENCE)
    assert png.name == "0001-T000.png"
    log = virtual_printer.printed[0].log
    assert "[center 1x1] kiosk-entree - network - 80 mm" in log
    assert "[center 1x1] Accents : é è à ç ô œ € Œ ù" in log
    assert any(line.endswith("https://guichet.example.fr/suivi") for line in log)


def test_test_ticket_fails_on_paper_out(
    tmp_path: Path, virtual_printer: VirtualPrinter, capsys: pytest.CaptureFixture[str]
) -> None:
    virtual_printer.simulate("paper_out")
    config = kiosk_file(tmp_path, network_table(virtual_printer.port))
    assert print_test_ticket(config) == 1
    out = capsys.readouterr().out
    assert "Status: paper_out - Out of paper" in out
    assert "No test ticket printed." in out


def test_bad_printer_config_is_a_config_error_naming_the_field(tmp_path: Path) -> None:
    config = kiosk_file(tmp_path, "[printer]\npaper_mm = 76\n")
    with pytest.raises(ConfigError) as err:
        print_test_ticket(config)
    assert any("printer.paper_mm" in p and str(config) in p for p in err.value.problems)


def test_guichet_printer_test_command(tmp_path: Path, virtual_printer: VirtualPrinter) -> None:
    config = kiosk_file(tmp_path, network_table(virtual_printer.port))
    result = subprocess.run(
        [sys.executable, "-m", "guichet", "printer", "test", "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(virtual_printer.wait_for_tickets(1, PATIENCE)) == 1


def ignoring_sigint() -> None:
    """As a shell starts a script's background job (``cmd &``): SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize(
    ("stop", "inherited"),
    [
        (signal.SIGINT, None),
        (signal.SIGINT, ignoring_sigint),
        (signal.SIGTERM, ignoring_sigint),
        (signal.SIGHUP, ignoring_sigint),
    ],
    ids=["ctrl-c", "ctrl-c-in-a-background-job", "sigterm", "sighup-terminal-closed"],
)
def test_guichet_printer_virtual_command(
    tmp_path: Path,
    reference: TicketContent,
    stop: signal.Signals,
    inherited: Callable[[], None] | None,
) -> None:
    """GIVEN `guichet printer virtual` running (also started with SIGINT ignored, as from a
    script's background job) WHEN a ticket is sent to the port it prints THEN it reports the
    PNG, and SIGINT, SIGTERM or SIGHUP stops it cleanly (exit 0)."""
    out = tmp_path / "png"
    with subprocess.Popen(
        [sys.executable, "-m", "guichet", "printer", "virtual", "--port", "0", "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=inherited,
    ) as proc:
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)", first)
            assert match, first
            assert "as PNG" in proc.stdout.readline()
            printer = network_printer(int(match.group(1)))
            assert printer.print_ticket(reference).state is PrinterState.READY
            printer.close()
            assert proc.stdout.readline().strip() == f"printed {out}/0001-A042.png"
            proc.send_signal(stop)
            assert proc.wait(timeout=PATIENCE) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


def test_open_printer_never_raises_for_an_absent_device(tmp_path: Path) -> None:
    from config.printer import FileTransport, PrinterSettings, SerialTransport

    for transport in (
        SerialTransport(port=str(tmp_path / "none")),
        FileTransport(path=tmp_path / "none"),
    ):
        printer = open_printer(PrinterSettings(transport=transport))
        assert printer.status().state is PrinterState.OFFLINE
        printer.close()
