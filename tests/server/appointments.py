"""A site that takes appointments, for the appointment tests of the server and the pages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from config.site import SiteConfig
from tests.server.helpers import site_config

PARIS = ZoneInfo("Europe/Paris")
MONDAY = date(2026, 11, 23)
"""A Monday; Wednesday 2026-11-11 before it was Armistice Day (a public holiday)."""


def paris(day: date, hour: int, minute: int = 0) -> float:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS).timestamp()


def appointment_site(site: str = "rdv", **appointments: Any) -> SiteConfig:
    """The test site where "passports" takes appointments on weekdays, 20 minutes each, two
    at a time, 09:00-12:00 and 14:00-16:00, booked at least an hour ahead and at most 30 days
    ahead, closed on 2026-11-27 and French public holidays."""
    raw = site_config(site, counters=4).model_dump(mode="json")
    rules: dict[str, Any] = {
        "duration_minutes": 20,
        "hours": {d: ["09:00-12:00", "14:00-16:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        "parallel": 2,
        "horizon_days": 30,
        "min_notice_minutes": 60,
        "closures": ["2026-11-27"],
    }
    rules.update(appointments)
    raw["services"][1]["appointments"] = rules
    raw["services"][1]["names"]["en"] = "Passports"
    return SiteConfig.model_validate(raw)
