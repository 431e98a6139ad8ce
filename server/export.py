"""The passages export: one row per passage of a ticket through a service's queue, as CSV
(``GET /api/v1/sites/{site}/passages.csv`` and the statistics page's download) and as JSON
(``GET /api/v1/sites/{site}/passages``). The same rows give the figures of ``server.stats``
(docs/statistics.md "The passages export" says how to rebuild them).
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import Engine
from starlette.responses import Response

from server.appointments.indicators import AppointmentIndicators, indicators
from server.sites import LoadedSite
from server.stats import Row, passage_rows, tickets_in_period
from tickets.model import Site
from tickets.queue import Outcome

COLUMNS = (
    "day",
    "ticket",
    "ticket_id",
    "passage",
    "service",
    "issued_for",
    "priority",
    "joined_by",
    "issued_at",
    "joined_at",
    "first_called_at",
    "last_called_at",
    "recalls",
    "counter",
    "transferred_at",
    "ended_at",
    "outcome",
    "final_status",
    "waited_seconds",
    "service_seconds",
    "device",
    "conflict",
)

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A spreadsheet reads a cell starting with one of these as a formula (CSV injection)."""


def neutral(cell: str) -> str:
    """A text cell a spreadsheet shows as text: one starting like a formula gets a leading
    apostrophe (OWASP's advice for CSV injection)."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def row_values(site: Site, r: Row) -> dict[str, Any]:
    """One passage as plain values: times ISO 8601 in the site's time zone with its offset
    (corrected times: docs/statistics.md "Times"), durations in whole seconds."""
    t, p = r.ticket, r.passage

    def iso(epoch: float | None) -> str | None:
        return None if epoch is None else datetime.fromtimestamp(epoch, site.tz).isoformat()

    def seconds(value: float | None) -> int | None:
        return None if value is None else round(value)

    return {
        "day": t.day,
        "ticket": t.label,
        "ticket_id": t.id,
        "passage": r.number,
        "service": p.service,
        "issued_for": t.original_service,
        "priority": t.priority,
        "joined_by": p.joined_by.value,
        "issued_at": iso(t.issued_at),
        "joined_at": iso(p.joined_at),
        "first_called_at": iso(p.called_at),
        "last_called_at": iso(p.last_called_at),
        "recalls": p.recalls,
        "counter": p.counter,
        "transferred_at": iso(p.ended_at) if p.outcome is Outcome.TRANSFERRED else None,
        "ended_at": iso(p.ended_at),
        "outcome": p.outcome.value,
        "final_status": t.status.value,
        "waited_seconds": seconds(p.waited_seconds),
        "service_seconds": seconds(p.service_seconds),
        "device": t.device,
        "conflict": t.conflict,
    }


def passages_csv(site: Site, rows: list[Row]) -> str:
    """RFC 4180 CSV (UTF-8 with a byte-order mark, so spreadsheets read the accents)."""

    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "yes" if value else ""
        return neutral(str(value))

    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for r in rows:
        values = row_values(site, r)
        writer.writerow([cell(values[c]) for c in COLUMNS])
    return out.getvalue()


def csv_response(engine: Engine, loaded: LoadedSite, first: date, last: date) -> Response:
    """The passages CSV of a period as a download (shared with the statistics page)."""
    rows = passage_rows(tickets_in_period(engine, loaded, first, last))
    name = f"passages-{loaded.id}-{first.isoformat()}-{last.isoformat()}.csv"
    return Response(
        passages_csv(loaded.site, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


APPOINTMENT_COLUMNS = (
    "day",
    "service",
    "booked",
    "checked_in",
    "no_shows",
    "called_within_15_min_share",
    "within_published_delay_share",
    "mean_lead_days",
    "first_free_slot",
    "first_free_days_ahead",
)


def appointments_csv(site: Site, found: AppointmentIndicators) -> str:
    """The appointment indicators per service and day (docs/statistics.md "Appointments"),
    RFC 4180 CSV with a byte-order mark; shares between 0 and 1, empty when undefined."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(APPOINTMENT_COLUMNS)
    for d in found.days:
        start = d.first_free_start
        values: list[Any] = [
            d.day.isoformat(),
            d.service,
            d.booked,
            d.checked_in,
            d.no_shows,
            d.called_on_time_share,
            d.within_target_share,
            None if d.mean_lead_days is None else round(d.mean_lead_days, 2),
            None if start is None else site.local(start).isoformat(),
            d.first_free_days_ahead,
        ]
        writer.writerow(["" if v is None else neutral(str(v)) for v in values])
    return out.getvalue()


def appointments_csv_response(
    engine: Engine, loaded: LoadedSite, first: date, last: date, now: float
) -> Response:
    found = indicators(engine, loaded, first, last, now)
    name = f"appointments-{loaded.id}-{first.isoformat()}-{last.isoformat()}.csv"
    return Response(
        appointments_csv(loaded.site, found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
