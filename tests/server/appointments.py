"""A site that takes appointments, for the appointment tests of the server and the pages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from config.site import SiteConfig
from server.context import SERVER_NODE
from tests.server.helpers import Srv, site_config
from tickets.hlc import HybridClock

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


def set_clock(srv: Srv, now: float) -> None:
    """The server's wall clock and event clock at ``now`` (site time is Paris)."""
    ctx = srv.thread.ctx
    if not isinstance(getattr(ctx, "test_now", None), list):
        ctx.test_now = [now]  # type: ignore[attr-defined]
        ctx.clock = HybridClock(SERVER_NODE, lambda: ctx.test_now[0])  # type: ignore[attr-defined]
        ctx.wall = lambda: ctx.test_now[0]  # type: ignore[attr-defined]
    ctx.test_now[0] = now  # type: ignore[attr-defined]


def booked_and_checked_in(
    srv: Srv, start: float | None = None, **contact: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Books ``start`` (default 10:00 on MONDAY) on "passports" of "rdv" with ``contact``,
    then checks it in five minutes before; returns (the appointment, the check-in's answer)."""
    start = paris(MONDAY, 10) if start is None else start
    r = srv.request(
        "POST",
        "/api/v1/public/sites/rdv/appointments",
        json={"service": "passports", "start": int(start), **contact},
    )
    assert r.status_code == 200, r.text
    set_clock(srv, start - 300)
    r = srv.request(
        "POST",
        "/api/v1/sites/rdv/appointments/check-in",
        device="kiosk-a",
        json={"code": r.json()["code"]},
    )
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out["appointment"], out
