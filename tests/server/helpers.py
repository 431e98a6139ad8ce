"""The test site, a client for the running server, and devices that make events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import requests
import sqlalchemy as sa

from config.site import SiteConfig
from server.run import ServerThread
from tickets.events import Event, EventKind, new_event
from tickets.hlc import HybridClock, Timestamp

SITE = "testsite"
ALL_DAY = {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
AGENT = ("agnes", "agent-password")
MANAGER = ("manon", "manager-password")
ADMIN = ("adam", "admin-password")
OTHER_AGENT = ("olga", "other-password")
SUPERADMIN = ("sabine", "superadmin-password")


def site_config(site: str = SITE, counters: int = 16) -> SiteConfig:
    """Two services open all day, ``counters`` counters, two kiosks with offline ranges, two
    boards."""
    return SiteConfig.model_validate(
        {
            "site": {
                "id": site,
                "name": "Test town hall",
                "timezone": "Europe/Paris",
                "lease_block": 20,
                "priority_reasons": ["pregnancy"],
            },
            "services": [
                {
                    "id": "civil",
                    "prefix": "A",
                    "names": {"fr": "État civil", "en": "Civil status"},
                    "hours": ALL_DAY,
                    "mean_service_minutes": 5,
                    "priority_allowed": True,
                },
                {
                    "id": "passports",
                    "prefix": "B",
                    "names": {"fr": "Passeports"},
                    "hours": ALL_DAY,
                    "mean_service_minutes": 10,
                },
            ],
            "counters": [
                {
                    "id": str(i),
                    "label": f"Guichet {i}",
                    "services": ["civil", "passports"] if i % 2 else ["passports", "civil"],
                }
                for i in range(1, counters + 1)
            ],
            "devices": [
                {"id": "kiosk-a", "role": "kiosk", "offline_range": [900, 999]},
                {"id": "kiosk-b", "role": "kiosk", "offline_range": [30, 49]},
                {"id": "board-a", "role": "display"},
                {"id": "board-b", "role": "display"},
            ],
        }
    )


@dataclass
class Srv:
    """A running server with the test site, its device tokens and users."""

    thread: ServerThread
    tokens: dict[str, str]
    http: requests.Session = field(default_factory=requests.Session)

    @property
    def url(self) -> str:
        return self.thread.url

    @property
    def engine(self) -> sa.Engine:
        return self.thread.ctx.engine

    def device(self, device: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[device]}"}

    def request(
        self,
        method: str,
        path: str,
        *,
        device: str | None = None,
        user: tuple[str, str] | None = None,
        **kw: Any,
    ) -> requests.Response:
        headers = dict(kw.pop("headers", {}))
        if device is not None:
            headers.update(self.device(device))
        return self.http.request(
            method, self.url + path, headers=headers, auth=user, timeout=30, **kw
        )

    def sync(self, device: str, **body: Any) -> requests.Response:
        return self.request("POST", "/api/v1/sync", device=device, json={"device": device, **body})

    def act(
        self, counter: str, action: str, device: str = "board-a", site: str = SITE, **kw: Any
    ) -> dict[str, Any]:
        r = self.request(
            "POST", f"/api/v1/sites/{site}/counters/{counter}/{action}", device=device, **kw
        )
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out

    def call_until(
        self, counter: str, ticket: dict[str, Any], tries: int = 50, site: str = SITE
    ) -> None:
        """Presses NEXT at ``counter`` until it calls ``ticket`` (a ticket view: earlier
        tests of a shared server may have left others waiting before it)."""
        for _ in range(tries):
            called = self.act(counter, "next", site=site)["ticket"]
            if called and called["id"] == ticket["id"]:
                return
        raise AssertionError(f"{ticket['label']} was never called at counter {counter}")

    def issue(
        self, service: str = "civil", device: str = "kiosk-a", site: str = SITE, **body: Any
    ) -> dict[str, Any]:
        r = self.request(
            "POST",
            f"/api/v1/sites/{site}/tickets",
            device=device,
            json={"service": service, **body},
        )
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out

    def count(self, where: str = "1=1", **params: Any) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(sa.text(f"SELECT count(*) FROM events WHERE {where}"), params)
            return int(value.scalar_one())


class DeviceClock:
    """Makes events as a device would: its own clock (skewable) and fresh ids."""

    def __init__(self, device: str, site: str = SITE, wall: float | None = None) -> None:
        self.device = device
        self.site = site
        self.wall = wall
        self.clock = HybridClock(device, wall=self._wall)

    def _wall(self) -> float:
        import time

        return self.wall if self.wall is not None else time.time()

    def at(self, seconds: float) -> DeviceClock:
        self.wall = seconds
        return self

    def make(self, kind: EventKind, **data: Any) -> Event:
        return new_event(
            kind,
            site=self.site,
            device=self.device,
            hlc=self.clock.now(),
            wall_time=self._wall(),
            **data,
        )

    def issued(self, number: int, service: str = "civil", day: str | None = None) -> Event:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        if day is None:
            day = datetime.fromtimestamp(self._wall(), ZoneInfo("Europe/Paris")).date().isoformat()
        return self.make(
            EventKind.TICKET_ISSUED,
            ticket=str(uuid.uuid4()),
            service=service,
            number=number,
            day=day,
            token=uuid.uuid4().hex,
        )


def wire(events: list[Event]) -> list[dict[str, Any]]:
    return [e.to_dict() for e in events]


def hlc_at(seconds: float, node: str) -> str:
    return Timestamp(int(seconds * 1000), 0, node).encode()
