"""WAV sound for announcements, in plain Python (no NumPy on the board).

Everything here is 16-bit signed mono PCM: the chime is synthesised at the speech's sample
rate (espeak-ng writes 22,050 Hz) so the pieces of an announcement can be joined as they are.
"""

from __future__ import annotations

import math
import sys
import wave
from array import array
from pathlib import Path

RATE = 22050
"""Sample rate of the chime and of joined announcements (Hz)."""

# A three-note falling chime, as in stations and town halls: G5, E5, C5 (Hz, start s).
_NOTES = ((783.99, 0.0), (659.25, 0.42), (523.25, 0.84))
_PARTIALS = ((1.0, 1.0), (2.0, 0.35), (3.0, 0.12), (4.2, 0.05))
"""Bell-like tone: (frequency multiple, relative amplitude)."""
_NOTE_SECONDS = 1.6
_DECAY = 3.2
"""Exponential decay rate of each note (per second)."""


def chime_samples(rate: int = RATE) -> array[int]:
    """The chime as 16-bit samples at full scale (about 2.4 s)."""
    length = int((_NOTES[-1][1] + _NOTE_SECONDS) * rate)
    acc = [0.0] * length
    attack = int(0.008 * rate)
    norm = sum(a for _, a in _PARTIALS)
    for freq, start in _NOTES:
        first = int(start * rate)
        for i in range(int(_NOTE_SECONDS * rate)):
            t = i / rate
            env = math.exp(-_DECAY * t) * (min(1.0, i / attack) if attack else 1.0)
            value = sum(a * math.sin(2 * math.pi * freq * m * t) for m, a in _PARTIALS)
            acc[first + i] += env * value / norm
    peak = max(abs(v) for v in acc) or 1.0
    return array("h", (int(v / peak * 30000) for v in acc))


def silence(seconds: float, rate: int = RATE) -> array[int]:
    return array("h", bytes(2 * int(seconds * rate)))


def read_wav(path: Path) -> tuple[array[int], int]:
    """Samples and rate of a 16-bit WAV file (stereo is mixed down to mono)."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit WAV files are supported")
        channels, rate = w.getnchannels(), w.getframerate()
        samples = array("h")
        samples.frombytes(w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        samples.byteswap()
    if channels > 1:
        samples = array("h", (samples[i] for i in range(0, len(samples), channels)))
    return samples, rate


def write_wav(path: Path, samples: array[int], rate: int = RATE) -> None:
    out = array("h", samples)
    if sys.byteorder == "big":
        out.byteswap()
    tmp = path.with_name(path.name + ".part")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(out.tobytes())
    tmp.replace(path)


def resample(samples: array[int], rate: int, target: int) -> array[int]:
    """Nearest-sample rate change: enough for speech joined to a chime."""
    if rate == target:
        return samples
    n = int(len(samples) * target / rate)
    return array("h", (samples[min(len(samples) - 1, int(i * rate / target))] for i in range(n)))


def scaled(samples: array[int], volume: int) -> array[int]:
    """Samples at ``volume`` percent (0-100)."""
    if volume >= 100:
        return samples
    factor = max(0, volume) / 100.0
    return array("h", (int(s * factor) for s in samples))


def duration(path: Path) -> float:
    """Length of a WAV file (seconds)."""
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / float(w.getframerate())
