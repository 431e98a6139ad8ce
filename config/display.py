"""Settings of the display board (``guichet display --config FILE``).

Colours are checked for legibility when the file is read: every text colour must reach a
contrast ratio of at least 4.5:1 (WCAG 2.x, "AA") against the background it is drawn on.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from config.device import DeviceSettings
from config.loader import STRICT

MIN_CONTRAST = 4.5
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
_PERIOD = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def _channel(c: int) -> float:
    s = c / 255.0
    return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """Relative luminance of ``#rrggbb`` (WCAG 2.x)."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(a: str, b: str) -> float:
    """WCAG contrast ratio between two ``#rrggbb`` colours, from 1.0 to 21.0."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


class _Strict(BaseModel):
    model_config = STRICT


class Colours(_Strict):
    """Board colours as ``#rrggbb``."""

    background: str = "#0b1f3a"
    """Screen background."""
    panel: str = "#14325c"
    """Background of the call, history and waiting panels."""
    text: str = "#ffffff"
    """Main text: numbers, counters, site name, clock."""
    muted: str = "#c8d7ec"
    """Secondary text: headings, service names, times."""
    accent: str = "#ffc20e"
    """Background of the latest call while it flashes, and of the message band."""
    accent_text: str = "#0b1f3a"
    """Text drawn on the accent colour."""
    online: str = "#2fbf71"
    """Sync dot when the server answers (a small staff indicator, not text)."""
    offline: str = "#e0a100"
    """Sync dot when the board works on its own."""
    error: str = "#e5484d"
    """Sync dot when the server refuses the board (token or configuration problem)."""

    @field_validator("*")
    @classmethod
    def _hex(cls, v: str) -> str:
        if not _HEX.match(v):
            raise ValueError(f"{v!r} is not a colour written #rrggbb")
        return v.lower()

    def text_pairs(self) -> dict[str, tuple[str, str]]:
        """Every (text, background) pair the board draws, by name."""
        return {
            "text on background": (self.text, self.background),
            "text on panel": (self.text, self.panel),
            "muted on background": (self.muted, self.background),
            "muted on panel": (self.muted, self.panel),
            "accent_text on accent": (self.accent_text, self.accent),
        }

    @model_validator(mode="after")
    def _contrast(self) -> Colours:
        weak = [
            f"{name} {ratio:.2f}:1"
            for name, (fg, bg) in self.text_pairs().items()
            if (ratio := contrast_ratio(fg, bg)) < MIN_CONTRAST
        ]
        if weak:
            raise ValueError(
                f"contrast below {MIN_CONTRAST}:1, hard to read from across the room: "
                + ", ".join(weak)
            )
        return self


class ButtonSettings(_Strict):
    ports: list[str] = Field(default_factory=list, max_length=16)
    """Serial ports of the call button boxes (one shared box, or one per counter), e.g.
    "/dev/serial/by-id/usb-FTDI_…-if00-port0". Empty: no box (calls come from the web console)."""
    baudrate: int = Field(default=9600, ge=300, le=921600)
    """Line speed of the boxes (bits per second)."""
    virtual: bool = False
    """Add a virtual box driven by the board's keyboard (digits choose the counter, N next,
    R recall, D done, A absent, O open, C close): for demos and tests."""
    retry_min_seconds: float = Field(default=0.5, gt=0, le=60)
    """First delay before reopening a port that vanished (seconds); doubles on each failure."""
    retry_max_seconds: float = Field(default=10.0, gt=0, le=600)
    """Longest delay between two attempts to reopen a vanished port (seconds)."""


class AudioSettings(_Strict):
    enabled: bool = True
    """Chime and spoken announcements. False: the board stays silent."""
    player: Literal["auto", "aplay", "paplay", "none"] = "auto"
    """Program that plays the sound: aplay (ALSA, the appliance), paplay (PulseAudio or
    PipeWire desktops), auto (aplay if a sound card is found, else paplay), none."""
    device: str = ""
    """ALSA device for aplay (e.g. "hw:0,0", "hdmi"); empty: the system default."""
    volume: int = Field(default=80, ge=0, le=100)
    """Announcement volume (percent of full scale)."""
    chime: bool = True
    """Play a chime before each announcement."""
    languages: list[str] = Field(default_factory=list, max_length=20)
    """Languages spoken, one after the other. Empty: the site's languages."""
    voices: dict[str, str] = Field(
        default_factory=lambda: {"fr": "fr-fr", "en": "en-gb", "de": "de", "es": "es"}
    )
    """espeak-ng voice per language code."""
    templates: dict[str, str] = Field(
        default_factory=lambda: {
            "fr": "Ticket {ticket}, {counter}",
            "en": "Ticket {ticket}, counter {counter_id}",
        }
    )
    """Announcement per language. {ticket} is spoken "A 42", {counter} is the counter's label,
    {counter_id} its id. A language without a template uses the French one."""
    words_per_minute: int = Field(default=150, ge=80, le=400)
    """Speaking rate of the voice (words per minute)."""
    quiet_hours: list[str] = Field(default_factory=list, max_length=20)
    """Site-local periods "HH:MM-HH:MM" without sound (calls are still shown)."""
    max_age_seconds: float = Field(default=120.0, gt=0, le=3600)
    """A call older than this when the board learns of it (e.g. uploaded late by another
    board) is shown in the history but not announced (seconds)."""
    cache_dir: Path = Path("/var/cache/guichet/board-audio")
    """Where the chime and spoken announcements are kept as WAV files."""

    @field_validator("quiet_hours")
    @classmethod
    def _periods(cls, v: list[str]) -> list[str]:
        for p in v:
            if not _PERIOD.match(p):
                raise ValueError(f"quiet period {p!r} is not HH:MM-HH:MM")
        return v

    @field_validator("templates")
    @classmethod
    def _templates(cls, v: dict[str, str]) -> dict[str, str]:
        for lang, text in v.items():
            try:
                text.format(ticket="A 1", counter="Guichet 1", counter_id="1")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(
                    f"template {lang!r} uses an unknown placeholder {exc}; "
                    "use {ticket}, {counter}, {counter_id}"
                ) from None
        return v


class DisplaySettings(DeviceSettings):
    role: Literal["display"] = "display"
    """What this file configures (check-config reads it)."""
    history: int = Field(default=6, ge=1, le=20)
    """How many previous calls the board lists."""
    message: str = Field(default="", max_length=500)
    """Optional scrolling message at the bottom of the board."""
    orientation: Literal["auto", "landscape", "portrait"] = "auto"
    """Layout: auto follows the shape of the picture (after ``rotation``)."""
    rotation: Literal[0, 90, 180, 270] = 0
    """How far the TV is turned from its normal position, clockwise as seen from the room
    (degrees): the picture is turned back to match. 90 or 270 make a 1920x1080 output a
    1080x1920 portrait board."""
    flash_seconds: float = Field(default=5.0, ge=0, le=60)
    """How long a new call flashes (seconds)."""
    logo: Path | None = None
    """Optional logo (PNG) shown left of the site name, about 100 px high on a 1080p board."""
    colours: Colours = Field(default_factory=Colours)
    """The board's colours ([colours]); every pair is checked for a contrast of 4.5:1."""
    buttons: ButtonSettings = Field(default_factory=ButtonSettings)
    """The counters' call buttons ([buttons]): a serial button box or the keyboard."""
    audio: AudioSettings = Field(default_factory=AudioSettings)
    """Chime and spoken announcements ([audio])."""
    action_timeout_seconds: float = Field(default=1.0, gt=0, le=10)
    """How long a button press waits for the server before the board decides alone (seconds)."""
    offline_retry_seconds: float = Field(default=15.0, ge=0, le=600)
    """After the server failed to answer a press, presses are decided on the board without
    asking it for this long, unless sync reports it back sooner (seconds)."""

    def prerequisites(self) -> list[str]:
        problems = super().prerequisites()
        if self.logo is not None and not self.logo.is_file():
            problems.append(f"field 'logo': {self.logo} is not a file")
        return problems
