"""The simulator's configuration (``guichet simulate --config sim.toml``).

Example (times are site-local, rates are per hour of opening)::

    [simulation]
    site_file = "config/examples/site-townhall.toml"
    date = "2026-11-23"          # a Monday
    start = "08:30"
    end = "12:00"
    speedup = 120                # simulated seconds per real second
    seed = 1
    kiosks = 2
    boards = 2
    counters = 4                 # the site's first four counters are staffed
    output = "sim-out"

    [arrivals]                   # people per hour, per service
    etat-civil = 24
    passeports = 8

    [service]
    distribution = "exponential" # or "lognormal", "fixed"
    sigma = 0.5                  # lognormal only
    no_show = 0.05               # share of people who are gone when called
    [service.mean_minutes]       # default: the site's mean_service_minutes
    passeports = 12

    [chaos]                      # faults, all optional
    kills = 4                    # device processes killed with SIGKILL at random times
    restart_after_seconds = 60   # simulated seconds before a killed device starts again
    server_outages = [["09:30", "09:50"]]
    lan_cuts = [["10:10", "10:25"]]
    server_cuts = { "kiosk-1" = [["11:00", "11:20"]] }
    skew_seconds = { "kiosk-2" = 20, "board-1" = -15 }
    clock_boots = { "kiosk-2" = [["09:45", 82800]] }  # boots 23 h ahead at 09:45

    [appointments]               # appointments mixed with walk-ins, all optional
    booked = { passeports = 0.8 } # share of each service's slots of the day that are booked
    at_reception = 0.2           # of them, booked at the reception desk during the day
    early = 0.2                  # shares of the people booked: come early,
    late = 0.1                   # come late beyond the tolerance,
    no_show = 0.1                # never come (the others come on time)
    [appointments.slots.passeports]   # slots for the day (default: the site file's)
    duration_minutes = 15
    hours = { mon = ["09:00-11:30"] }
    parallel = 2
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from config.loader import load_model
from config.site import AppointmentConfig, CallingConfig

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _hhmm(v: str) -> str:
    if not _HHMM.match(v):
        raise ValueError(f"{v!r} is not a time written HH:MM")
    return v


class Simulation(_Strict):
    site_file: Path | None = None
    """Site description (TOML) whose services and counters are simulated, relative to this
    file's folder. None: a built-in site with two services open all day. Its devices are
    replaced by the simulated ones."""
    date: dt.date = dt.date(2026, 11, 23)
    """The simulated day (site-local)."""
    start: str = "08:30"
    """Site-local time the simulated day starts (HH:MM)."""
    end: str = "12:00"
    """Site-local time the last person arrives (HH:MM); counters then empty the queue."""
    speedup: float = Field(default=120.0, gt=0, le=10_000)
    """Simulated seconds per real second."""
    seed: int = 1
    """Seed of every random choice: the same seed replays the same day."""
    kiosks: int = Field(default=1, ge=1, le=9)
    boards: int = Field(default=1, ge=1, le=9)
    counters: int = Field(default=3, ge=1, le=50)
    """How many of the site's counters are staffed (the first ones)."""
    output: Path = Path("sim-out")
    """Folder for journals, logs, printed tickets, the record and the report."""
    drain_minutes: float = Field(default=120.0, ge=0)
    """After ``end``, how long counters go on calling (simulated minutes)."""
    tolerance_seconds: float | None = Field(default=None, gt=0)
    """How far a time in the server's figures may be from the simulator's own record
    (simulated seconds). None: three real seconds of latency at this speed-up (a busy
    machine's printing, lock waits and restarts), at least 60."""

    _s = field_validator("start", "end")(_hhmm)

    @model_validator(mode="after")
    def _order(self) -> Simulation:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def at(self, hhmm: str) -> dt.time:
        h, m = hhmm.split(":")
        return dt.time(int(h), int(m))

    @property
    def tolerance(self) -> float:
        if self.tolerance_seconds is not None:
            return self.tolerance_seconds
        return max(60.0, 3.0 * self.speedup)


class ServiceTimes(_Strict):
    distribution: Literal["exponential", "lognormal", "fixed"] = "exponential"
    mean_minutes: dict[str, float] = Field(default_factory=dict)
    """Mean service time per service (minutes); default: the site's mean_service_minutes."""
    sigma: float = Field(default=0.5, gt=0, le=3)
    """Shape of the lognormal distribution (standard deviation of the log)."""
    no_show: float = Field(default=0.05, ge=0, le=1)
    """Share of people who have left when their number is called."""
    recall_after_seconds: float = Field(default=90.0, gt=0)
    """How long an agent waits for someone before recalling, then before marking absent
    (simulated seconds)."""


class Chaos(_Strict):
    kills: int = Field(default=0, ge=0)
    """Device processes killed with SIGKILL at random moments of the day."""
    restart_after_seconds: float = Field(default=60.0, gt=0)
    """How long a killed device stays down (simulated seconds)."""
    server_outages: list[tuple[str, str]] = Field(default_factory=list)
    """Periods (HH:MM, HH:MM) the central server is stopped."""
    lan_cuts: list[tuple[str, str]] = Field(default_factory=list)
    """Periods the devices cannot reach each other (their LAN links drop every packet)."""
    server_cuts: dict[str, list[tuple[str, str]]] = Field(default_factory=dict)
    """Periods one device cannot reach the server (its link to it resets every connection)
    while it still reaches its peers, per device (kiosk-1, board-2, ...)."""
    skew_seconds: dict[str, float] = Field(default_factory=dict)
    """Wall clock error per device (kiosk-1, board-2, ...), from its first start (seconds)."""
    clock_boots: dict[str, list[tuple[str, float]]] = Field(default_factory=dict)
    """Power cuts after which a device boots with a wrong wall clock, per device: (HH:MM,
    seconds) kills it then and starts it again at once with its clock that far off (a
    Raspberry Pi has no real-time clock: it boots on its last saved time, or a time far
    off; a clock never reads before 01:00 on 1 January 1970); the error stays until it is
    killed again. Its measured offset and time floor are what set its time right."""

    @field_validator("server_outages", "lan_cuts")
    @classmethod
    def _periods(cls, v: list[tuple[str, str]]) -> list[tuple[str, str]]:
        for a, b in v:
            _hhmm(a)
            _hhmm(b)
            if b <= a:
                raise ValueError(f"period {a}-{b} ends before it starts")
        return v

    @field_validator("clock_boots")
    @classmethod
    def _boots(cls, v: dict[str, list[tuple[str, float]]]) -> dict[str, list[tuple[str, float]]]:
        for boots in v.values():
            for at, _ in boots:
                _hhmm(at)
        return v

    @field_validator("server_cuts")
    @classmethod
    def _cuts(cls, v: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
        for periods in v.values():
            cls._periods(periods)
        return v


Minutes = tuple[float, float]


class Appointments(_Strict):
    """Appointments of the simulated day: booked, then people who come (or not) and check in
    at a kiosk."""

    booked: dict[str, float] = Field(default_factory=dict)
    """Share (0 to 1) of each service's slots of the day that are booked, per service id."""
    at_reception: float = Field(default=0.2, ge=0, le=1)
    """Share of the bookings made at the reception desk during the day (the staff API, at
    least the service's notice before the slot); the others are booked the evening before
    through the public JSON API."""
    early: float = Field(default=0.2, ge=0, le=1)
    """Share of the people booked who come early (``early_minutes``)."""
    late: float = Field(default=0.1, ge=0, le=1)
    """Share who come later than the site's late tolerance (``late_minutes``)."""
    no_show: float = Field(default=0.1, ge=0, le=1)
    """Share who never come. The rest come on time (``on_time_minutes``)."""
    early_minutes: Minutes = (-40.0, -10.0)
    """When early people come, in minutes from their slot's start (negative: before)."""
    on_time_minutes: Minutes = (-5.0, 10.0)
    """When people on time come, in minutes from their slot's start."""
    late_minutes: Minutes = (20.0, 40.0)
    """When late people come, in minutes from their slot's start (beyond the tolerance)."""
    slots: dict[str, AppointmentConfig] = Field(default_factory=dict)
    """Appointment slots per service for this day, replacing the site file's (the site
    file's ``[services.appointments]`` table, same keys)."""
    calling: CallingConfig | None = None
    """How appointments are called (the site file's ``[appointments]`` table); default: the
    site file's."""
    compare_without: bool = True
    """Also play the same walk-ins without any appointment, to report their waits both ways."""

    @model_validator(mode="after")
    def _shares(self) -> Appointments:
        if self.early + self.late + self.no_show > 1:
            raise ValueError("early + late + no_show is more than everyone booked")
        for name in ("early_minutes", "on_time_minutes", "late_minutes"):
            a, b = getattr(self, name)
            if b < a:
                raise ValueError(f"{name}: {a} to {b} ends before it starts")
        for service, share in self.booked.items():
            if not 0 <= share <= 1:
                raise ValueError(f"booked share of {service!r} is not between 0 and 1")
        return self


def kiosk_ids(n: int) -> list[str]:
    return [f"kiosk-{i}" for i in range(1, n + 1)]


def board_ids(n: int) -> list[str]:
    return [f"board-{i}" for i in range(1, n + 1)]


class SimConfig(_Strict):
    simulation: Simulation = Field(default_factory=Simulation)
    arrivals: dict[str, float] = Field(default_factory=dict)
    """People per hour of opening, per service id. A service absent here gets nobody."""
    service: ServiceTimes = Field(default_factory=ServiceTimes)
    chaos: Chaos = Field(default_factory=Chaos)
    appointments: Appointments | None = None
    """Appointments mixed with the walk-ins; none: a day of walk-ins only."""

    @model_validator(mode="after")
    def _devices(self) -> SimConfig:
        s = self.simulation
        names = {*kiosk_ids(s.kiosks), *board_ids(s.boards)}
        for field_name in ("server_cuts", "clock_boots"):
            unknown = sorted(set(getattr(self.chaos, field_name)) - names)
            if unknown:
                raise ValueError(f"chaos.{field_name}: no device {', '.join(unknown)} in this day")
        return self

    @field_validator("arrivals")
    @classmethod
    def _rates(cls, v: dict[str, float]) -> dict[str, float]:
        for service, rate in v.items():
            if rate < 0:
                raise ValueError(f"arrival rate of {service!r} is negative")
        return v

    def instant(self, hhmm: str, tz: dt.tzinfo) -> float:
        """Seconds since the epoch of ``hhmm`` on the simulated day, in the zone ``tz``."""
        s = self.simulation
        return dt.datetime.combine(s.date, s.at(hhmm), tzinfo=tz).timestamp()


def load_sim_config(path: Path) -> SimConfig:
    """Reads a simulator file; ``ConfigError`` names the file and the field. A relative
    ``site_file`` is taken from the simulator file's folder."""
    cfg = load_model(SimConfig, path)
    site_file = cfg.simulation.site_file
    if site_file is not None and not site_file.is_absolute():
        cfg.simulation.site_file = path.parent / site_file
    return cfg
