"""A short chaotic day, end to end: ``guichet simulate`` with two kiosks and two boards as
real processes, the server stopped for a while, the LAN cut, a kiosk cut from the server only,
processes killed with SIGKILL and restarted, two clocks a little wrong. Afterwards every check
of ``guichet.sim.report`` must hold: no ticket lost, no number printed twice, calls at most
once unless flagged, no FIFO inversion, every event at the server exactly once, every device
folding the server's queue, and the server's statistics matching the simulator's own record.

The long version (a whole day, more faults) is ``bench/chaos_run.py``; see docs/offline.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guichet.cli import main
from guichet.sim.config import SimConfig
from guichet.simulate import simulate, summary

SHORT_DAY = {
    "simulation": {
        "start": "09:00",
        "end": "09:16",
        "speedup": 60,
        "seed": 7,
        "kiosks": 2,
        "boards": 2,
        "counters": 4,
        "drain_minutes": 12,
    },
    "arrivals": {"civil": 60, "passports": 20},
    "service": {"distribution": "exponential", "no_show": 0.1, "recall_after_seconds": 60},
    "chaos": {
        "kills": 3,
        "restart_after_seconds": 45,
        "server_outages": [["09:04", "09:09"]],
        "lan_cuts": [["09:07", "09:11"]],
        "server_cuts": {"kiosk-1": [["09:11", "09:15"]]},
        "skew_seconds": {"kiosk-2": 12, "board-1": -10},
    },
}


@pytest.mark.slow
def test_a_short_day_of_faults_breaks_no_promise(tmp_path: Path) -> None:
    cfg = SimConfig.model_validate(SHORT_DAY)
    report = simulate(cfg, tmp_path / "day", quiet=True)
    print(summary(report))
    assert report.violations == []
    f = report.figures
    assert f["faults"]["server_stops"] == 1 and f["faults"]["lan_cuts"] == 1
    assert f["faults"]["server_cuts"] == 1
    assert f["fifo_inversions"] == 0
    assert f["faults"]["kills"] >= 1
    assert f["tickets"] >= 8 and f["called"] >= 5
    assert report.checks >= 3 * f["tickets"], "every ticket was checked"
    saved = json.loads((tmp_path / "day" / "report.json").read_text())
    assert saved["violations"] == [] and saved["checks"] == report.checks
    lines = (tmp_path / "day" / "record.jsonl").read_text().splitlines()
    whats = {json.loads(line)["what"] for line in lines}
    assert {"issued", "called", "served", "kill", "restart"} <= whats


def test_a_bad_simulation_file_names_the_file_and_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sim.toml"
    path.write_text('[simulation]\nstart = "9h"\nspeedup = -1\n', encoding="utf-8")
    assert main(["simulate", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: field 'simulation.start'" in err
    assert f"{path}: field 'simulation.speedup'" in err
    assert main(["check-config", str(path)]) == 2


def test_arrivals_for_a_service_the_site_does_not_have_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sim.toml"
    path.write_text("[arrivals]\ncadastre = 3\n", encoding="utf-8")
    assert main(["simulate", "--config", str(path)]) == 2
    assert "cadastre" in capsys.readouterr().err


def test_the_example_simulation_file_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "examples" / "simulation.toml"
    assert main(["check-config", str(example)]) == 0
    assert "simulation OK" in capsys.readouterr().out


@pytest.mark.parametrize(
    "fault",
    [
        '[chaos.server_cuts]\nkiosk-3 = [["09:00", "09:10"]]',
        '[chaos.clock_boots]\nkiosk-3 = [["09:00", 60]]',
    ],
    ids=["server_cuts", "clock_boots"],
)
def test_a_fault_of_a_device_the_day_does_not_have_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fault: str
) -> None:
    path = tmp_path / "sim.toml"
    path.write_text(f"[simulation]\nkiosks = 2\n{fault}\n", encoding="utf-8")
    assert main(["check-config", str(path)]) == 2
    assert "no device kiosk-3 in this day" in capsys.readouterr().err
