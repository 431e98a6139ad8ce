"""The health report sent with each sync."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tickets.events import EventKind
from tickets.heartbeat import Heartbeat, clock_amount, clock_right
from tickets.journal import Journal


def test_the_report_has_the_common_fields_then_the_roles(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3", "mairie", "kiosk", wall=lambda: 1000.0)
    bad = journal.record(EventKind.COUNTER_OPENED, counter="1")
    journal.record(EventKind.COUNTER_OPENED, counter="2")
    journal.quarantine(bad.id, "unknown counter")
    ticks = iter([50.0, 170.5])
    beat = Heartbeat(
        "kiosk", journal, version="1.2.3", wall=lambda: 1000.0, monotonic=lambda: next(ticks)
    )
    report = beat.report(990.0, printer="paper_near_end", paper_ok=None)
    assert report == {
        "role": "kiosk",
        "version": "1.2.3",
        "uptime_seconds": 120.5,
        "backlog": 1,
        "quarantined": 1,
        "last_sync": 990.0,
        "last_sync_age_seconds": 10.0,
        "wall_time": 1000.0,
        "clock_offset_seconds": None,
        "printer": "paper_near_end",
        "paper_ok": None,
    }
    json.dumps(report, allow_nan=False)
    journal.close()


def test_before_any_sync_the_age_is_unknown_and_common_fields_cannot_be_overridden(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path / "j.sqlite3", "mairie", "board")
    beat = Heartbeat("display", journal)
    report = beat.report(None)
    assert report["last_sync"] is None and report["last_sync_age_seconds"] is None
    assert isinstance(report["version"], str) and report["version"]
    with pytest.raises(ValueError, match="'backlog'"):
        beat.report(None, backlog=0)
    journal.close()


def test_the_clock_offset_is_unknown_until_a_sync_measures_it_then_kept_across_restarts(
    tmp_path: Path,
) -> None:
    """GIVEN a device never synced, then one whose sync found its clock right, then one whose
    sync found it 1 h 02 min ahead THEN the report says null, then 0, then -3720 s, and a
    restart keeps what was measured."""
    path = tmp_path / "j.sqlite3"
    journal = Journal(path, "mairie", "kiosk")
    beat = Heartbeat("kiosk", journal)
    assert beat.report(None)["clock_offset_seconds"] is None
    assert not journal.adjust_clock(0.3), "a right clock is no correction"
    assert beat.report(None)["clock_offset_seconds"] == 0.0
    journal.close()

    journal = Journal(path, "mairie", "kiosk")
    beat = Heartbeat("kiosk", journal)
    assert beat.report(None)["clock_offset_seconds"] == 0.0, "still measured after a restart"
    assert journal.adjust_clock(-3720.04)
    assert beat.report(None)["clock_offset_seconds"] == -3720.0
    journal.close()

    journal = Journal(path, "mairie", "kiosk")
    assert Heartbeat("kiosk", journal).report(None)["clock_offset_seconds"] == -3720.0
    journal.close()


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0.4, "0 s"),
        (-42.0, "42 s"),
        (59.6, "1 min"),
        (-725.0, "12 min"),
        (3725.0, "1 h 02 min"),
        (-86399.0, "23 h 59 min"),
        (2 * 86400 + 3 * 3600 + 59, "2 d 3 h"),
    ],
)
def test_clock_amounts_read_in_plain_words(seconds: float, words: str) -> None:
    assert clock_amount(seconds) == words


def test_a_clock_within_a_minute_of_the_servers_is_right() -> None:
    assert clock_right(60.0) and clock_right(-60.0) and clock_right(0.0)
    assert not clock_right(60.5) and not clock_right(-61.0)
