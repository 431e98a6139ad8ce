"""The passages CSV neutralises what a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io

import pytest

from server.export import passages_csv
from server.stats import passage_rows
from tests.server.helpers import DeviceClock, site_config
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
