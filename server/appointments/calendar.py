"""Public holidays (the ``holidays`` library) and the days a service takes appointments."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date

import holidays

from config.site import SiteConfig
from tickets.model import AppointmentRules


@functools.lru_cache(maxsize=256)
def _holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    found = holidays.country_holidays(country, subdiv=subdivision, years=year)
    return frozenset(found)


def holiday_checker(rules: AppointmentRules) -> Callable[[date], bool]:
    """Whether a day is a public holiday for these rules (never, when they name no country)."""
    country = rules.public_holidays
    if country is None:
        return lambda _day: False
    subdivision = rules.holiday_subdivision

    def check(day: date) -> bool:
        return day in _holidays(country, subdivision, day.year)

    return check


def holiday_name(rules: AppointmentRules, day: date) -> str | None:
    if rules.public_holidays is None:
        return None
    found = holidays.country_holidays(
        rules.public_holidays, subdiv=rules.holiday_subdivision, years=day.year
    )
    name = found.get(day)
    return str(name) if name is not None else None


def check_site(cfg: SiteConfig) -> None:
    """Raises ValueError naming the service when its holiday country or subdivision is one
    the holidays library does not know."""
    for service in cfg.services:
        a = service.appointments
        if a is None or not a.public_holidays:
            continue
        try:
            holidays.country_holidays(a.public_holidays, subdiv=a.holiday_subdivision)
        except NotImplementedError as exc:
            raise ValueError(
                f"service {service.id!r}: appointments.public_holidays / holiday_subdivision: {exc}"
            ) from None
