"""The passages CSV: what a spreadsheet would run as a formula is neutralised; times keep
their milliseconds."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from server import sync
from server.export import passages_csv
from server.stats import passage_rows
from tests.server.helpers import MANAGER, SITE, DeviceClock, Srv, site_config, wire
from tickets.events import Event, EventKind
from tickets.queue import fold


def exported(issued: Event) -> dict[str, str]:
    """The CSV row of the ticket this event issues."""
    site = site_config().to_domain()
    rows = passage_rows(list(fold(site, [issued]).tickets.values()))
    return next(csv.DictReader(io.StringIO(passages_csv(site, rows).lstrip("\ufeff"))))


@pytest.mark.parametrize(
    "text", ["=1+2", "+33 1 23", "-2+3", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x")']
)
def test_a_cell_that_starts_like_a_formula_is_written_as_text(text: str) -> None:
    """GIVEN a ticket stored before labels and priorities were checked at sync (or by another
    way in) WHEN it is exported THEN its label and priority start with an apostrophe."""
    kiosk = DeviceClock("kiosk-a", wall=1_773_130_000.0)
    issued = kiosk.make(
        EventKind.TICKET_ISSUED,
        ticket="t1",
        service="civil",
        number=1,
        day="2026-03-10",
        label=text,
        priority=text,
    )
    row = exported(issued)
    assert (row["ticket"], row["priority"]) == ("'" + text, "'" + text)


def test_ordinary_cells_are_left_alone() -> None:
    kiosk = DeviceClock("kiosk-a", wall=1_773_130_000.0)
    row = exported(kiosk.issued(7))
    assert (row["ticket"], row["issued_at"]) == ("A007", "2026-03-10T09:06:40+01:00")


def test_the_csv_times_carry_milliseconds_and_rebuild_the_waits_exactly() -> None:
    """GIVEN devices whose clocks keep milliseconds (a ticket issued at 09:00:00.400, called
    at 09:05:10.150 and served at 09:12:00.900) WHEN the passage is exported THEN its times
    carry the milliseconds, so the wait rebuilt from them is the statistics' own (309.75 s),
    and ``waited_seconds`` / ``service_seconds`` are those durations to the nearest second."""
    site = site_config().to_domain()
    t0 = datetime(2026, 3, 10, 9, 0, tzinfo=ZoneInfo("Europe/Paris")).timestamp()
    kiosk, board = DeviceClock("kiosk-a"), DeviceClock("board-a")
    issued = kiosk.at(t0 + 0.4).issued(7)
    ticket = issued.data["ticket"]
    called = board.at(t0 + 310.15).make(EventKind.TICKET_CALLED, ticket=ticket, counter="1")
    served = board.at(t0 + 720.9).make(EventKind.TICKET_SERVED, ticket=ticket, counter="1")
    (passage,) = passage_rows(list(fold(site, [issued, called, served]).tickets.values()))
    row = next(csv.DictReader(io.StringIO(passages_csv(site, [passage]).lstrip("\ufeff"))))
    assert row["joined_at"] == "2026-03-10T09:00:00.400000+01:00"
    assert row["first_called_at"] == "2026-03-10T09:05:10.150000+01:00"
    assert row["ended_at"] == "2026-03-10T09:12:00.900000+01:00"

    def between(a: str, b: str) -> float:
        return (
            datetime.fromisoformat(row[b]).timestamp() - datetime.fromisoformat(row[a]).timestamp()
        )

    assert between("joined_at", "first_called_at") == pytest.approx(309.75, abs=1e-6)
    assert passage.passage.waited_seconds == pytest.approx(309.75, abs=1e-6)
    assert between("first_called_at", "ended_at") == pytest.approx(410.75, abs=1e-6)
    assert (row["waited_seconds"], row["service_seconds"]) == ("310", "411")


def test_the_downloaded_csv_neutralises_a_formula_stored_before_the_sync_checks(
    srv: Srv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a device's upload of a ticket labelled ``=1+2`` with the priority
    ``=HYPERLINK(...)``: refused at sync (422) WHEN it was stored all the same (a database from
    before the check: here the check is switched off) THEN the CSV a manager downloads over
    HTTP holds both as text."""
    kiosk = DeviceClock("kiosk-a")
    issued = kiosk.make(
        EventKind.TICKET_ISSUED,
        ticket="t-formula",
        service="civil",
        number=1,
        day=kiosk.issued(1).data["day"],
        label="=1+2",
        priority='=HYPERLINK("http://x","y")',
    )
    assert srv.sync("kiosk-a", events=wire([issued])).status_code == 422
    monkeypatch.setattr(sync, "check_label_and_priority", lambda *_args: None)
    assert srv.sync("kiosk-a", events=wire([issued])).status_code == 200
    day = issued.data["day"]
    r = srv.request("GET", f"/api/v1/sites/{SITE}/passages.csv?from={day}&to={day}", user=MANAGER)
    assert r.status_code == 200, r.text
    (row,) = csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")))
    assert (row["ticket"], row["priority"]) == ("'=1+2", '\'=HYPERLINK("http://x","y")')
