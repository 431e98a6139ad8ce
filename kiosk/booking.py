"""Booking an appointment at the kiosk, for a person without a smartphone: the next free slots
of a service from the server, one booked by touch, an appointment slip printed.

Booking needs the server (a slot is only held once the server has stored it): with no server
configured, or when it does not answer, the kiosk says so and lists no slot.

Exceptions: ``BookingUnavailable`` (no server, or it did not answer or refused: the screen
says booking needs the network), and its subclass ``SlotTaken`` (someone else took the last
place of that slot in the meantime: the screen offers the others again).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests

from config.kiosk import KioskSettings
from tickets.model import Site

log = logging.getLogger(__name__)

SLOTS_SHOWN = 6
"""How many of the next free slots the kiosk offers."""
SLOT_DAYS = 14
"""How many days ahead the kiosk looks for them."""


class BookingUnavailable(Exception):
    """The server is not configured, did not answer, or refused."""


def ask_server(
    settings: KioskSettings,
    session: requests.Session,
    method: str,
    path: str,
    unavailable: type[Exception],
    **kwargs: Any,
) -> requests.Response:
    """``method path`` on the kiosk's server within its timeout; ``unavailable`` raised when no
    server is configured or it cannot be reached (refusals are the caller's to read)."""
    url = settings.server.url
    if url is None:
        raise unavailable("no server configured")
    try:
        return session.request(
            method,
            str(url).rstrip("/") + path,
            timeout=settings.server.timeout_seconds,
            **kwargs,
        )
    except requests.RequestException as exc:
        raise unavailable(f"server unreachable: {type(exc).__name__}") from None


class SlotTaken(BookingUnavailable):
    """The slot's last place went to someone else meanwhile."""


@dataclass(frozen=True, slots=True)
class Slot:
    start: float
    """Epoch seconds."""


@dataclass(frozen=True, slots=True)
class Booked:
    service: str
    start: float
    code: str
    token: str
    site_name: str


def shown_code(code: str) -> str:
    """``K7QM3XHP`` -> ``K7QM-3XHP``, as confirmations print it."""
    return f"{code[:4]}-{code[4:]}" if len(code) == 8 else code


class BookingClient:
    """The server's appointment API, for one kiosk (its device token books as the kiosk)."""

    def __init__(self, settings: KioskSettings, session: requests.Session) -> None:
        self.settings = settings
        self.session = session

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        if not self.settings.server.token:
            raise BookingUnavailable("no server configured")
        return ask_server(self.settings, self.session, method, path, BookingUnavailable, **kwargs)

    def next_slots(self, service: str, limit: int = SLOTS_SHOWN) -> list[Slot]:
        site = self.settings.site
        r = self._call(
            "GET",
            f"/api/v1/public/sites/{site}/services/{service}/slots",
            params={"days": SLOT_DAYS},
        )
        if r.status_code != 200:
            raise BookingUnavailable(f"slots refused: {r.status_code}")
        try:
            found = [Slot(float(s["start"])) for s in r.json()["slots"] if int(s["free"]) > 0]
        except (ValueError, KeyError, TypeError) as exc:
            raise BookingUnavailable(f"unreadable slots ({exc})") from None
        return found[:limit]

    def book(self, service: str, start: float, lang: str) -> Booked:
        """Books ``start`` for nobody named (the slip is the confirmation)."""
        r = self._call(
            "POST",
            f"/api/v1/sites/{self.settings.site}/appointments",
            json={"service": service, "start": int(start), "lang": lang},
            headers={"Authorization": f"Bearer {self.settings.server.token}"},
        )
        if r.status_code == 409:
            raise SlotTaken("slot full")
        if r.status_code != 200:
            raise BookingUnavailable(f"booking refused: {r.status_code}")
        try:
            body = r.json()
            booked = Booked(
                service=str(body["service"]),
                start=float(body["start"]),
                code=str(body["code"]),
                token=str(body["token"]),
                site_name=str(body["site_name"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BookingUnavailable(f"unreadable booking ({exc})") from None
        log.info("appointment booked at the kiosk for %s", service)
        return booked


def slot_time(site: Site, start: float) -> datetime:
    return site.local(start)
