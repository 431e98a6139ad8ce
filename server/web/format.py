"""How the pages write durations, times and shares (the same as static/common.js)."""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo


def duration(seconds: float | None) -> str:
    """A waiting or service time: "< 1 min", "12 min", "1 h 05"; "—" when unknown."""
    if seconds is None or math.isnan(seconds):
        return "—"
    s = max(0, int(seconds))
    if s < 60:
        return "< 1 min"
    minutes = s // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d}"


def minutes(seconds: float | None) -> str:
    """A statistic in minutes with one decimal ("4.5"); "—" when unknown."""
    if seconds is None or math.isnan(seconds):
        return "—"
    return f"{seconds / 60:.1f}"


def share(value: float | None) -> str:
    """A share as a whole percentage ("83 %"); "—" when unknown."""
    if value is None or math.isnan(value):
        return "—"
    return f"{round(value * 100)} %"


def estimate(seconds: float | None) -> str:
    """The public estimate, rounded up to the minute ("< 1 min", "12 min", "1 h 05"): it is
    a promise to the citizen, so it errs on the long side."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return "< 1 min"
    return duration(math.ceil(seconds / 60) * 60)


def clock(epoch: float | None, tz: ZoneInfo, *, with_date: bool = False) -> str:
    """A local time "14:05" (or "2026-11-23 14:05"); "—" when unknown."""
    if epoch is None:
        return "—"
    local = datetime.fromtimestamp(epoch, tz)
    return local.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M")


def hour_range(hour: int) -> str:
    """An hour slot as the pages show it: "9 h – 10 h"."""
    return f"{hour} h – {hour + 1} h"
