"""The kiosk reads its screens aloud, for people who cannot read them.

A "Listen" button on the idle screen turns speech on for the visit: the screen is read at once,
then each screen as it appears (the services with their waits, the ticket's number, service and
what to do next), in the language chosen. The ticket screen has "Listen again". The text comes
from each screen's ``spoken()``; espeak-ng makes the WAV file on the kiosk's I/O worker, Kivy
plays it on the UI thread. Without espeak-ng or a sound device the kiosk stays silent and says
so in its log; nothing else changes.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from tickets.speech import speak_to_wav

log = logging.getLogger(__name__)

WORDS_PER_MINUTE = 140
"""A little slower than the board's announcements: these are longer sentences."""


@dataclass(frozen=True, slots=True)
class Utterance:
    text: str
    lang: str
    wav: Path | None
    """The synthesised speech; None when espeak-ng failed."""


def spoken_label(label: str) -> str:
    """A ticket number as it is said: "A042" -> "A 42" (letters, then the number)."""
    m = re.fullmatch(r"([A-Z]+)0*(\d+)", label)
    return f"{m.group(1)} {m.group(2)}" if m else label


class Speaker:
    """Makes WAV files of sentences (``synthesise`` runs on the I/O worker) and remembers what
    it said (``history``)."""

    def __init__(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="guichet-kiosk-speech-"))
        self._lock = threading.Lock()
        self._count = 0
        self.history: list[Utterance] = []

    def synthesise(self, text: str, lang: str) -> Utterance:
        with self._lock:
            self._count += 1
            path = self._dir / f"say-{self._count % 8}.wav"  # a few files, reused in turn
        try:
            speak_to_wav(text, lang, WORDS_PER_MINUTE, path)
            said = Utterance(text, lang, path)
        except (OSError, subprocess.SubprocessError) as exc:  # no espeak-ng, no voice, timeout
            log.warning("cannot speak: %s", exc)
            said = Utterance(text, lang, None)
        with self._lock:
            self.history.append(said)
            del self.history[:-20]
        return said

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)
