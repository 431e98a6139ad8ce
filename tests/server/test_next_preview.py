"""GET .../counters/{counter}/next: who a counter would call, without calling, by the site's
calling rule (the same rule as POST .../next), over real HTTP."""

from __future__ import annotations

import pytest

from config.site import SiteConfig
from tests.server.helpers import AGENT, MANAGER, OTHER_AGENT, SITE, Srv, site_config
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
