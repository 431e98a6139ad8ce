"""The health report sent with each sync."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tickets.events import EventKind
from tickets.heartbeat import Heartbeat
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
