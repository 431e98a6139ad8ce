"""How the pages write durations, times, shares, numbers and dates.

The functions without a language write what static/common.js writes too (the live pages). The
``Localized`` helpers write numbers, shares, dates and hours the way the page's language does
(Babel, from the Unicode CLDR): "8,0" and "75 %" in French, "8.0" and "75%" in English,
"10 mars 2026" / "March 10, 2026". Pages get one with ``Localized(page.lang)``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, localcontext
from functools import cached_property
from typing import Protocol
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_interval, format_skeleton, format_time
from babel.numbers import format_decimal, format_percent

UNKNOWN = "—"


@dataclass(frozen=True)
class Durations:
    """How a language writes a waiting time: the patterns of the catalogs' ``duration.*`` keys.
    The pages hand the same patterns to static/common.js (a ``<meta name="guichet-durations">``
    in base.html), so the server and the live pages write one text."""

    under_minute: str = "< 1 min"
    minutes: str = "{m} min"
    hours: str = "{h} h {mm}"

    @classmethod
    def of(cls, _: Callable[[str], str]) -> Durations:
        """The patterns of a translator (``page._``)."""
        return cls(_("duration.under_minute"), _("duration.minutes"), _("duration.hours"))

    def as_json(self) -> str:
        words = {"under": self.under_minute, "minutes": self.minutes, "hours": self.hours}
        return json.dumps(words, ensure_ascii=False, separators=(",", ":"))


FRENCH = Durations()


def duration(seconds: float | None, words: Durations = FRENCH) -> str:
    """A waiting or service time: "< 1 min", "12 min", "1 h 05" (in ``words``' language);
    "—" when unknown."""
    if seconds is None or math.isnan(seconds):
        return "—"
    s = max(0, int(seconds))
    if s < 60:
        return words.under_minute
    minutes = s // 60
    if minutes < 60:
        return words.minutes.format(m=minutes)
    return words.hours.format(h=minutes // 60, mm=f"{minutes % 60:02d}")


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


def estimate(seconds: float | None, words: Durations = FRENCH) -> str:
    """The public estimate, rounded up to the minute ("< 1 min", "12 min", "1 h 05"): it is
    a promise to the citizen, so it errs on the long side."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return words.under_minute
    return duration(math.ceil(seconds / 60) * 60, words)


def clock(epoch: float | None, tz: ZoneInfo, *, with_date: bool = False) -> str:
    """A local time "14:05" (or "2026-11-23 14:05"); "—" when unknown."""
    if epoch is None:
        return "—"
    local = datetime.fromtimestamp(epoch, tz)
    return local.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M")


def hour_range(hour: int) -> str:
    """An hour slot as the pages show it: "9 h – 10 h"."""
    return f"{hour} h – {hour + 1} h"


class WaitFigures(Protocol):
    """Anything with the waiting indicators of docs/statistics.md."""

    @property
    def waiting_p50_seconds(self) -> float | None: ...
    @property
    def waiting_p90_seconds(self) -> float | None: ...
    @property
    def share_waited_15_min(self) -> float | None: ...


@dataclass(frozen=True)
class Localized:
    """Numbers and dates written for one language (a code the pages know: "fr", "en")."""

    lang: str

    @cached_property
    def locale(self) -> Locale:
        return Locale.parse(self.lang)

    def number(self, value: float | None, decimals: int = 0) -> str:
        """A number with the language's separators ("1 234,5"); "—" when unknown. Halves
        round up, as a spreadsheet or a hand calculation does (7.25 min is "7,3", where
        Babel's default, half to even, would write "7,2")."""
        if value is None or math.isnan(value):
            return UNKNOWN
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        with localcontext(rounding=ROUND_HALF_UP):
            return format_decimal(value, format=pattern, locale=self.locale)

    def minutes(self, seconds: float | None) -> str:
        """A statistic in minutes with one decimal ("4,5" / "4.5"); "—" when unknown."""
        return UNKNOWN if seconds is None or math.isnan(seconds) else self.number(seconds / 60, 1)

    def share(self, value: float | None) -> str:
        """A share as a whole percentage ("83 %" / "83%"); "—" when unknown."""
        if value is None or math.isnan(value):
            return UNKNOWN
        with localcontext(rounding=ROUND_HALF_UP):
            return format_percent(value, locale=self.locale)

    def day(self, value: date, form: str = "medium") -> str:
        """A date ("10 mars 2026" / "Mar 10, 2026"; ``form`` short, medium, long or full)."""
        return format_date(value, form, locale=self.locale)

    def day_month(self, value: date) -> str:
        """A day of a chart's axis ("10 mars" / "Mar 10")."""
        return format_skeleton("MMMd", value, locale=self.locale)

    def month(self, value: date) -> str:
        """A month and its year ("février 2026" / "February 2026")."""
        return format_date(value, "LLLL y", locale=self.locale)

    def weekday(self, value: date) -> str:
        return format_date(value, "EEEE", locale=self.locale)

    def waits(self, figures: WaitFigures) -> dict[str, str]:
        """The three waiting indicators as the pages show them: ``p50`` and ``p90`` in
        minutes, ``within15`` in percent."""
        return {
            "p50": self.minutes(figures.waiting_p50_seconds),
            "p90": self.minutes(figures.waiting_p90_seconds),
            "within15": self.share(figures.share_waited_15_min),
        }

    def hour(self, hour: int) -> str:
        """An hour of the day as a column or axis heading: "9 h" in French, the language's
        short time elsewhere ("9:00 AM", "09:00", "9:00 ص")."""
        if self.locale.language == "fr":
            return f"{hour} h"
        return format_time(time(hour), "short", locale=self.locale)

    def hour_range(self, hour: int) -> str:
        """An hour slot of the day: "09:00 – 10:00" / "9:00 – 10:00 AM"."""
        twelve = "a" in self.locale.time_formats["short"].pattern
        end = time((hour + 1) % 24)
        return format_interval(time(hour), end, "hm" if twelve else "Hm", locale=self.locale)
