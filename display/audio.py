"""Spoken announcements: a chime, then the call in each of the site's languages.

Announcements wait in a queue and a player thread plays them one after the other, each whole:
a new call never cuts the one being spoken, and a recall is announced again. Speech is made
offline by espeak-ng; the chime is synthesised once and kept in the cache folder. Sound goes
out through a player program (aplay on the appliance, paplay on desktops), so a stuck sound
device can never freeze the screen.

Where there is no sound device (or SDL_AUDIODRIVER=dummy, or audio disabled) the board stays
silent and reports "no audio" in its health; nothing fails.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from pathlib import Path

from config.display import AudioSettings
from display import wav
from tickets.speech import speak_to_wav

log = logging.getLogger(__name__)

MAX_PENDING = 20
"""Announcements waiting beyond this are dropped, oldest first (a burst after an outage)."""


class AudioState(StrEnum):
    AVAILABLE = "available"
    NO_AUDIO = "no audio"
    DISABLED = "disabled"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Announcement:
    key: str
    """Unique per call or recall (the event id): the same call is never announced twice."""
    ticket: str
    """The ticket's label, for logs: A042."""
    phrases: tuple[tuple[str, str], ...]
    """(language, text) in speaking order."""


def spoken_ticket(label: str) -> str:
    """ "A042" is said "A 42": letters, then the number without leading zeros."""
    m = re.fullmatch(r"([A-Za-z]+)0*(\d+)", label)
    return f"{m.group(1)} {m.group(2)}" if m else label


def make_announcement(
    key: str,
    ticket: str,
    counter_id: str,
    counter_label: str,
    languages: list[str] | tuple[str, ...],
    templates: dict[str, str],
) -> Announcement:
    fallback = templates.get("fr") or "Ticket {ticket}, {counter}"
    phrases = tuple(
        (
            lang,
            templates.get(lang, fallback).format(
                ticket=spoken_ticket(ticket), counter=counter_label, counter_id=counter_id
            ),
        )
        for lang in languages
    )
    return Announcement(key, ticket, phrases)


def in_periods(now: time, periods: list[str]) -> bool:
    """True when ``now`` falls in one of the "HH:MM-HH:MM" periods (which may span midnight;
    "24:00" is the end of the day)."""
    t = now.hour * 3600 + now.minute * 60 + now.second
    for p in periods:
        start, end = (int(x[:2]) * 3600 + int(x[3:5]) * 60 for x in p.split("-"))
        inside = start <= t < end if start <= end else (t >= start or t < end)
        if inside:
            return True
    return False


# ---- players ----------------------------------------------------------------------------
Player = Callable[[Path], None]
"""Plays one WAV file to the end (blocking); raises on failure."""


def _has_sound_card() -> bool:
    try:
        cards = Path("/proc/asound/cards").read_text()
    except OSError:
        return False
    return "no soundcards" not in cards and bool(cards.strip())


def _pulse_running() -> bool:
    pactl = shutil.which("pactl")
    if pactl is None:
        return False
    try:
        return subprocess.run([pactl, "info"], capture_output=True, timeout=2).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def detect_player(settings: AudioSettings) -> tuple[Player | None, AudioState, str]:
    """Which program will play sound here, with the state and a reason for health."""
    if not settings.enabled or settings.player == "none":
        return None, AudioState.DISABLED, "audio disabled in the configuration"
    if os.environ.get("SDL_AUDIODRIVER") == "dummy":
        return None, AudioState.NO_AUDIO, "no audio (SDL_AUDIODRIVER=dummy)"
    aplay, paplay = shutil.which("aplay"), shutil.which("paplay")
    want = settings.player
    if want in ("auto", "aplay") and aplay and (settings.device or _has_sound_card()):
        cmd = [aplay, "-q"] + (["-D", settings.device] if settings.device else [])
        return _subprocess_player(cmd), AudioState.AVAILABLE, f"aplay {settings.device}".strip()
    if want in ("auto", "paplay") and paplay and _pulse_running():
        return _subprocess_player([paplay]), AudioState.AVAILABLE, "paplay"
    if want != "auto" and not (aplay if want == "aplay" else paplay):
        return None, AudioState.NO_AUDIO, f"no audio ({want} is not installed)"
    return None, AudioState.NO_AUDIO, "no audio (no sound device found)"


def _subprocess_player(cmd: list[str]) -> Player:
    def play(path: Path) -> None:
        limit = wav.duration(path) + 10.0
        done = subprocess.run([*cmd, str(path)], capture_output=True, timeout=limit)
        if done.returncode != 0:
            reason = done.stderr.decode(errors="replace").strip().splitlines()
            raise OSError(
                f"{Path(cmd[0]).name} failed: {reason[-1] if reason else done.returncode}"
            )

    return play


class AnnouncementQueue:
    """Plays announcements in order in its own thread; never two at once."""

    def __init__(
        self,
        settings: AudioSettings,
        *,
        player: Player | None = None,
        state: AudioState | None = None,
        site_now: Callable[[], datetime] = datetime.now,
    ) -> None:
        if player is None and state is None:
            player, state, reason = detect_player(settings)
        else:
            reason = "player given"
        self.settings = settings
        self.state: AudioState = state or AudioState.AVAILABLE
        self.reason = reason
        self._player = player
        self._site_now = site_now
        self._queue: queue.Queue[Announcement | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._chime: Path | None = None
        self._work = Path(tempfile.mkdtemp(prefix="guichet-announce-"))
        self.played: list[str] = []
        """Keys of the announcements played (or, without audio, passed silently), in order."""
        self.skipped: list[str] = []
        """Keys not played: quiet hours, or dropped from an overfull queue."""
        self.on_played: Callable[[Announcement], None] | None = None
        log.info("audio: %s (%s)", self.state.value, reason)

    @property
    def audible(self) -> bool:
        return self._player is not None

    def health(self) -> str:
        return self.state.value if self.state is not AudioState.ERROR else f"error: {self.reason}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="announcements", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)
        shutil.rmtree(self._work, ignore_errors=True)

    def announce(self, item: Announcement) -> None:
        while self._queue.qsize() >= MAX_PENDING:
            with contextlib.suppress(queue.Empty):
                old = self._queue.get_nowait()
                self._queue.task_done()
                if old is not None:
                    log.warning("announcement of %s dropped: too many waiting", old.ticket)
                    self.skipped.append(old.key)
        self._queue.put(item)

    def idle(self, timeout: float = 10.0) -> bool:
        """Waits until every queued announcement is done (tests and the self-test)."""
        done = threading.Event()

        def watch() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=watch, daemon=True).start()
        return done.wait(timeout)

    # ---- the player thread --------------------------------------------------------------
    def _run(self) -> None:
        if self._player is not None and self.settings.chime:
            try:
                self.chime_path()  # ready before the first call, not during it
            except OSError as exc:
                log.warning("chime cannot be made: %s", exc)
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._handle(item)
            except Exception:
                log.exception("announcement failed")
            finally:
                self._queue.task_done()

    def _handle(self, item: Announcement) -> None:
        if in_periods(self._site_now().time(), self.settings.quiet_hours):
            log.info("quiet hours: %s shown without sound", item.ticket)
            self.skipped.append(item.key)
            return
        if self._player is None:
            self.played.append(item.key)
            if self.on_played:
                self.on_played(item)
            return
        path = self.compose(item)
        try:
            self._player(path)
            if self.state is AudioState.ERROR:
                log.info("audio works again")
            self.state = AudioState.AVAILABLE
        except (OSError, subprocess.SubprocessError) as exc:
            if self.state is not AudioState.ERROR:
                log.warning("audio: %s", exc)
            self.state, self.reason = AudioState.ERROR, str(exc)
        finally:
            path.unlink(missing_ok=True)
        self.played.append(item.key)
        if self.on_played:
            self.on_played(item)

    def chime_path(self) -> Path:
        """The chime WAV, synthesised on first use and kept in the cache folder."""
        if self._chime is None:
            cache = self.settings.cache_dir
            try:
                cache.mkdir(parents=True, exist_ok=True)
            except OSError:
                cache = self._work
            path = cache / f"chime-{wav.RATE}.wav"
            if not path.exists():
                wav.write_wav(path, wav.chime_samples())
            self._chime = path
        return self._chime

    def compose(self, item: Announcement) -> Path:
        """One WAV: chime, then each phrase, at the configured volume."""
        s = self.settings
        samples = wav.silence(0.05)
        if s.chime:
            samples.extend(wav.read_wav(self.chime_path())[0])
            samples.extend(wav.silence(0.2))
        for i, (lang, text) in enumerate(item.phrases):
            part = self._work / f"speech-{i}.wav"
            voice = s.voices.get(lang, lang)
            try:
                speak_to_wav(text, voice, s.words_per_minute, part)
                speech, rate = wav.read_wav(part)
                samples.extend(wav.resample(speech, rate, wav.RATE))
                samples.extend(wav.silence(0.45))
            except OSError as exc:
                log.warning("speech in %s failed: %s", lang, exc)
            finally:
                part.unlink(missing_ok=True)
        out = self._work / f"announce-{abs(hash(item.key))}.wav"
        wav.write_wav(out, wav.scaled(samples, s.volume))
        return out
