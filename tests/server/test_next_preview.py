"""GET .../counters/{counter}/next: who a counter would call, without calling, by the site's
calling rule (the same rule as POST .../next), over real HTTP; and what closing time does to
calling (nothing)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from config.site import SiteConfig
from tests.server.helpers import (
    AGENT,
    ALL_DAY,
    MANAGER,
    OTHER_AGENT,
    SITE,
    DeviceClock,
    Srv,
    site_config,
    wire,
)
from tickets.model import PriorityRule


def with_rule(rule: PriorityRule) -> SiteConfig:
    cfg = site_config()
    return cfg.model_copy(update={"site": cfg.site.model_copy(update={"priority_rule": rule})})


def preview(srv: Srv, counter: str, user: tuple[str, str] = AGENT) -> dict:
    r = srv.request("GET", f"/api/v1/sites/{SITE}/counters/{counter}/next", user=user)
    assert r.status_code == 200, r.text
    out: dict = r.json()
    return out


@pytest.mark.parametrize(
    ("rule", "expected"),
    [(PriorityRule.ACROSS_SERVICES, "A"), (PriorityRule.WITHIN_SERVICE, "B")],
)
def test_the_preview_is_who_next_then_calls_by_the_sites_rule(
    srv: Srv, rule: PriorityRule, expected: str
) -> None:
    """GIVEN an ordinary passports ticket, then a priority civil-status ticket, and counter 2
    taking passports first WHEN its agent asks who is next, twice, then presses next
    THEN across services the priority ticket is announced and called; within a service the
    passports ticket is; asking changes nothing."""
    srv.thread.load_site(with_rule(rule))
    b = srv.issue("passports")
    a = srv.issue("civil", priority="pregnancy")
    label = {"A": a["ticket"]["label"], "B": b["ticket"]["label"]}[expected]
    before = srv.count()
    first, second = preview(srv, "2"), preview(srv, "2")
    assert first == second
    assert (first["next"]["label"], first["current"], first["priority_rule"]) == (
        label,
        None,
        rule.value,
    )
    assert srv.count() == before  # a preview makes no event
    called = srv.act("2", "next")
    assert called["ticket"]["label"] == label
    after = preview(srv, "2")
    assert after["current"]["label"] == label
    assert after["next"]["label"] != label


def test_the_preview_says_nobody_and_refuses_strangers(srv: Srv) -> None:
    assert preview(srv, "1", user=MANAGER)["next"] is None
    url = f"/api/v1/sites/{SITE}/counters/1/next"
    assert srv.request("GET", url).status_code == 401
    assert srv.request("GET", url, user=OTHER_AGENT).status_code == 403
    assert srv.request("GET", url, device="board-a").status_code == 200
    r = srv.request("GET", f"/api/v1/sites/{SITE}/counters/99/next", user=AGENT)
    assert r.status_code == 404


def lunch_closed() -> SiteConfig:
    """Civil status open 08:30-12:00 and 13:30-17:00 every day; passports all day."""
    base = site_config().model_dump()
    base["services"][0]["hours"] = {d: ["08:30-12:00", "13:30-17:00"] for d in ALL_DAY}
    return SiteConfig.model_validate(base)


def paris(hhmm: str, day: str = "2026-03-10") -> float:
    return (
        datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=ZoneInfo("Europe/Paris")).timestamp()
    )


@pytest.mark.parametrize("now", ["12:30", "17:45"])
def test_next_calls_who_took_a_ticket_before_closing(srv: Srv, now: str) -> None:
    """GIVEN civil status closed for lunch at 12:00 and for the day at 17:00, a civil ticket
    taken on Tuesday at 11:50, and one taken the day before
    WHEN counter 1 (civil status first) presses NEXT during the lunch closure or after
    closing time THEN the preview and NEXT name Tuesday's ticket: a closed service stops
    issuing, not calling (docs/queue.md "Closing time"); Monday's ticket is never called."""
    srv.thread.load_site(lunch_closed())
    kiosk = DeviceClock("kiosk-a")
    monday = kiosk.at(paris("16:50", "2026-03-09")).issued(900, service="civil")
    tuesday = kiosk.at(paris("11:50")).issued(901, service="civil")
    assert srv.sync("kiosk-a", events=wire([monday, tuesday])).status_code == 200
    srv.thread.ctx.wall = lambda: paris(now)
    queue = srv.request("GET", f"/api/v1/sites/{SITE}/queue", user=AGENT).json()
    assert {s["id"]: s["open_now"] for s in queue["services"]}["civil"] is False
    assert preview(srv, "1")["next"]["label"] == "A901"
    assert srv.act("1", "next")["ticket"]["label"] == "A901"
    assert srv.act("1", "next")["ticket"] is None  # Monday's A900 stays uncalled
