"""Two server processes on one PostgreSQL database: people booking the last places of a slot
at once, half through each process, never overbook it."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from config.site import SiteConfig
from server.sites import load_site
from tests.multiworker.conftest import Pair
from tests.server.helpers import site_config

pytestmark = pytest.mark.postgres

BOOKERS = 12
PARALLEL = 3


def appointment_site(site_id: str) -> SiteConfig:
    raw = site_config(site_id, counters=4).model_dump(mode="json")
    every_day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    raw["services"][1]["appointments"] = {
        "duration_minutes": 10,
        "hours": {d: ["08:00-18:00"] for d in every_day},
        "parallel": PARALLEL,
        "horizon_days": 3,
        "min_notice_minutes": 0,
        "public_holidays": "",
    }
    return SiteConfig.model_validate(raw)


def test_bookers_spread_over_two_processes_never_overbook_a_slot(pair: Pair) -> None:
    site = f"mw-{uuid.uuid4().hex[:10]}"
    load_site(pair.engine, appointment_site(site))
    tomorrow = datetime.now(ZoneInfo("Europe/Paris")).date() + timedelta(days=1)
    start = int(
        datetime(
            tomorrow.year, tomorrow.month, tomorrow.day, 10, tzinfo=ZoneInfo("Europe/Paris")
        ).timestamp()
    )
    barrier = threading.Barrier(BOOKERS)
    answers: list[int] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        url = (pair.a if i % 2 else pair.b).url
        with requests.Session() as http:
            barrier.wait()
            r = http.post(
                f"{url}/api/v1/public/sites/{site}/appointments",
                json={"service": "passports", "start": start},
                timeout=60,
            )
        with lock:
            answers.append(r.status_code)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(BOOKERS)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(answers) == BOOKERS, (
        f"{len(answers)} answers after {time.monotonic() - started:.0f} s"
    )
    assert sorted(answers) == [200] * PARALLEL + [409] * (BOOKERS - PARALLEL)
    seats = pair.rows(
        "SELECT seat FROM appointments WHERE site = :s AND seat IS NOT NULL ORDER BY seat", s=site
    )
    assert [r.seat for r in seats] == list(range(PARALLEL))
