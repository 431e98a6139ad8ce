"""The site a simulation runs: the services and counters of a site file (or a built-in site),
with the simulated kiosks and boards as its devices."""

from __future__ import annotations

from config.loader import load_model
from config.site import SiteConfig
from guichet.sim.config import SimConfig, board_ids, kiosk_ids

ALL_DAY = {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
OFFLINE_BASE, OFFLINE_SPAN = 5000, 1000
"""Kiosk n issues from [5000 + 1000 (n-1), 5999 + 1000 (n-1)] when it has no lease left."""


def builtin_site() -> SiteConfig:
    """Two services open all day and eight counters taking both, in turns of preference."""
    return SiteConfig.model_validate(
        {
            "site": {"id": "simulee", "name": "Mairie simulée", "lease_block": 20},
            "services": [
                {
                    "id": "civil",
                    "prefix": "A",
                    "names": {"fr": "État civil", "en": "Civil status"},
                    "hours": ALL_DAY,
                    "mean_service_minutes": 5,
                },
                {
                    "id": "passports",
                    "prefix": "B",
                    "names": {"fr": "Passeports", "en": "Passports"},
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
                for i in range(1, 9)
            ],
        }
    )


def sim_site(cfg: SimConfig) -> SiteConfig:
    s = cfg.simulation
    base = load_model(SiteConfig, s.site_file) if s.site_file else builtin_site()
    if s.counters > len(base.counters):
        raise ValueError(
            f"simulation.counters: {s.counters} counters staffed, the site has {len(base.counters)}"
        )
    unknown = set(cfg.arrivals) - {x.id for x in base.services}
    if unknown:
        raise ValueError(f"arrivals: unknown services {sorted(unknown)}")
    devices = [
        {
            "id": k,
            "role": "kiosk",
            "offline_range": [
                OFFLINE_BASE + OFFLINE_SPAN * i,
                OFFLINE_BASE + OFFLINE_SPAN * i + OFFLINE_SPAN - 1,
            ],
        }
        for i, k in enumerate(kiosk_ids(s.kiosks))
    ] + [{"id": b, "role": "display"} for b in board_ids(s.boards)]
    data = base.model_dump(mode="json")
    data["counters"] = data["counters"][: s.counters]
    data["devices"] = devices
    rdv = cfg.appointments
    if rdv is not None:
        unknown = (set(rdv.slots) | set(rdv.booked)) - {x.id for x in base.services}
        if unknown:
            raise ValueError(f"appointments: unknown services {sorted(unknown)}")
        for svc in data["services"]:
            if svc["id"] in rdv.slots:
                svc["appointments"] = rdv.slots[svc["id"]].model_dump(mode="json")
            if svc["id"] in rdv.booked and svc.get("appointments") is None:
                raise ValueError(
                    f"appointments.booked: service {svc['id']!r} has no slots "
                    "(give appointments.slots or [services.appointments] in the site file)"
                )
        if rdv.calling is not None:
            data["appointments"] = rdv.calling.model_dump(mode="json")
        tolerance = data["appointments"]["late_tolerance_minutes"]
        if rdv.late and rdv.late_minutes[0] <= tolerance:
            raise ValueError(
                f"appointments.late_minutes: late people come from {rdv.late_minutes[0]:g} "
                f"minutes after their time, within the late tolerance ({tolerance} minutes)"
            )
    return SiteConfig.model_validate(data)
