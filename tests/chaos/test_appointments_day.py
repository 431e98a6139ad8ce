"""A short day mixing appointments and walk-ins, end to end: ``guichet simulate`` books
appointments through the server's JSON API (the evening before, and at the reception desk
during the day), people come early, on time, late beyond the tolerance or never, and check in
at a kiosk process through the kiosk's own check-in; counters call by the queue's rule. The
same walk-ins are then played again without appointments.

The report's figures are checked against a computation of this test's own, straight from
the server's database (its events with their corrected times, its appointments table), with
none of the report's code: punctuality, no-shows, walk-in waits both ways, and the longest
run of appointment calls a walk-in waited through.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from guichet.cli import main
from guichet.sim.config import SimConfig
from guichet.sim.site import builtin_site
from guichet.simulate import simulate, summary
from tickets.hlc import Timestamp

TOLERANCE_MINUTES = 5
MAX_IN_A_ROW = 2
DAY = {
    "simulation": {
        "start": "09:00",
        "end": "09:20",
        "speedup": 90,
        "seed": 9,
        "kiosks": 1,
        "boards": 1,
        "counters": 4,
        "drain_minutes": 10,
    },
    "arrivals": {"civil": 24, "passports": 6},
    "service": {
        "distribution": "exponential",
        "no_show": 0.05,
        "recall_after_seconds": 60,
        "mean_minutes": {"civil": 5, "passports": 5},
    },
    "appointments": {
        "booked": {"passports": 1.0},
        "at_reception": 1.0,
        "early": 0.2,
        "late": 0.2,
        "no_show": 0.2,
        "late_minutes": [6, 9],
        "slots": {
            "passports": {
                "duration_minutes": 5,
                "hours": {"mon": ["09:00-09:20"]},
                "parallel": 2,
                "min_notice_minutes": 5,
                "public_holidays": "",
            }
        },
        "calling": {
            "grace_minutes": 5,
            "late_tolerance_minutes": TOLERANCE_MINUTES,
            "max_in_a_row": MAX_IN_A_ROW,
        },
    },
}


@dataclass
class Issued:
    id: str
    service: str
    hlc: Timestamp
    at: float
    appointment_at: float | None


def _events(db: Path) -> list[tuple[str, Timestamp, float, dict[str, Any]]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT kind, hlc, occurred_at, data FROM events").fetchall()
    out = []
    for kind, text, at, data in rows:
        hlc = Timestamp.decode(text)
        out.append((kind, hlc, at if at is not None else hlc.seconds, json.loads(data)))
    return sorted(out, key=lambda e: e[1])


def _p(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    if len(xs) == 1:
        return xs[0]
    return statistics.quantiles(xs, n=100, method="inclusive")[round(q * 100) - 1]


def _waits(db: Path) -> dict[str, Any]:
    """Walk-ins (no appointment) called: issue to first call, seconds."""
    issued: dict[str, float] = {}
    called: dict[str, float] = {}
    for kind, _hlc, at, data in _events(db):
        if kind == "TicketIssued" and "appointment_at" not in data:
            issued[data["ticket"]] = at
        elif kind == "TicketCalled":
            called.setdefault(data["ticket"], at)
    waits = [max(0.0, called[t] - issued[t]) for t in issued if t in called]
    return {
        "count": len(waits),
        "median_seconds": None if not waits else statistics.median(waits),
        "p90_seconds": _p(waits, 0.9),
        "max_seconds": max(waits, default=None),
    }


def _held_back(db: Path) -> tuple[int, float]:
    """Most appointment calls in a row at one counter while a walk-in it takes waited, and
    the longest such run (first appointment call to the counter's next walk-in call, or to
    the walk-in's own call)."""
    takes = {c.id: set(c.services) for c in builtin_site().to_domain().counters}
    tickets: dict[str, Issued] = {}
    first_call: dict[str, Timestamp] = {}
    events = _events(db)
    for kind, hlc, at, data in events:
        if kind == "TicketIssued":
            tickets[data["ticket"]] = Issued(
                data["ticket"], data["service"], hlc, at, data.get("appointment_at")
            )
        elif kind == "TicketCalled":
            first_call.setdefault(data["ticket"], hlc)

    def booked(t: Issued) -> bool:  # checked in for an appointment, and not late
        return t.appointment_at is not None and t.at <= t.appointment_at + TOLERANCE_MINUTES * 60

    runs: dict[tuple[str, str], list[float]] = {}  # (walk-in, counter) -> [count, start]
    most, longest = 0, 0.0
    for kind, hlc, at, data in events:
        if kind != "TicketCalled" or first_call.get(data["ticket"]) != hlc:
            continue
        t, counter = tickets[data["ticket"]], data["counter"]
        waiting = [
            w
            for w in tickets.values()
            if w.hlc < hlc
            and w.id != t.id
            and first_call.get(w.id, Timestamp(2**62, 0, "")) > hlc
            and w.service in takes[counter]
            and not booked(w)
        ]
        ended = [k for k in runs if k[0] == t.id or (k[1] == counter and not booked(t))]
        for k in ended:
            longest = max(longest, at - runs.pop(k)[1])
        if booked(t):
            for w in waiting:
                run = runs.setdefault((w.id, counter), [0, at])
                run[0] += 1
                most = max(most, int(run[0]))
    end = max(at for _k, _h, at, _d in events)
    for run in runs.values():
        longest = max(longest, end - run[1])
    return most, longest


@pytest.mark.slow
def test_a_day_of_appointments_and_walk_ins_reports_what_the_server_recorded(
    tmp_path: Path,
) -> None:
    cfg = SimConfig.model_validate(DAY)
    report = simulate(cfg, tmp_path / "day", quiet=True)
    print(summary(report))
    print(
        {
            k: report.figures.get(k)
            for k in ("real_seconds", "day_real_seconds", "real_seconds_without")
        }
    )
    assert report.violations == []
    f = report.figures
    db = tmp_path / "day" / "server.db"
    with sqlite3.connect(db) as conn:
        appointments = conn.execute(
            "SELECT status, channel, starts_at FROM appointments"
        ).fetchall()
    planned = f["appointments"]["planned"]
    assert planned["booked"] == len(appointments) >= 6
    assert planned["booked_api"] == sum(1 for _s, ch, _t in appointments if ch == "api") >= 1
    assert planned["booked_reception"] == sum(1 for _s, ch, _t in appointments if ch == "console")
    assert planned["booked_reception"] >= 1, "some were booked at the desk during the day"
    # No-shows: booked and never checked in.
    no_shows = sum(1 for status, _c, _t in appointments if status == "booked")
    assert f["appointments"]["no_shows"] == no_shows == planned["no_show"]
    assert f["appointments"]["checked_in"] == len(appointments) - no_shows

    # Punctuality: appointments checked in on time and called, first call within 15 minutes.
    issued: dict[str, tuple[float, float]] = {}
    on_time: list[bool] = []
    late = 0
    for kind, _hlc, at, data in _events(db):
        if kind == "TicketIssued" and "appointment_at" in data:
            if at <= data["appointment_at"] + TOLERANCE_MINUTES * 60:
                issued[data["ticket"]] = (at, data["appointment_at"])
            else:
                late += 1
        elif kind == "TicketCalled" and data["ticket"] in issued:
            on_time.append(at - issued.pop(data["ticket"])[1] <= 15 * 60)
    a = f["appointments"]
    assert a["called"] == len(on_time) >= 3
    assert a["on_time"] == sum(on_time)
    assert a["punctuality"] == pytest.approx(sum(on_time) / len(on_time), abs=1e-4)
    assert a["late_served_as_walk_ins"] == late

    # Walk-in waits, with and without appointments.
    w = f["walk_in_waits"]
    for key, folder in (("with_appointments", "day"), ("without", "day/without-appointments")):
        mine = _waits(tmp_path / folder / "server.db")
        assert w[key]["count"] == mine["count"] >= 5
        for k in ("median_seconds", "p90_seconds", "max_seconds"):
            assert w[key][k] == pytest.approx(mine[k], abs=0.1), (key, k)

    # Held back: the bound holds, and the report's figures are the server's.
    most, longest = _held_back(db)
    h = f["held_back"]
    assert h["bound_in_a_row"] == MAX_IN_A_ROW
    assert h["most_in_a_row"] == most <= MAX_IN_A_ROW
    assert h["longest_seconds"] == pytest.approx(longest, abs=0.1)

    saved = json.loads((tmp_path / "day" / "report.json").read_text())
    assert saved["appointments"] == a and saved["walk_in_waits"]["without"] == w["without"]
    lines = (tmp_path / "day" / "record.jsonl").read_text().splitlines()
    whats = {json.loads(line)["what"] for line in lines}
    assert {"booked", "checked_in"} <= whats


def test_the_example_appointment_day_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "examples"
    assert main(["check-config", str(example / "simulation-appointments.toml")]) == 0
    assert "simulation OK" in capsys.readouterr().out


def test_late_people_who_would_not_be_late_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sim.toml"
    path.write_text(
        "[appointments]\nbooked = { passports = 0.5 }\nlate_minutes = [5, 20]\n"
        "[appointments.slots.passports]\nduration_minutes = 10\n"
        'hours = { mon = ["09:00-11:00"] }\n',
        encoding="utf-8",
    )
    assert main(["simulate", "--config", str(path)]) == 2
    assert "within the late tolerance (15 minutes)" in capsys.readouterr().err


def test_appointments_for_a_service_without_slots_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sim.toml"
    path.write_text("[appointments]\nbooked = { civil = 0.5 }\n", encoding="utf-8")
    assert main(["simulate", "--config", str(path)]) == 2
    assert "service 'civil' has no slots" in capsys.readouterr().err
