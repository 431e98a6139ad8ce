"""The day's appointments on a device, so that check-in works while the server is away.

A kiosk fetches the site's appointments of the day from the server (``GET
/api/v1/sites/{site}/appointments?day=``, its device token) and keeps them in a JSON file next
to its journal (written whole, then renamed: a power cut leaves the old list or the new one).
Check-in looks a short code up here; once checked in on this device, an appointment is marked
so a second scan of the same code gets no second ticket.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import requests

log = logging.getLogger(__name__)

BOOKED = "booked"
CHECKED_IN = "checked_in"


class DayBookError(Exception):
    """The list could not be fetched (the server is away or refused): the old one stays."""


@dataclass(frozen=True, slots=True)
class Expected:
    id: str
    code: str
    """Normalised: upper case, no dash (``ABCD2345``)."""
    service: str
    starts_at: float
    day: str
    lang: str
    status: str
    note: str = ""


def normalise(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


class DayBook:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._items: dict[str, Expected] = {}
        self.day = ""
        self.load()

    def load(self) -> None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            items = [Expected(**item) for item in raw["appointments"]]
            day = str(raw["day"])
        except FileNotFoundError:
            return
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("appointments file %s unreadable (%s): starting empty", self.path, exc)
            return
        self.day = day
        self._items = {e.code: e for e in items}

    def save(self) -> None:
        body = {"day": self.day, "appointments": [asdict(e) for e in self._items.values()]}
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(body, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def __len__(self) -> int:
        return len(self._items)

    def find(self, code: str) -> Expected | None:
        return self._items.get(normalise(code))

    def mark_checked_in(self, code: str) -> None:
        found = self.find(code)
        if found is not None:
            self._items[found.code] = replace(found, status=CHECKED_IN)
            self.save()

    def replace_day(self, day: str, items: list[Expected]) -> None:
        """The server's list of ``day``; what this device checked in stays checked in."""
        mine = {code for code, e in self._items.items() if e.status == CHECKED_IN}
        fresh = {}
        for e in items:
            fresh[e.code] = replace(e, status=CHECKED_IN) if e.code in mine else e
        self.day = day
        self._items = fresh
        self.save()

    def fetch(
        self,
        session: requests.Session,
        base_url: str,
        site: str,
        token: str,
        day: str,
        timeout: float = 10.0,
    ) -> int:
        """Takes the server's list of ``day``; returns how many appointments it holds."""
        url = f"{base_url.rstrip('/')}/api/v1/sites/{site}/appointments"
        try:
            r = session.get(
                url,
                params={"day": day},
                headers={"Authorization": f"Bearer {token}"},
                timeout=timeout,
            )
        except requests.RequestException as exc:
            raise DayBookError(f"appointments not fetched: {type(exc).__name__}") from None
        if r.status_code != 200:
            raise DayBookError(f"appointments not fetched: the server answered {r.status_code}")
        try:
            items = [_expected(a) for a in r.json()["appointments"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise DayBookError(f"appointments not fetched: unreadable answer ({exc})") from None
        self.replace_day(day, [e for e in items if e.status in (BOOKED, CHECKED_IN)])
        return len(self._items)


def _expected(raw: dict[str, Any]) -> Expected:
    return Expected(
        id=str(raw["id"]),
        code=normalise(str(raw["code"])),
        service=str(raw["service"]),
        starts_at=float(raw["start"]),
        day=str(raw["local"])[:10],
        lang=str(raw["lang"]),
        status=str(raw["status"]),
        note=str(raw.get("note") or ""),
    )
