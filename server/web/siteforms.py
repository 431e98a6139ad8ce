"""The administration forms and the site configuration: reading a form into a new
``SiteConfig`` (validated by the same model as ``guichet site load``), and back.

Every change builds a whole new ``SiteConfig``; an invalid one raises ``FormError`` with a
sentence naming the field, and nothing is stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from config.site import (
    WEEKDAYS,
    CounterConfig,
    DeviceConfig,
    ServiceConfig,
    SiteConfig,
    parse_period,
)

CLOSING_FIELD = "last_ticket_minutes"
"""A service's closing-rule field, edited when ``ServiceConfig`` has it."""


class FormError(ValueError):
    """A form that cannot become a valid site configuration.

    ``key`` is the text to show (a key of the pages' catalog, formatted with ``values``) and
    ``field`` the name of the form input it is about (None when it is about the whole form): the
    page marks that input invalid, puts the text next to it and focuses it.
    """

    def __init__(self, key: str, field: str | None = None, **values: Any) -> None:
        super().__init__(f"{field or 'form'}: {key} {values}")
        self.key = key
        self.field = field
        self.values = values


def has_closing_field() -> bool:
    return CLOSING_FIELD in ServiceConfig.model_fields


# A model error at a field's location: the form input and the text that explains it.
_FIELD_ERRORS = {
    "id": "admin.err.id",
    "prefix": "admin.err.prefix",
    "mean_service_minutes": "admin.err.mean",
    CLOSING_FIELD: "admin.err.whole_minutes",
    "label": "admin.err.label",
    "role": "admin.err.role",
    "offline_range": "admin.err.range_bounds",
}
# Errors of the site as a whole (config/site.py's checks across services, counters, devices).
_SITE_ERRORS = {
    "two services share an id": ("admin.err.id_taken", "id"),
    "two categories share an id": ("admin.err.id_taken", "id"),
    "two counters share an id": ("admin.err.id_taken", "id"),
    "two devices share an id": ("admin.err.id_taken", "id"),
    "two services share a prefix": ("admin.err.prefix_taken", "prefix"),
    "two devices' offline ranges overlap": ("admin.err.range_overlap", "offline_range"),
}


def _problem(exc: ValidationError) -> FormError:
    """The first error of a site model's validation, as a form error."""
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    for part in reversed(loc):
        if part in _FIELD_ERRORS:
            return FormError(_FIELD_ERRORS[part], part)
        if part == "names":
            return FormError("admin.err.name_needed", None)
    message = str(err.get("ctx", {}).get("error", err["msg"]))
    if message in _SITE_ERRORS:
        key, field = _SITE_ERRORS[message]
        return FormError(key, field)
    # Not foreseen here: the model's own sentence (English), still beside a localised lead.
    return FormError("admin.err.other", None, detail=err["msg"])


def _validate(raw: dict[str, Any]) -> SiteConfig:
    try:
        return SiteConfig.model_validate(raw)
    except ValidationError as exc:
        raise _problem(exc) from None


def _text(form: Mapping[str, Any], key: str) -> str:
    value = form.get(key, "")
    return value.strip() if isinstance(value, str) else ""


# ---- services -----------------------------------------------------------------------------
def service_values(service: ServiceConfig | None) -> dict[str, Any]:
    """What the service form shows."""
    if service is None:
        return {
            "id": "",
            "prefix": "",
            "names": {},
            "hours": {},
            "mean_service_minutes": 5,
            "priority_allowed": False,
            CLOSING_FIELD: 0,
        }
    return {
        "id": service.id,
        "prefix": service.prefix,
        "names": dict(service.names),
        "hours": {day.value: ", ".join(periods) for day, periods in service.hours.items()},
        "mean_service_minutes": service.mean_service_minutes,
        "priority_allowed": service.priority_allowed,
        CLOSING_FIELD: getattr(service, CLOSING_FIELD, 0),
    }


def _hours(form: Mapping[str, Any]) -> dict[str, list[str]]:
    hours: dict[str, list[str]] = {}
    for day in WEEKDAYS:
        text = _text(form, f"hours_{day}")
        periods = [p.replace(" ", "") for p in re.split(r"[,;]", text) if p.strip()]
        for period in periods:
            try:
                parse_period(period)
            except ValueError:
                raise FormError("admin.err.period", f"hours_{day}", period=period) from None
        if periods:
            hours[day] = periods
    return hours


def parse_service(
    form: Mapping[str, Any], languages: list[str], old: ServiceConfig | None
) -> dict[str, Any]:
    """The service a form describes, as ``ServiceConfig`` fields (validated with the site)."""
    names = {lang: _text(form, f"name_{lang}") for lang in languages}
    names = {lang: name for lang, name in names.items() if name}
    if not names:
        raise FormError("admin.err.name_needed", f"name_{languages[0]}")
    raw: dict[str, Any] = {
        "id": old.id if old else _text(form, "id"),
        "prefix": _text(form, "prefix").upper(),
        "names": names,
        "hours": _hours(form),
        "priority_allowed": form.get("priority_allowed") in ("1", "on", "true"),
    }
    mean = _text(form, "mean_service_minutes")
    if mean:
        try:
            raw["mean_service_minutes"] = float(mean.replace(",", "."))
        except ValueError:
            raise FormError("admin.err.mean", "mean_service_minutes") from None
    if has_closing_field() and _text(form, CLOSING_FIELD):
        try:
            raw[CLOSING_FIELD] = int(_text(form, CLOSING_FIELD))
        except ValueError:
            raise FormError("admin.err.whole_minutes", CLOSING_FIELD) from None
    if old is not None:
        raw["icon"] = old.icon
        if old.category is not None:  # set in the site file; this form does not edit it
            raw["category"] = old.category
        # Edited on the service's appointments page; this form keeps them as they are.
        if old.appointments is not None:
            raw["appointments"] = old.appointments.model_dump(mode="json")
    return raw


def save_service(cfg: SiteConfig, raw: dict[str, Any], *, new: bool) -> SiteConfig:
    data = cfg.model_dump(mode="json")
    ids = [s["id"] for s in data["services"]]
    if new:
        if raw["id"] in ids:
            raise FormError("admin.err.id_taken", "id")
        data["services"].append(raw)
    else:
        data["services"][ids.index(raw["id"])] = raw
    return _validate(data)


def delete_service(cfg: SiteConfig, service_id: str) -> SiteConfig:
    data = cfg.model_dump(mode="json")
    data["services"] = [s for s in data["services"] if s["id"] != service_id]
    for counter in data["counters"]:
        counter["services"] = [s for s in counter["services"] if s != service_id]
        if not counter["services"]:
            raise FormError("admin.err.counter_needs_service", None, counter=counter["label"])
    if not data["services"]:
        raise FormError("admin.err.last_service")
    return _validate(data)


# ---- counters -----------------------------------------------------------------------------
def counter_values(counter: CounterConfig | None, services: list[ServiceConfig]) -> dict[str, Any]:
    if counter is None:
        return {"id": "", "label": "", "services": [], "ranks": {}}
    ranks = {s: i + 1 for i, s in enumerate(counter.services)}
    following = len(ranks) + 1
    for s in services:
        if s.id not in ranks:
            ranks[s.id] = following
            following += 1
    return {
        "id": counter.id,
        "label": counter.label,
        "services": list(counter.services),
        "ranks": ranks,
    }


def parse_counter(
    form: Mapping[str, Any], chosen: list[str], old: CounterConfig | None
) -> dict[str, Any]:
    """The counter a form describes; ``chosen`` are the ticked services, ordered by rank."""

    def rank(service: str) -> tuple[int, int]:
        text = _text(form, f"rank_{service}")
        return (int(text) if text.isdigit() else 99, chosen.index(service))

    ordered = sorted(dict.fromkeys(chosen), key=rank)
    if not ordered:
        raise FormError("admin.err.tick_service", "service")
    return {
        "id": old.id if old else _text(form, "id"),
        "label": _text(form, "label"),
        "services": ordered,
    }


def save_counter(cfg: SiteConfig, raw: dict[str, Any], *, new: bool) -> SiteConfig:
    data = cfg.model_dump(mode="json")
    ids = [c["id"] for c in data["counters"]]
    if new:
        if raw["id"] in ids:
            raise FormError("admin.err.id_taken", "id")
        data["counters"].append(raw)
    else:
        data["counters"][ids.index(raw["id"])] = raw
    return _validate(data)


def delete_counter(cfg: SiteConfig, counter_id: str) -> SiteConfig:
    data = cfg.model_dump(mode="json")
    data["counters"] = [c for c in data["counters"] if c["id"] != counter_id]
    return _validate(data)


# ---- devices ------------------------------------------------------------------------------
def parse_range(text: str) -> list[int] | None:
    """ "900-999" as [900, 999]; empty as None."""
    text = text.strip()
    if not text:
        return None
    m = re.fullmatch(r"(\d{1,7})\s*-\s*(\d{1,7})", text)
    if not m:
        raise FormError("admin.err.range", "offline_range")
    return [int(m.group(1)), int(m.group(2))]


def add_device(cfg: SiteConfig, form: Mapping[str, Any]) -> tuple[SiteConfig, DeviceConfig]:
    raw = {
        "id": _text(form, "id"),
        "role": _text(form, "role"),
        "offline_range": parse_range(_text(form, "offline_range")),
    }
    data = cfg.model_dump(mode="json")
    if any(d["id"] == raw["id"] for d in data["devices"]):
        raise FormError("admin.err.id_taken", "id")
    data["devices"].append(raw)
    new = _validate(data)
    return new, next(d for d in new.devices if d.id == raw["id"])


def declare_device(cfg: SiteConfig, device: DeviceConfig) -> SiteConfig:
    """``cfg`` with ``device`` declared (again, e.g. after its token was revoked)."""
    data = cfg.model_dump(mode="json")
    data["devices"] = [d for d in data["devices"] if d["id"] != device.id]
    data["devices"].append(device.model_dump(mode="json"))
    return _validate(data)


def remove_device(cfg: SiteConfig, device_id: str) -> SiteConfig:
    data = cfg.model_dump(mode="json")
    data["devices"] = [d for d in data["devices"] if d["id"] != device_id]
    return _validate(data)
