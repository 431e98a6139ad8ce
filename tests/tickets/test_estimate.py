"""The service time behind every wait estimate: the configured duration holds until enough
services are observed, and no outlier swings it (docs/statistics.md "The wait estimate")."""

from __future__ import annotations

import pytest

from tests.tickets.factory import Events, make_site
from tickets.estimate import service_seconds
from tickets.events import Event
from tickets.queue import fold

SITE = make_site()  # service "b": 600 s configured, served by counters 1 and 3


def served(durations: list[float], service: str = "b") -> list[Event]:
    f = Events()
    events: list[Event] = []
    at = 1000.0
    for i, d in enumerate(durations):
        events.append(f.issue(f"t{i}", at, service=service, number=i + 1))
        events.append(f.call(f"t{i}", "3", at + 1))
        events.append(f.serve(f"t{i}", "3", at + 1 + d))
        at += d + 10
    return events


def test_one_quick_service_leaves_the_estimate_at_the_configured_duration() -> None:
    """GIVEN passports configured at 10 min, one counter open WHEN the first service of the day
    lasts 9 seconds THEN two people ahead still wait 20 minutes (it was 0 with a plain mean)."""
    f = Events()
    state = fold(SITE, [f.open("3", 1.0), *served([9.0])])
    assert state.mean_service_seconds("b") == 600.0
    assert state.estimate_wait("b", 2) == 1200.0


def test_the_configured_duration_holds_until_three_services_are_observed() -> None:
    assert service_seconds(600, []) == 600
    assert service_seconds(600, [300, 300]) == 600
    assert service_seconds(600, [300, 300, 300]) == pytest.approx((5 * 600 + 3 * 300) / 8)


def test_observed_services_take_over_as_they_accumulate() -> None:
    """Twenty services of 8 minutes: the estimate is 80 % observed, 20 % configured."""
    assert service_seconds(600, [480] * 20) == pytest.approx((5 * 600 + 20 * 480) / 25)
    assert service_seconds(600, [480] * 20) == pytest.approx(504)


def test_an_outlier_among_normal_services_does_not_move_the_estimate() -> None:
    normal = [540, 600, 660, 600, 570, 630, 600, 600, 610]
    base = service_seconds(600, normal)
    assert service_seconds(600, [*normal, 7200]) == pytest.approx(base, abs=5)
    assert service_seconds(600, [*normal, 3]) == pytest.approx(base, abs=5)


def test_a_burst_of_instant_services_is_bounded() -> None:
    """An agent pressing Next through absent people: twenty 2-second "services" count as a
    quarter of the configured time each, so the estimate stays above 40 % of it."""
    assert service_seconds(600, [2] * 20) == pytest.approx((5 * 600 + 20 * 150) / 25)
    assert service_seconds(600, [2] * 20) >= 0.4 * 600
    assert service_seconds(600, [36000] * 20) == pytest.approx((5 * 600 + 20 * 2400) / 25)
